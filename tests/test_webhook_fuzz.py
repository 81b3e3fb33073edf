"""Signed webhook bodies fuzzed by category, sent over real HTTP to the live bot.

Whatever a correctly signed body holds, the bot answers 200, 400 or 413 (never 500), no log line shows a
LINE user id or a resident's text, nothing is left pending or processing, nothing sent fails, and every
resident's next ordinary message is still answered. A fixed seed makes a failure reproducible.
"""
from __future__ import annotations

import copy
import http.client
import json
import logging
import random
import re
import socket
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from emulator import new_user_id
from models.outbox import FAILED as OB_FAILED, UNCERTAIN, OutboxBatch
from models.webhook import PENDING, PROCESSING, WebhookEvent
from tests.helpers import issue_reply_tokens, sign

SEED = 20261126
PER_CATEGORY = 220
SECRET_TEXT = "ひみつの文"  # in every resident text the fuzz sends: it must never reach a log
LINE_ID = re.compile(r"[UCR][0-9a-f]{32}")

# Values of the wrong type (or shape) for any field.
ODD_VALUES = [{}, {"a": 1}, [], [1, "x"], "", "ちがう型", 0, -1, 1.5, 2**64, -(2**63) - 1, 10**30, True, False, None,
              "U" * 40, [[[[]]]], {"type": "text"}]
# Lone surrogates and NUL, as JSON escapes (json.dumps writes lone surrogates as \\udxxx escapes).
ODD_STRINGS = ["\ud800", "a\udfffb", "\u0000", "x\u0000y", "\ud83d", "\ude00", "\ud83d\ude00", "\u0000\ud800",
               "\udbff\udc00\udc00", "\ufffe", "\u202e"]
POISON_TOKENS = [{}, {"t": "x"}, [], ["a"], 2**64, -1, 0, 1.5, True, None, "", " ", "a" * 300, "a" * 256, "b" * 5000,
                 "\ud800", "tok\ud800en", "tok\u0000en", "トークン", "tok en", "\n"]
UNKNOWN_TYPES = ["join", "leave", "memberJoined", "memberLeft", "beacon", "accountLink", "things", "unsend",
                 "videoPlayComplete", "membership", "module", "activated", "deactivated", "botSuspended",
                 "botResumed", "delivery", "futureEvent", "MESSAGE", "", " ", "message ", "x" * 40, "メッセージ"]


class Fuzz:
    """Builds signed bodies; events are LINE-shaped (as the emulator makes them) before they are mutated."""

    def __init__(self, rng: random.Random, emulator, users: list[str]) -> None:
        self.rng, self.emulator, self.users = rng, emulator, users
        self.n = 0
        self._tokens: dict[str, list[str]] = {u: [] for u in users}

    def token(self, user: str) -> str:
        if not self._tokens[user]:
            self._tokens[user] = issue_reply_tokens(self.emulator, [user] * 200)
        return self._tokens[user].pop()

    def text(self) -> str:
        self.n += 1
        return f"{SECRET_TEXT}{self.n}"

    def event(self, kind: str | None = None, user: str | None = None) -> dict:
        from emulator import webhooks

        user = user or self.rng.choice(self.users)
        token = self.token(user)
        kind = kind or self.rng.choice(["text", "text", "postback", "follow", "location", "sticker", "unfollow"])
        if kind == "text":
            return webhooks.text_event(user, self.text(), token)
        if kind == "postback":
            return webhooks.postback_event(user, self.rng.choice(["v=1&a=help", "v=1&a=plan.list", self.text()]), token)
        if kind == "follow":
            return webhooks.follow_event(user, token)
        if kind == "location":
            return webhooks.location_event(user, 35.26, 139.15, token, title=self.text(), address=self.text())
        if kind == "sticker":
            return webhooks.sticker_event(user, "446", "1988", token)
        return webhooks.unfollow_event(user)

    @staticmethod
    def body(events, destination="U" + "0" * 32) -> dict:
        return {"destination": destination, "events": events}


