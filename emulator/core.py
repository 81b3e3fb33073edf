"""LineEmulator: a real HTTP server on loopback standing in for LINE's Messaging API (both api.line.me and
api-data.line.me paths on one origin), plus the resident's side: signed webhooks to the bot."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import api, control, webhooks
from .ids import new_reply_token
from .schema import SpecValidator
from .store import Store

log = logging.getLogger("kyodo.emulator")
MAX_BODY = 8 * 1024 * 1024


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive so the SDK's connection pool reuses sockets (the benchmark sends thousands of calls)."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections give their thread back eventually
    quiet = True

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        # The chat page polls /_emulator/* every 700 ms; logging those would bury the bot's API calls.
        if not self.quiet and not (self.command == "GET" and self.path.startswith("/_emulator/")):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from BaseHTTPRequestHandler
        log.debug("emulator: " + format, *args)


class _LoudHandler(_Handler):
    quiet = False


class LineEmulator:
    def __init__(self, channel_secret: str = "s", access_token: str = "t", webhook_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, openapi_path: str | Path | None = None,
                 log_requests: bool = False) -> None:
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.host = host
        self.port = port
        self.reply_token_ttl = 60.0
        self.webhook_timeout = 10.0
        self.quota = 5000
        # Stable per channel, so the bot sees the same `destination` across restarts.
        self.bot_user_id = "U" + hashlib.md5(f"kyodo-bot:{channel_secret}".encode()).hexdigest()
        self.validator = SpecValidator(openapi_path)
        self.store = Store()
        self._log_requests = log_requests
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- server lifecycle ------------------------------------------------------------------------------------
    def _make_server(self) -> BaseWSGIServer:
        handler = _LoudHandler if self._log_requests else _Handler
        server = make_server(self.host, self.port, self.wsgi_app, threaded=True, request_handler=handler)
        self.port = server.server_port
        return server

    def start(self) -> "LineEmulator":
        if self._server is not None:
            return self
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"line-emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (the `kyodo emulator` command)."""
        self._server = self._make_server()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "LineEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def wsgi_app(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            if request.path.startswith(("/v2/", "/bot/")):
                response = api.handle(self, request)
            else:
                response = control.handle(self, request)
        except HTTPException as exc:  # e.g. 413 from the body-size cap
            response = Response(f'{{"message": "{exc.name}"}}', status=exc.code, content_type="application/json")
        return response(environ, start_response)

    # -- inspection -------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.store.reset()

    def sent(self, user: str | None = None, kind: str | None = None) -> list[dict]:
        return self.store.sent(user=user, kind=kind)

    def messages_for(self, user: str) -> list[dict]:
        return [m for record in self.store.sent(user=user) for m in record["messages"]]

    @property
    def requests(self) -> list[dict]:
        with self.store.lock:
            return list(self.store.requests)

    @staticmethod
    def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(interval)

    # -- faults -----------------------------------------------------------------------------------------------
    def inject(self, endpoint: str, mode: str, count: int = 1, retry_after: float | None = None,
               hang_seconds: float | None = None) -> None:
        self.store.add_fault(endpoint, str(mode), count, retry_after, hang_seconds)

    def set_rate_limit(self, per_second: float | None = None) -> None:
        self.store.set_rate_limit(per_second)

    def set_profile(self, user_id: str, display_name: str, language: str = "ja") -> None:
        user = self.store.touch_user(user_id, display_name)
        user.language = language

    # -- the resident's side: webhooks ------------------------------------------------------------------------
    def _issue_reply_token(self, user_id: str) -> str:
        token = new_reply_token()
        with self.store.lock:
            self.store.reply_tokens[token] = {"user": user_id, "issued": time.time(), "used": False}
        return token

    def _emit(self, event: dict, display: str | None = None) -> tuple[int, dict]:
        user_id = event["source"]["userId"]
        with self.store.lock:
            user = self.store.touch_user(user_id)
            if event["type"] == "unfollow":
                user.blocked = user.ever_unfollowed = True
            elif event["type"] == "follow":
                user.blocked = False
            self.store.events[event["webhookEventId"]] = event
            # On the timeline before delivery: a bot that replies inside its webhook handler must not appear
            # to answer before the resident spoke.
            entry = self.store.add_user_event(event, display)
        try:
            status = self.post_events([event])
        except webhooks.WebhookError as exc:
            entry["error"] = str(exc)
            raise
        entry["status"] = status
        return status, event

    def send_text(self, user_id: str, text: str) -> tuple[int, dict]:
        return self._emit(webhooks.text_event(user_id, text, self._issue_reply_token(user_id)), text)

    def send_postback(self, user_id: str, data: str, params: dict | None = None,
                      display_text: str | None = None) -> tuple[int, dict]:
        event = webhooks.postback_event(user_id, data, self._issue_reply_token(user_id), params)
        return self._emit(event, display_text)

    def send_location(self, user_id: str, latitude: float, longitude: float, title: str | None = None,
                      address: str | None = None) -> tuple[int, dict]:
        event = webhooks.location_event(user_id, latitude, longitude, self._issue_reply_token(user_id),
                                        title=title, address=address)
        return self._emit(event, title)

    def send_sticker(self, user_id: str, package_id: str = "446", sticker_id: str = "1988") -> tuple[int, dict]:
        event = webhooks.sticker_event(user_id, package_id, sticker_id, self._issue_reply_token(user_id))
        return self._emit(event, "（スタンプ）")

    def send_follow(self, user_id: str, is_unblocked: bool | None = None) -> tuple[int, dict]:
        """isUnblocked defaults to whether this user unfollowed (blocked) the bot earlier in this run."""
        known = self.store.users.get(user_id)
        if is_unblocked is None:
            is_unblocked = bool(known and known.ever_unfollowed)
        return self._emit(webhooks.follow_event(user_id, self._issue_reply_token(user_id), is_unblocked))

    def send_unfollow(self, user_id: str) -> tuple[int, dict]:
        return self._emit(webhooks.unfollow_event(user_id))

    def redeliver(self, event: dict) -> tuple[int, dict]:
        again = webhooks.as_redelivery(event)
        return self.post_events([again]), again

    def post_events(self, events: list[dict], signature: str | None = None, raw_body: bytes | None = None) -> int:
        if not self.webhook_url:
            raise webhooks.WebhookError("webhook_url is not set")
        body = raw_body if raw_body is not None else webhooks.encode_body(self.bot_user_id, events)
        if signature is None:
            signature = webhooks.sign(self.channel_secret, body)
        return webhooks.deliver(self.webhook_url, body, signature, timeout=self.webhook_timeout)
