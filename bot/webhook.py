"""POST /callback: verify the signature, store the events, answer 200. Nothing else happens here."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.logsafe import user_key
from models.webhook import PENDING, WebhookEvent

log = logging.getLogger("kyodo.webhook")


class BadPayload(ValueError):
    pass


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def parse_payload(body: bytes) -> list[dict]:
    """The events of a LINE webhook body, or BadPayload. Only what we rely on is checked."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadPayload("body is not JSON") from e
    if not isinstance(data, dict) or not isinstance(data.get("destination"), str) or not isinstance(data.get("events"), list):
        raise BadPayload("not a LINE webhook payload")
    for ev in data["events"]:
        if not isinstance(ev, dict):
            raise BadPayload("event is not an object")
        if not isinstance(ev.get("type"), str) or not isinstance(ev.get("webhookEventId"), str) or not ev["webhookEventId"]:
            raise BadPayload("event without type or webhookEventId")
        if len(ev["webhookEventId"]) > 64 or not isinstance(ev.get("timestamp"), int):
            raise BadPayload("event with a bad webhookEventId or timestamp")
        if not isinstance(ev.get("deliveryContext", {}), dict) or not isinstance(ev.get("source", {}), dict):
            raise BadPayload("event with a bad source or deliveryContext")
    return data["events"]


def _source_id(ev: dict) -> str:
    src = ev.get("source") or {}
    return src.get("userId") or src.get("groupId") or src.get("roomId") or "-"


def store_events(rt, events: list[dict]) -> list[str]:
    """Insert all events in one statement; an already-stored webhookEventId is skipped (redelivery)."""
    now = rt.now()
    rows = [
        {
            "event_id": ev["webhookEventId"],
            "user_key": user_key(_source_id(ev)),
            "event_type": ev["type"][:32],
            "event_ts": ev["timestamp"],
            "redelivered": bool((ev.get("deliveryContext") or {}).get("isRedelivery")),
            "body": ev,
            "status": PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for ev in events
    ]
    # One INSERT statement is atomic by itself, so it runs in autocommit: no BEGIN and COMMIT round
    # trips on the hot path (a multi-event body becomes one multi-VALUES statement).
    engine = rt.autocommit_engine
    with engine.begin() as conn:  # with AUTOCOMMIT, begin/commit send nothing to the server
        conn.execute(_insert_stmt(engine.dialect.name), rows)
    return [r["user_key"] for r in rows]


_STMTS: dict = {}


def _insert_stmt(dialect: str):
    if dialect not in _STMTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        _STMTS[dialect] = insert(WebhookEvent).on_conflict_do_nothing(index_elements=["event_id"])
    return _STMTS[dialect]


def receive(rt, body: bytes, signature: str | None, remote: str | None) -> tuple[int, dict]:
    """Verify, store, wake the dispatcher; returns (HTTP status, JSON body)."""
    if not signature_ok(rt.config.line_channel_secret, body, signature):
        log.warning("webhook: bad or missing signature from %s", remote)
        return 400, {"error": "invalid signature"}
    try:
        events = parse_payload(body)
    except BadPayload as e:
        log.warning("webhook: %s", e)
        return 400, {"error": str(e)}
    if events:
        keys = store_events(rt, events)
        if rt.dispatcher is not None:
            rt.dispatcher.submit(keys)
    return 200, {"status": "ok"}


class WebhookMiddleware:
    """Serves POST /callback in front of Flask.

    The webhook is the one hot path (LINE retries slow acks, and a burst of a city-wide push's replies
    arrives at once); Flask's request context, routing and the admin's hooks cost more than the work
    itself, so this WSGI layer answers it directly. Every other request goes to the Flask app.
    """

    PATH = "/callback"

    def __init__(self, app, rt) -> None:
        self.app, self.rt = app, rt

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, 405, {"error": "method not allowed"}, [("Allow", "POST")])
        limit = self.rt.config.max_body_bytes
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _respond(start_response, 400, {"error": "bad Content-Length"})
        if declared > limit:
            return _respond(start_response, 413, {"error": "body over 1 MiB"})
        try:
            stream = get_input_stream(environ, max_content_length=limit)
            body = stream.read(limit + 1)
        except RequestEntityTooLarge:
            return _respond(start_response, 413, {"error": "body over 1 MiB"})
        if len(body) > limit:
            return _respond(start_response, 413, {"error": "body over 1 MiB"})
        status, payload = receive(self.rt, body, environ.get("HTTP_X_LINE_SIGNATURE"), environ.get("REMOTE_ADDR"))
        return _respond(start_response, status, payload)


_REASONS = {200: "200 OK", 400: "400 Bad Request", 405: "405 Method Not Allowed", 413: "413 Payload Too Large"}


def _respond(start_response, status: int, payload: dict, headers: list | None = None):
    data = json.dumps(payload).encode()
    start_response(_REASONS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                      *(headers or [])])
    return [data]