def _paths(obj, prefix=()):
    """Every key path in a body (the fields LINE sends, which are the fields the bot reads)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value, *, delete=False):
    if not path:
        return value
    target = obj
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return obj


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=True).encode()  # lone surrogates become \\udxxx escapes


# -- the categories -------------------------------------------------------------------------------------------
def wrong_types(f: Fuzz) -> list[bytes]:
    out = []
    for _ in range(PER_CATEGORY):
        body = f.body([f.event()])
        for path in f.rng.sample(list(_paths(body)), k=f.rng.choice([1, 1, 2])):
            try:
                body = _set(body, path, copy.deepcopy(f.rng.choice(ODD_VALUES)), delete=f.rng.random() < 0.15)
            except (KeyError, IndexError, TypeError):
                pass  # an earlier mutation removed this path
        out.append(_dumps(body))
    return out


def unknown_types(f: Fuzz) -> list[bytes]:
    out = []
    for i in range(PER_CATEGORY):
        ev = f.event(f.rng.choice(["text", "postback", "follow"]))
        if i % 3 == 0:
            ev["message"] = {"type": f.rng.choice(["image", "video", "audio", "file", "hologram", ""]), "id": "1"}
            ev["type"] = "message"
        else:
            ev["type"] = f.rng.choice(UNKNOWN_TYPES)
        if f.rng.random() < 0.5:
            ev["futureField"] = {"nested": [f.text(), {"deeper": f.rng.choice(ODD_VALUES)}]}
        events = [ev] + ([f.event("text")] if f.rng.random() < 0.3 else [])
        out.append(_dumps(f.body(events)))
    return out


def deep_nesting(f: Fuzz) -> list[bytes]:
    out = []
    for _ in range(PER_CATEGORY):
        depth = f.rng.choice([33, 65, 100, 400, 900, 999, 1000, 1001, 3000, 50_000, 200_000])
        opener, closer = f.rng.choice([("[", "]"), ('{"a":', "}")])
        nest = opener * depth + "1" + closer * depth
        ev = f.event("text")
        where = f.rng.choice(["body", "events", "event", "message", "text", "source", "extra"])
        if where == "body":
            out.append(nest.encode())
            continue
        marker = "__NEST__"
        if where == "events":
            raw = _dumps(f.body(marker))
        else:
            if where == "event":
                body = f.body([marker])
            else:
                target = {"message": ev, "text": ev["message"], "source": ev, "extra": ev}[where]
                key = {"message": "message", "text": "text", "source": "source", "extra": "extra"}[where]
                target[key] = marker
                body = f.body([ev])
            raw = _dumps(body)
        out.append(raw.replace(b'"' + marker.encode() + b'"', nest.encode(), 1))
    return out


def odd_strings(f: Fuzz) -> list[bytes]:
    fields = [("webhookEventId",), ("type",), ("source", "userId"), ("source", "type"), ("replyToken",),
              ("message", "text"), ("message", "id"), ("message", "type"), ("mode",), ("deliveryContext", "isRedelivery")]
    out = []
    for i in range(PER_CATEGORY):
        ev = f.event("text") if i % 4 else f.event("postback")
        odd = f.rng.choice(ODD_STRINGS)
        choice = f.rng.randrange(len(fields) + 3)
        if choice < len(fields):
            path = fields[choice]
            if path[0] == "message" and "message" not in ev:
                path = ("postback", "data")
            ev = _set(ev, path, f.text() + odd if path in (("message", "text"), ("postback", "data")) else odd)
            body = f.body([ev])
        elif choice == len(fields):
            body = f.body([ev], destination=odd)
        elif choice == len(fields) + 1:
            ev[odd] = f.text()  # an odd key
            body = f.body([ev])
        else:
            body = f.body([ev])
            body["events"][0]["message" if "message" in ev else "postback"][odd] = odd
        out.append(_dumps(body))
    return out


def huge_numbers(f: Fuzz) -> list[bytes]:
    numbers = ["18446744073709551616", "-9223372036854775809", "1" + "0" * 30, "1e400", "-1e400", "1e-400",
               "NaN", "Infinity", "-Infinity", "9" * 5000, "0.0000000000000000000001", "-0", "1E+2"]
    fields = [("timestamp",), ("message", "id"), ("message", "latitude"), ("message", "longitude"),
              ("deliveryContext", "isRedelivery"), ("webhookEventId",), ("replyToken",), ("source", "userId")]
    out = []
    for _ in range(PER_CATEGORY):
        ev = f.event(f.rng.choice(["text", "location"]))
        path = f.rng.choice(fields)
        if path[0] == "message" and path[1] in ("latitude", "longitude") and ev["message"]["type"] != "location":
            path = ("timestamp",)
        marker = "__NUM__"
        raw = _dumps(f.body([_set(ev, path, marker)]))
        out.append(raw.replace(b'"' + marker.encode() + b'"', f.rng.choice(numbers).encode(), 1))
    return out


def poison_reply_tokens(f: Fuzz) -> list[bytes]:
    out = []
    for _ in range(PER_CATEGORY):
        ev = f.event(f.rng.choice(["text", "postback", "follow"]))
        ev["replyToken"] = copy.deepcopy(f.rng.choice(POISON_TOKENS))
        events = [ev] + ([f.event("text", user=ev["source"]["userId"])] if f.rng.random() < 0.3 else [])
        out.append(_dumps(f.body(events)))
    return out


def mixed_batches(f: Fuzz) -> list[bytes]:
    """Several events per body, good and odd together (LINE batches events)."""
    out = []
    for _ in range(PER_CATEGORY // 2):
        events = [f.event() for _ in range(f.rng.randrange(2, 5))]
        for ev in events[1:]:
            r = f.rng.random()
            if r < 0.3:
                path = f.rng.choice([p for p in _paths(ev) if p])
                _set(ev, path, copy.deepcopy(f.rng.choice(ODD_VALUES)))
            elif r < 0.5:
                ev["type"] = f.rng.choice(UNKNOWN_TYPES)
            elif r < 0.7:
                ev["replyToken"] = copy.deepcopy(f.rng.choice(POISON_TOKENS))
            elif r < 0.85 and "message" in ev:
                ev["message"]["text"] = f.text() + f.rng.choice(ODD_STRINGS)
        out.append(_dumps(f.body(events)))
    return out


CATEGORIES = [wrong_types, unknown_types, deep_nesting, odd_strings, huge_numbers, poison_reply_tokens, mixed_batches]


# -- sending ---------------------------------------------------------------------------------------------------
def _post(url: str, body: bytes, *, chunked: bool = False, rng: random.Random | None = None) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body)}
    try:
        if chunked:
            size = max(1, len(body) // (rng.randrange(1, 6) if rng else 3))
            pieces = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
            conn.request("POST", "/callback", body=iter(pieces), headers={**headers, "Transfer-Encoding": "chunked"},
                         encode_chunked=True)
        else:
            conn.request("POST", "/callback", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _raw(url: str, payload: bytes) -> int:
    """A hand-framed request (malformed chunked bodies); the client half-closes so the server sees the end."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    assert m, f"no HTTP response to {payload[:120]!r}: {data[:200]!r}"
    return int(m.group(1))


