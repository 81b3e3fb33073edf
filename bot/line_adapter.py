"""The one module that calls LINE (or the emulator): reply, push, multicast, rich menu, profile, quota.

Through the real line-bot-sdk v3 clients. Retries 429/5xx/timeouts with jittered exponential backoff
(honouring Retry-After); push and multicast reuse the caller's X-Line-Retry-Key so a retry after a
lost response cannot deliver twice, and a 409 for an accepted key counts as success.
"""
from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    RichMenuRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot import logsafe
from bot.config import Config
from bot.logsafe import uid

log = logging.getLogger("kyodo.line")

# LINE's reply tokens are 32 hex digits; anything that is not short printable ASCII cannot be one.
_REPLY_TOKEN = re.compile(r"[!-~]{1,255}")


def usable_reply_token(token: object) -> bool:
    """Whether `token` can be sent as a replyToken at all (if not, the answer goes by push)."""
    return isinstance(token, str) and _REPLY_TOKEN.fullmatch(token) is not None


@dataclass(frozen=True)
class SendResult:
    request_id: str | None
    duplicate: bool = False  # 409: LINE had already accepted this retry key


class LineError(Exception):
    """A call that did not succeed. `retryable` says whether trying later can help."""

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None,
                 retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.request_id, self.retryable, self.retry_after = status, request_id, retryable, retry_after


class InvalidReplyToken(LineError):
    """The reply token was unknown, used or expired: the answer must go as a push."""


class DeliveryUncertain(LineError):
    """The request may have reached LINE (timeout on a call without a retry key)."""


logsafe.trust_messages(LineError)  # its messages are ours and LINE's error texts, never message content


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        return headers.get(name)
    except AttributeError:
        return dict(headers).get(name)


def _error_message(body: Any) -> str:
    try:
        data = json.loads(body)
        msg = data.get("message", "")
        details = data.get("details") or []
        if details:
            msg += " " + "; ".join(f"{d.get('property')}: {d.get('message')}" for d in details[:5])
        return msg
    except Exception:
        return str(body)[:300] if body else ""


