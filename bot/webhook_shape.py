"""The shape of a LINE webhook body, checked with plain type tests (microseconds; no schema engine on the hot path).

`parse(body)` refuses the whole body (BadPayload, answered 400) when its envelope is unusable: not UTF-8
JSON, NaN/Infinity or a float out of range, nested deeper than any LINE body, not an object with a
`destination` string and an `events` list of objects, or an event without a usable `webhookEventId`.

Every event then gets a verdict. One LINE might send in a future shape (an unknown type, a field we read
holding another type) is stored but skipped, with the reason. A `replyToken` that is not a plausible
token is dropped, so the answer goes by push. Lone surrogates and NUL, which PostgreSQL's JSON and text
types refuse, become U+FFFD in everything stored; identifiers must be clean to be used at all.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from bot.line_adapter import usable_reply_token

MAX_DEPTH = 32  # a LINE body is about 7 levels deep
MAX_TIMESTAMP = 10**15  # milliseconds: year 33658; larger is not a time (and must fit a BIGINT)

EVENT_ID = re.compile(r"[!-~]{1,64}")  # a ULID in practice; printable ASCII, fits the column
CHAT_IDS = {"userId": re.compile(r"U[0-9a-f]{32}"), "groupId": re.compile(r"C[0-9a-f]{32}"),
            "roomId": re.compile(r"R[0-9a-f]{32}")}
SOURCE_ID_KEY = {"user": "userId", "group": "groupId", "room": "roomId"}

# Every webhook event type of the Messaging API; others are skipped as a shape we do not know yet.
EVENT_TYPES = frozenset({
    "message", "unsend", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft", "postback",
    "videoPlayComplete", "beacon", "accountLink", "things", "membership", "module", "activated", "deactivated",
    "botSuspended", "botResumed", "delivery",
})

# A JSON escape of a surrogate (\ud800-\udfff; a valid pair decodes to one character and stays) or of NUL.
_NEEDS_REPAIR = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_BAD_CHARS = re.compile("[\ud800-\udfff\x00]")


class BadPayload(ValueError):
    """The body is not a LINE webhook body; the message is fixed text (no input quoted)."""


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    type: str
    timestamp: int
    chat_id: str | None  # the user (or group/room) the event comes from, when it has a clean one
    redelivered: bool
    body: dict
    skip: str | None = None  # why this event is stored but not processed
    token_dropped: bool = False


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _too_deep(obj, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def repair(obj):
    """`obj` with lone surrogates and NUL in every string (keys too) replaced by U+FFFD."""
    if isinstance(obj, str):
        return _BAD_CHARS.sub("\ufffd", obj)
    if isinstance(obj, dict):
        return {_BAD_CHARS.sub("\ufffd", k): repair(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [repair(v) for v in obj]
    return obj


def parse(body: bytes) -> list[Event]:
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadPayload("body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError, NaN, 1e400, an integer of 5,000 digits
        raise BadPayload("body is not JSON") from None
    # Counting brackets is C-fast; only a body with many of them needs the walk.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(data, MAX_DEPTH):
        raise BadPayload("body is nested too deeply")
    if _NEEDS_REPAIR.search(body):
        data = repair(data)
    if not isinstance(data, dict) or not isinstance(data.get("destination"), str) or not isinstance(data.get("events"), list):
        raise BadPayload("not a LINE webhook payload")
    events = []
    for ev in data["events"]:
        if not isinstance(ev, dict):
            raise BadPayload("event is not an object")
        eid = ev.get("webhookEventId")
        if not isinstance(eid, str) or not EVENT_ID.fullmatch(eid):
            raise BadPayload("event without a usable webhookEventId")
        events.append(check_event(ev))
    return events


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _optional(v, kind) -> bool:
    return v is None or isinstance(v, kind)


def _source(src) -> tuple[str | None, str | None]:
    """(chat id, reason to skip)."""
    if src is None:
        return None, None  # module and suspension events come without one
    if not isinstance(src, dict):
        return None, "source is not an object"
    stype = src.get("type")
    key = SOURCE_ID_KEY.get(stype) if isinstance(stype, str) else None
    if key is None:
        return None, "source.type is unknown"
    for k in ("userId", key):
        value = src.get(k)
        if (value is not None or k == key) and not (isinstance(value, str) and CHAT_IDS[k].fullmatch(value)):
            return None, f"source.{k} is not a LINE id"
    return src.get("userId") or src[key], None


def _message(m) -> str | None:
    if not isinstance(m, dict) or not isinstance(m.get("type"), str):
        return "message is not an object with a type"
    mtype = m["type"]
    if mtype == "text" and not isinstance(m.get("text"), str):
        return "message.text is not a string"
    if mtype == "location":
        lat, lng = m.get("latitude"), m.get("longitude")
        if not (_is_number(lat) and _is_number(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
            return "message.latitude/longitude are not a position"
        if not (_optional(m.get("title"), str) and _optional(m.get("address"), str)):
            return "message.title/address are not strings"
    return None


def _postback(p) -> str | None:
    if not isinstance(p, dict) or not isinstance(p.get("data"), str) or not _optional(p.get("params"), dict):
        return "postback is not an object with data"
    return None


def _follow(f) -> str | None:
    if f is not None and not (isinstance(f, dict) and _optional(f.get("isUnblocked"), bool)):
        return "follow is not an object"
    return None


def check_event(ev: dict) -> Event:
    """The verdict on one event whose webhookEventId is usable (checked by `parse`)."""
    etype, ts = ev.get("type"), ev.get("timestamp")
    chat_id, skip = _source(ev.get("source"))
    if not isinstance(etype, str):
        skip, etype = "type is not a string", ""
    elif etype not in EVENT_TYPES:
        skip = "unknown event type"
    if not (_is_int(ts) and 0 <= ts < MAX_TIMESTAMP):
        skip, ts = skip or "timestamp is not a time in milliseconds", 0
    if skip is None:
        if etype == "message":
            skip = _message(ev.get("message"))
        elif etype == "postback":
            skip = _postback(ev.get("postback"))
        elif etype == "follow":
            skip = _follow(ev.get("follow"))
    dropped = "replyToken" in ev and not usable_reply_token(ev["replyToken"])
    if dropped:
        ev = {k: v for k, v in ev.items() if k != "replyToken"}
    ctx = ev.get("deliveryContext")
    redelivered = isinstance(ctx, dict) and ctx.get("isRedelivery") is True
    return Event(ev["webhookEventId"], etype, ts, chat_id, redelivered, ev, skip, dropped)


def loggable_type(etype: str) -> str:
    """The event type for a log line: a known one, or '?' (an unknown type string is input)."""
    return etype if etype in EVENT_TYPES else "?"