def bad_chunk_framings(f: Fuzz) -> list[bytes]:
    good = _dumps(f.body([f.event("text")]))
    head = (b"POST /callback HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"X-Line-Signature: " + sign(good).encode() + b"\r\nConnection: close\r\n\r\n")
    frames = [
        b"zz\r\n" + good + b"\r\n0\r\n\r\n",                                        # size is not hex
        b"%x\r\n" % (len(good) + 10) + good + b"\r\n0\r\n\r\n",                    # size larger than the data
        b"%x\r\n" % len(good) + good,                                               # no terminating chunk
        b"%x\r\n" % len(good) + good + b"XX0\r\n\r\n",                              # missing CRLF after data
        b"ffffffffffffffff\r\n" + good[:100],                                       # absurd size
        b"-5\r\n" + good + b"\r\n0\r\n\r\n",                                        # negative size
        b"%x;ext=1\r\n" % len(good) + good + b"\r\n0\r\n\r\n",                     # extension (valid)
        b"",                                                                        # nothing at all
        b"%x\r\n" % (len(good) // 2) + good[: len(good) // 2],                      # cut off mid-body
    ]
    return [head + frame for frame in frames]


# -- the test --------------------------------------------------------------------------------------------------
@pytest.fixture
def production_line_timeout(bot, monkeypatch):
    """The LINE API timeout of production (10 s) instead of the tests' 1 s while the fuzz runs. The fuzzer, the
    bot and the emulator share one process here, and parsing the largest bodies (1 MiB, 200,000 levels of
    nesting) holds the interpreter long enough that, on a busy machine (the two halves of `make test` run at
    once), an emulator reply could take over a second: a reply marked uncertain, a failure of the machine's and
    not the bot's. Timeouts themselves are tested in tests/test_delivery.py."""
    from bot.config import Config

    monkeypatch.setattr(bot.rt.adapter, "config", bot.rt.adapter.config.with_(line_timeout_s=Config().line_timeout_s))


def test_fuzzed_signed_bodies_never_500_never_leak_never_block(bot, emulator, caplog, production_line_timeout):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="kyodo")
    rng = random.Random(SEED)
    users = [new_user_id() for _ in range(12)]
    f = Fuzz(rng, emulator, users)
    started = time.monotonic()

    statuses: dict[str, dict[int, int]] = {}
    for category in CATEGORIES:
        counts = statuses.setdefault(category.__name__, {})
        for body in category(f):
            status = _post(bot.url, body)
            counts[status] = counts.get(status, 0) + 1
    counts = statuses.setdefault("chunked", {})
    for category in (wrong_types, odd_strings, poison_reply_tokens):
        for body in category(f)[: PER_CATEGORY // 3]:
            status = _post(bot.url, body, chunked=True, rng=rng)
            counts[status] = counts.get(status, 0) + 1
    big = f.event("text")
    big["message"]["text"] += "x" * (1024 * 1024)
    big = _dumps(f.body([big]))
    for chunked in (False, True):
        status = _post(bot.url, big, chunked=chunked)
        counts[status] = counts.get(status, 0) + 1
    counts = statuses.setdefault("bad_chunk_framing", {})
    for payload in bad_chunk_framings(f):
        status = _raw(bot.url, payload)
        counts[status] = counts.get(status, 0) + 1

    odd = {cat: c for cat, c in statuses.items() if set(c) - {200, 400, 413}}
    assert not odd, f"statuses other than 200/400/413: {odd}"
    assert sum(c.get(200, 0) for c in statuses.values()) > 300, statuses  # the fuzz reached the dispatcher

    bot.settle(timeout=30)  # raises if anything is left pending or processing
    with bot.rt.sessions() as db:
        stuck = db.scalar(select(func.count()).select_from(WebhookEvent)
                          .where(WebhookEvent.status.in_((PENDING, PROCESSING))))
        unsent = db.scalar(select(func.count()).select_from(OutboxBatch)
                           .where(OutboxBatch.status.in_((OB_FAILED, UNCERTAIN))))
    assert stuck == 0
    assert unsent == 0, "an answer could not be delivered"

    # Every resident is still answered, by a reply, right away.
    for user in users:
        assert emulator.send_text(user, "ヘルプ")[0] == 200
    bot.settle()
    for user in users:
        last = emulator.sent(user=user)[-1]
        assert last["kind"] == "reply" and "使い方" in last["messages"][0]["text"], user

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name in ("werkzeug", "kyodo.webhook")]
    assert not errors, f"the webhook path logged errors: {[r.getMessage() for r in errors][:5]}"
    logged = caplog.text
    assert not LINE_ID.search(logged), "a LINE id reached the log"
    assert SECRET_TEXT not in logged, "a resident's text reached the log"
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"fuzz took {elapsed:.1f}s"
