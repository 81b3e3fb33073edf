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

from bot.logsafe import describe_exception, event_ref, user_key
from bot.webhook_shape import BadPayload, Event, check_event, loggable_type, parse
from models.webhook import PENDING, SKIPPED, WebhookEvent

log = logging.getLogger("kyodo.webhook")


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def store_events(rt, events: list[Event] | list[dict]) -> list[str]:
    """Insert all events in one statement; an already-stored webhookEventId is skipped (redelivery).
    Returns the user keys that have events to process. Plain event dicts (tests, tools) are checked here."""
    events = [ev if isinstance(ev, Event) else check_event(ev) for ev in events]
    now = rt.now()
    rows = [
        {
            "event_id": ev.event_id,
            "user_key": user_key(ev.chat_id or "-"),
            # A known type, or "?": an unknown type string is input, and a skipped row keeps no input.
            "event_type": loggable_type(ev.type),
            "event_ts": ev.timestamp,
            "redelivered": ev.redelivered,
            # A skipped event keeps no body: it would hold a resident's text that nothing will clear.
            "body": None if ev.skip else ev.body,
            "status": SKIPPED if ev.skip else PENDING,
            "attempts": 0,
            "received_at": now,
            "processed_at": now if ev.skip else None,
            "error": f"skipped: {ev.skip}" if ev.skip else None,
        }
        for ev in events
    ]
    # One INSERT statement is atomic by itself, so it runs in autocommit: no BEGIN and COMMIT round
    # trips on the hot path (a multi-event body becomes one multi-VALUES statement).
    engine = rt.autocommit_engine
    with engine.begin() as conn:  # with AUTOCOMMIT, begin/commit send nothing to the server
        inserted = set(conn.execute(_insert_stmt(engine.dialect.name), rows).scalars())
    # Only rows this delivery stored: a redelivery of a stored id must not buy another log line. The id is
    # logged as a keyed hash: a body's id is any printable text up to 64 characters.
    for ev in events:
        if ev.event_id not in inserted:
            continue
        inserted.discard(ev.event_id)  # an id twice in one body is stored (and logged) once
        if ev.skip:
            log.warning("webhook: event %s (%s) stored but skipped: %s", event_ref(ev.event_id), loggable_type(ev.type),
                        ev.skip)
        elif ev.token_dropped:
            log.info("webhook: event %s has an unusable replyToken; it will be answered by push", event_ref(ev.event_id))
    return [r["user_key"] for r in rows if r["status"] == PENDING]


_STMTS: dict = {}


def _insert_stmt(dialect: str):
    if dialect not in _STMTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        _STMTS[dialect] = (insert(WebhookEvent).on_conflict_do_nothing(index_elements=["event_id"])
                           .returning(WebhookEvent.event_id))  # the ids actually inserted
    return _STMTS[dialect]


def receive(rt, body: bytes, signature: str | None, remote: str | None) -> tuple[int, dict]:
    """Verify, store, wake the dispatcher; returns (HTTP status, JSON body)."""
    if not signature_ok(rt.config.line_channel_secret, body, signature):
        log.warning("webhook: bad or missing signature from %s", remote)
        return 400, {"error": "invalid signature"}
    try:
        events = parse(body)
    except BadPayload as e:
        log.warning("webhook: %s", e)
        return 400, {"error": str(e)}
    except Exception as e:  # a check that trips over input it did not foresee: refused, never a 500
        log.error("webhook: body refused by a failing check: %s", describe_exception(e))
        return 400, {"error": "not a LINE webhook payload"}
    if events:
        try:
            keys = store_events(rt, events)
        except Exception as e:  # the database, not the body: LINE redelivers what was not acknowledged
            log.error("webhook: could not store %d events: %s", len(events), describe_exception(e))
            return 503, {"error": "temporarily unavailable"}
        if keys and rt.dispatcher is not None:
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
        body = read_body(environ, self.rt.config.max_body_bytes)
        if isinstance(body, int):
            return _respond(start_response, body, {"error": _BODY_ERRORS[body]})
        status, payload = receive(self.rt, body, environ.get("HTTP_X_LINE_SIGNATURE"), environ.get("REMOTE_ADDR"))
        return _respond(start_response, status, payload)


_BODY_ERRORS = {400: "could not read the body", 413: "body over 1 MiB"}


def read_body(environ, limit: int) -> bytes | int:
    """The request body, or the status refusing it (400 unreadable, 413 too large).

    With `Transfer-Encoding: chunked` there is no Content-Length: the server de-chunks the stream
    (`wsgi.input_terminated`), and a framing error or a client that goes away surfaces as an exception
    from read() (werkzeug's ClientDisconnected, OSError, gunicorn's NoMoreData/InvalidChunkSize...),
    which used to escape as a 500. A chunked body over the limit used to be cut at the limit and then
    refused as a bad signature; reading one byte more tells it apart.
    """
    raw = environ.get("CONTENT_LENGTH") or ""
    declared = None
    if raw:
        if not (raw.isascii() and raw.isdigit()):  # also refuses "-5", "+5" and "１"
            return 400
        declared = int(raw)
        if declared > limit:
            return 413
    cap = limit + 1
    try:
        stream = get_input_stream(environ, max_content_length=cap)
        buf, size = bytearray(min(cap, declared + 1 if declared is not None else 64 * 1024)), 0
        while size < cap:
            if size == len(buf):
                buf = buf + bytearray(min(cap, 2 * len(buf)) - len(buf))
            # readinto a memoryview, never read(): werkzeug's dev-server de-chunker shrinks a bytearray it
            # is given when a chunk is cut short and then reports the full length, and read() trusts
            # that count (a crash of the whole process, not an exception). A memoryview cannot shrink.
            with memoryview(buf) as view:
                n = stream.readinto(view[size:])
            if not n:
                break
            size += n
    except RequestEntityTooLarge:
        return 413
    except Exception:  # whatever the server raises for a broken or abandoned body: the client's fault
        return 400
    return 413 if size > limit else bytes(buf[:size])


_REASONS = {200: "200 OK", 400: "400 Bad Request", 405: "405 Method Not Allowed", 413: "413 Payload Too Large",
            503: "503 Service Unavailable"}


def _respond(start_response, status: int, payload: dict, headers: list | None = None):
    data = json.dumps(payload).encode()
    start_response(_REASONS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                      *(headers or [])])
    return [data]
