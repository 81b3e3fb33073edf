"""POST /callback: verify the signature, store the events, answer 200. Nothing else happens here."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.logsafe import user_key
from models.webhook import PENDING, WebhookEvent

log = logging.getLogger("kyodo.webhook")
bp = Blueprint("webhook", __name__)


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
    # One INSERT statement is atomic by itself: autocommit saves the BEGIN and COMMIT round trips on
    # the hot path (a multi-event body becomes one multi-VALUES statement, compiled once and cached).
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(_insert_stmt(rt.engine.dialect.name), rows)
    return [r["user_key"] for r in rows]


_STMTS: dict = {}


def _insert_stmt(dialect: str):
    if dialect not in _STMTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        _STMTS[dialect] = insert(WebhookEvent).on_conflict_do_nothing(index_elements=["event_id"])
    return _STMTS[dialect]


@bp.post("/callback")
def callback():
    rt = current_app.extensions["kyodo"]
    if (request.content_length or 0) > rt.config.max_body_bytes:
        abort(413)
    body = request.get_data(cache=False)  # MAX_CONTENT_LENGTH also guards chunked bodies
    if not signature_ok(rt.config.line_channel_secret, body, request.headers.get("X-Line-Signature")):
        log.warning("webhook: bad or missing signature from %s", request.remote_addr)
        return jsonify(error="invalid signature"), 400
    try:
        events = parse_payload(body)
    except BadPayload as e:
        log.warning("webhook: %s", e)
        return jsonify(error=str(e)), 400
    if events:
        keys = store_events(rt, events)
        if rt.dispatcher is not None:
            rt.dispatcher.submit(keys)
    return jsonify(status="ok")