class LineAdapter:
    def __init__(self, config: Config, *, sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random, max_inline_wait_s: float = 5.0) -> None:
        self.config = config
        self._sleep, self._rng, self.max_inline_wait_s = sleep, rng, max_inline_wait_s
        api_conf = Configuration(host=config.line_api_base_url, access_token=config.line_channel_access_token)
        data_conf = Configuration(host=config.line_data_api_base_url, access_token=config.line_channel_access_token)
        for c in (api_conf, data_conf):
            # We own retries (with retry keys); urllib3 must not silently resend a POST.
            c.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False)
            c.connection_pool_maxsize = max(8, config.dispatch_workers * 2, config.delivery_threads)
        self._api = MessagingApi(ApiClient(api_conf))
        self._blob = MessagingApiBlob(ApiClient(data_conf))

    # -- messaging -------------------------------------------------------------------------------
    def reply(self, reply_token: str, messages: list[dict]) -> SendResult:
        if not usable_reply_token(reply_token):
            raise InvalidReplyToken("reply: not a reply token")
        body = {"replyToken": reply_token, "messages": messages}
        return self._call("reply", lambda t: self._post("/v2/bot/message/reply", body, None, t), idempotent=False)

    def push(self, to: str, messages: list[dict], retry_key: str) -> SendResult:
        body = {"to": to, "messages": messages}
        return self._call("push", lambda t: self._post("/v2/bot/message/push", body, retry_key, t),
                          idempotent=True, who=to)

    def multicast(self, to: list[str], messages: list[dict], retry_key: str) -> SendResult:
        body = {"to": to, "messages": messages}
        return self._call("multicast", lambda t: self._post("/v2/bot/message/multicast", body, retry_key, t),
                          idempotent=True)

    def _post(self, path: str, body: dict, retry_key: str | None, timeout: float):
        """A message POST through the SDK's ApiClient (auth, pool, errors as ApiException) with the body
        as the plain dict we stored: no request-model round trip (from_dict, validation, to_dict) per
        send. Message shapes are checked in the tests against LINE's OpenAPI file (the emulator)."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if retry_key is not None:
            headers["X-Line-Retry-Key"] = retry_key
        return self._api.api_client.call_api(path, "POST", header_params=headers, body=body, response_types_map={},
                                             auth_settings=["Bearer"], _request_timeout=timeout)

    # -- everything else -------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> dict:
        return self._data("profile", lambda t: self._api.get_profile_with_http_info(user_id, _request_timeout=t))

    # A page waiting on these passes fewer attempts than a send's retry budget (bot/quota.py).
    def get_quota(self, *, max_attempts: int | None = None) -> dict:
        return self._data("quota", lambda t: self._api.get_message_quota_with_http_info(_request_timeout=t),
                          max_attempts=max_attempts)

    def get_quota_consumption(self, *, max_attempts: int | None = None) -> dict:
        return self._data("quota", lambda t: self._api.get_message_quota_consumption_with_http_info(_request_timeout=t),
                          max_attempts=max_attempts)

    def create_rich_menu(self, menu: dict) -> str:
        req = RichMenuRequest.from_dict(menu)
        return self._data("richmenu", lambda t: self._api.create_rich_menu_with_http_info(req, _request_timeout=t))["richMenuId"]

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str = "image/png") -> None:
        self._call("richmenu", lambda t: self._blob.set_rich_menu_image_with_http_info(
            rich_menu_id, image, _headers={"Content-Type": content_type}, _request_timeout=t), idempotent=True)

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu", lambda t: self._api.set_default_rich_menu_with_http_info(rich_menu_id, _request_timeout=t), idempotent=True)

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        self._call("richmenu", lambda t: self._api.link_rich_menu_id_to_user_with_http_info(user_id, rich_menu_id, _request_timeout=t),
                   idempotent=True, who=user_id)

    def list_rich_menus(self) -> list[dict]:
        return self._data("richmenu", lambda t: self._api.get_rich_menu_list_with_http_info(_request_timeout=t)).get("richmenus", [])

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu", lambda t: self._api.delete_rich_menu_with_http_info(rich_menu_id, _request_timeout=t), idempotent=True)

    # -- the one retry loop ----------------------------------------------------------------------
    def _data(self, name: str, fn, *, max_attempts: int | None = None) -> dict:
        resp = self._call_raw(name, fn, idempotent=True, who=None, max_attempts=max_attempts)
        data = resp.data
        return data.to_dict() if hasattr(data, "to_dict") else (data or {})

    def _call(self, name: str, fn, *, idempotent: bool, who: str | None = None) -> SendResult:
        resp = self._call_raw(name, fn, idempotent=idempotent, who=who)
        if isinstance(resp, SendResult):
            return resp
        return SendResult(request_id=_header(resp.headers, "x-line-request-id"))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.config.line_backoff_cap_s, self.config.line_backoff_base_s * (2 ** attempt))
        delay = base * (0.5 + self._rng() / 2)  # jitter so a crowd of workers does not retry in step
        return max(delay, retry_after or 0.0)

    def _call_raw(self, name: str, fn, *, idempotent: bool, who: str | None, max_attempts: int | None = None):
        last: LineError | None = None
        attempts = max_attempts or self.config.line_max_attempts
        for attempt in range(attempts):
            try:
                return fn(self.config.line_timeout_s)
            except ApiException as e:
                status, rid = e.status, _header(e.headers, "x-line-request-id")
                message = _error_message(e.body)
                if status == 409 and idempotent and name in ("push", "multicast"):
                    accepted = _header(e.headers, "x-line-accepted-request-id") or rid
                    log.info("line %s: retry key already accepted (request %s)", name, accepted)
                    return SendResult(request_id=accepted, duplicate=True)
                if status == 429 or (status is not None and status >= 500):
                    ra = _header(e.headers, "Retry-After")
                    retry_after = float(ra) if ra and ra.replace(".", "", 1).isdigit() else None
                    last = LineError(f"{name}: HTTP {status} {message}", status=status, request_id=rid,
                                     retryable=True, retry_after=retry_after)
                    log.warning("line %s: HTTP %s (request %s), attempt %d", name, status, rid, attempt + 1)
                elif status == 400 and name == "reply" and "reply token" in message.lower():
                    raise InvalidReplyToken(f"reply: {message}", status=status, request_id=rid)
                else:
                    log.error("line %s failed: HTTP %s request %s to %s: %s", name, status, rid, uid(who), message)
                    raise LineError(f"{name}: HTTP {status} {message}", status=status, request_id=rid) from e
            except urllib3.exceptions.HTTPError as e:
                reason = getattr(e, "reason", None) or e
                never_sent = isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
                if not idempotent and not never_sent:
                    # A reply that timed out may have been delivered; the token is spent either way.
                    log.warning("line %s: %s; delivery unknown", name, type(e).__name__)
                    raise DeliveryUncertain(f"{name}: {type(e).__name__}", retryable=False) from e
                last = LineError(f"{name}: {type(e).__name__}", retryable=True)
                log.warning("line %s: %s, attempt %d", name, type(e).__name__, attempt + 1)
            if attempt + 1 >= attempts:
                break
            wait = self._backoff(attempt, last.retry_after)
            if wait > self.max_inline_wait_s:
                break  # long waits are the outbox's job (next_attempt_at), not a blocked thread's
            self._sleep(wait)
        assert last is not None
        raise last
