"""Everything the emulator remembers, behind one lock: what the bot sent, reply tokens, retry keys, faults,
the rate limit, rich menus and the users who have talked to the bot."""
from __future__ import annotations

import copy
import threading
import time
from collections import deque
from dataclasses import dataclass, field

REQUEST_LOG_MAX = 20_000
FAULT_ENDPOINTS = {"reply", "push", "multicast", "broadcast", "narrowcast", "richmenu", "profile", "quota", "any"}
FAULT_MODES = {"429", "429-monthly", "500", "hang"}  # 429-monthly: the month's message quota is used up


@dataclass
class Fault:
    endpoint: str
    mode: str
    remaining: int
    retry_after: float | None = None
    hang_seconds: float = 3.0


@dataclass
class TokenBucket:
    """Calls beyond per_second answer 429; bursts up to one second's worth are allowed, as a bucket does."""
    per_second: float
    tokens: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.per_second)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(self.per_second), self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class User:
    user_id: str
    display_name: str
    language: str = "ja"
    blocked: bool = False
    ever_unfollowed: bool = False


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.records: list[dict] = []
            self.requests: deque[dict] = deque(maxlen=REQUEST_LOG_MAX)
            self.faults: list[Fault] = []
            self.bucket: TokenBucket | None = None
            self.reply_tokens: dict[str, dict] = {}
            self.retry_keys: dict[str, dict] = {}  # key -> {"request_id", "sent_messages", "kind"}
            self.events: dict[str, dict] = {}  # webhookEventId -> event, for redelivery
            self.timeline: list[dict] = []  # user events and bot records, in one order, for the chat page
            self.users: dict[str, User] = {}
            self.rich_menus: dict[str, dict] = {}
            self.rich_menu_images: dict[str, tuple[str, bytes]] = {}
            self.default_rich_menu: str | None = None
            self.user_rich_menus: dict[str, str] = {}
            self.total_usage = 0
            self._seq = 0
            self._g = 0

    # -- records --------------------------------------------------------------------------------------------
    def add_record(self, kind: str, to: list[str], messages: list[dict], retry_key: str | None,
                   request_id: str, reply_token: str | None = None) -> dict:
        with self.lock:
            self._seq += 1
            record = {"seq": self._seq, "kind": kind, "to": list(to), "messages": copy.deepcopy(messages),
                      "retry_key": retry_key, "request_id": request_id, "at": time.time(),
                      "reply_token": reply_token}
            self.records.append(record)
            if kind in ("push", "multicast", "broadcast"):
                self.total_usage += len(messages) * len(to)
            self._g += 1
            self.timeline.append({"g": self._g, "from": "bot", "users": set(to), "record": record})
            return record

    def add_user_event(self, event: dict, display: str | None) -> dict:
        with self.lock:
            self._g += 1
            user = event.get("source", {}).get("userId")
            entry = {"g": self._g, "from": "user", "users": {user}, "event": event, "display": display,
                     "status": None, "error": None}
            self.timeline.append(entry)
            return entry

    def sent(self, user: str | None = None, kind: str | None = None, since: int = 0) -> list[dict]:
        with self.lock:
            # Records never change once stored, so a shallow copy is enough; a deep copy of thousands of
            # records on every wait_for() poll would slow the benchmark it is measuring.
            return [dict(r) for r in self.records
                    if r["seq"] > since and (user is None or user in r["to"]) and (kind is None or r["kind"] == kind)]

    def timeline_for(self, user: str, since: int = 0) -> tuple[list[dict], int]:
        with self.lock:
            items = []
            for item in self.timeline:
                if item["g"] > since and user in item["users"]:
                    items.append({k: copy.deepcopy(v) for k, v in item.items() if k != "users"})
            return items, self._g

    @property
    def last_seq(self) -> int:
        return self._seq

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)

    # -- faults and rate limit ------------------------------------------------------------------------------
    def add_fault(self, endpoint: str, mode: str, count: int = 1, retry_after: float | None = None,
                  hang_seconds: float | None = None) -> None:
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {sorted(FAULT_ENDPOINTS)}")
        mode = str(mode)
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; use one of {sorted(FAULT_MODES)}")
        with self.lock:
            self.faults.append(Fault(endpoint, mode, int(count), retry_after,
                                     3.0 if hang_seconds is None else float(hang_seconds)))

    def take_fault(self, category: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.endpoint in (category, "any"):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def set_rate_limit(self, per_second: float | None) -> None:
        with self.lock:
            self.bucket = TokenBucket(float(per_second)) if per_second else None

    def rate_limited(self) -> bool:
        with self.lock:
            return self.bucket is not None and not self.bucket.take()

    # -- users ----------------------------------------------------------------------------------------------
    def touch_user(self, user_id: str, display_name: str | None = None) -> User:
        with self.lock:
            user = self.users.get(user_id)
            if user is None:
                user = User(user_id, display_name or f"デモユーザー{user_id[-4:]}")
                self.users[user_id] = user
            elif display_name:
                user.display_name = display_name
            return user

    def active_users(self) -> list[str]:
        with self.lock:
            return [u.user_id for u in self.users.values() if not u.blocked]
