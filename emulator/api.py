"""The Messaging API endpoints the bot calls: authenticate, apply faults and the rate limit, validate against the
official spec plus LINE's extra limits, then record what LINE would have delivered."""
from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import limits
from .ids import new_message_id, new_quote_token, new_request_id, new_rich_menu_id
from .schema import error_body

if TYPE_CHECKING:
    from .core import LineEmulator

RICH_MENU_IMAGE_MAX = 1024 * 1024
_CHAT_ID = re.compile(r"^[UCR][0-9a-f]{32}$")
_QUOTABLE = {"text", "textV2", "sticker"}
_AUTH_FAILED = {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."}
_LOGGED_HEADERS = ("Content-Type", "X-Line-Retry-Key", "User-Agent")

URLS = Map([
    Rule("/v2/bot/message/reply", methods=["POST"], endpoint="reply"),
    Rule("/v2/bot/message/push", methods=["POST"], endpoint="push"),
    Rule("/v2/bot/message/multicast", methods=["POST"], endpoint="multicast"),
    Rule("/v2/bot/message/broadcast", methods=["POST"], endpoint="broadcast"),
    Rule("/v2/bot/message/narrowcast", methods=["POST"], endpoint="narrowcast"),
    Rule("/v2/bot/message/validate/<kind>", methods=["POST"], endpoint="validate"),
    Rule("/v2/bot/message/quota", methods=["GET"], endpoint="quota"),
    Rule("/v2/bot/message/quota/consumption", methods=["GET"], endpoint="quota_consumption"),
    Rule("/v2/bot/profile/<user_id>", methods=["GET"], endpoint="profile"),
    Rule("/v2/bot/info", methods=["GET"], endpoint="bot_info"),
    Rule("/v2/bot/chat/loading/start", methods=["POST"], endpoint="loading"),
    Rule("/v2/bot/richmenu", methods=["POST"], endpoint="richmenu_create"),
    Rule("/v2/bot/richmenu/validate", methods=["POST"], endpoint="richmenu_validate"),
    Rule("/v2/bot/richmenu/list", methods=["GET"], endpoint="richmenu_list"),
    Rule("/v2/bot/richmenu/<rid>", methods=["GET"], endpoint="richmenu_get"),
    Rule("/v2/bot/richmenu/<rid>", methods=["DELETE"], endpoint="richmenu_delete"),
    Rule("/v2/bot/richmenu/<rid>/content", methods=["POST"], endpoint="richmenu_upload"),
    Rule("/v2/bot/richmenu/<rid>/content", methods=["GET"], endpoint="richmenu_download"),
    Rule("/v2/bot/user/all/richmenu/<rid>", methods=["POST"], endpoint="richmenu_set_default"),
    Rule("/v2/bot/user/all/richmenu", methods=["GET"], endpoint="richmenu_get_default"),
    Rule("/v2/bot/user/all/richmenu", methods=["DELETE"], endpoint="richmenu_cancel_default"),
    Rule("/v2/bot/user/<user_id>/richmenu/<rid>", methods=["POST"], endpoint="richmenu_link"),
    Rule("/v2/bot/user/<user_id>/richmenu", methods=["GET"], endpoint="richmenu_get_user"),
    Rule("/v2/bot/user/<user_id>/richmenu", methods=["DELETE"], endpoint="richmenu_unlink"),
], strict_slashes=False)


def category(endpoint: str) -> str:
    """The short names used by LineEmulator.inject()."""
    if endpoint.startswith("richmenu"):
        return "richmenu"
    if endpoint.startswith("quota"):
        return "quota"
    return endpoint if endpoint in ("reply", "push", "multicast", "broadcast", "narrowcast", "profile") else "other"


@dataclass
class Call:
    emu: "LineEmulator"
    request: Request
    request_id: str
    args: dict
    data: bytes
    _json: Any = None

    @property
    def json(self) -> Any:
        if self._json is None:
            self._json = json.loads(self.data or b"null")
        return self._json

    @property
    def store(self):
        return self.emu.store


Result = tuple[int, Any, dict]  # status, JSON body (or (content_type, bytes)), extra headers


def handle(emu: "LineEmulator", request: Request) -> Response:
    request_id = new_request_id()
    data = request.get_data(cache=True)
    status, body, headers, endpoint, hang = _dispatch(emu, request, request_id, data)
    response = _respond(status, body, headers, request_id)
    emu.store.log_request({
        "method": request.method, "path": request.path, "status": status, "endpoint": endpoint,
        "body": _loggable(data, request.mimetype), "request_id": request_id, "at": time.time(),
        "headers": {h: request.headers[h] for h in _LOGGED_HEADERS if h in request.headers},
    })
    if hang:
        time.sleep(hang)  # accepted and recorded, but the client sees no answer in time
    return response


def _dispatch(emu: "LineEmulator", request: Request, request_id: str, data: bytes):
    if request.headers.get("Authorization", "") != f"Bearer {emu.access_token}":
        return 401, _AUTH_FAILED, {}, None, None
    try:
        endpoint, args = URLS.bind("emulator").match(request.path, method=request.method)
    except MethodNotAllowed:
        return 405, {"message": "Method not allowed"}, {}, None, None
    except NotFound:
        problem = emu.validator.validate(request.method, request.path, data, request.content_type or "",
                                         request.headers, request.args)
        if problem and problem[0] in (404, 405):
            return problem[0], problem[1], {}, None, None
        return 501, {"message": "This endpoint is not implemented by the kyodo LINE emulator"}, {}, None, None
    if emu.store.rate_limited():
        return 429, {"message": "The API rate limit has been exceeded. Try again later."}, {}, endpoint, None
    hang = None
    fault = emu.store.take_fault(category(endpoint))
    if fault is not None:
        if fault.mode == "429":
            extra = {"Retry-After": _header_number(fault.retry_after)} if fault.retry_after is not None else {}
            return 429, {"message": "The API rate limit has been exceeded. Try again later."}, extra, endpoint, None
        if fault.mode == "429-monthly":  # LINE's answer once the month's free messages are used up
            return 429, {"message": "You have reached your monthly limit."}, {}, endpoint, None
        if fault.mode == "500":
            return 500, {"message": "Internal server error"}, {}, endpoint, None
        hang = fault.hang_seconds
    problem = emu.validator.validate(request.method, request.path, data, request.content_type or "",
                                     request.headers, request.args)
    if problem:
        return problem[0], problem[1], {}, endpoint, None
    call = Call(emu, request, request_id, args, data)
    status, body, headers = HANDLERS[endpoint](call)
    return status, body, headers, endpoint, (hang if status < 400 else None)


def _respond(status: int, body: Any, headers: dict, request_id: str) -> Response:
    if isinstance(body, tuple):  # binary content
        content_type, payload = body
        response = Response(payload, status=status, content_type=content_type)
    else:
        payload = json.dumps(body if body is not None else {}, ensure_ascii=False).encode("utf-8")
        response = Response(payload, status=status, content_type="application/json")
    response.headers["x-line-request-id"] = request_id
    for key, value in headers.items():
        response.headers[key] = value
    return response


def _loggable(data: bytes, mimetype: str) -> Any:
    if not data:
        return None
    if mimetype == "application/json":
        try:
            return json.loads(data)
        except ValueError:
            pass
    return f"<{len(data)} bytes {mimetype or 'unknown'}>"


def _header_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _invalid(problems: list[tuple[str, str]]) -> Result:
    return 400, error_body([{"message": m, "property": p} for p, m in problems]), {}


def _sent_messages(messages: list[dict]) -> list[dict]:
    out = []
    for m in messages:
        item = {"id": new_message_id()}
        if m.get("type") in _QUOTABLE:
            item["quoteToken"] = new_quote_token()
        out.append(item)
    return out


# -- messages ---------------------------------------------------------------------------------------------------
def reply(call: Call) -> Result:
    body = call.json
    problems = limits.check_messages(body["messages"])
    if problems:
        return _invalid(problems)
    token = body["replyToken"]
    with call.store.lock:
        info = call.store.reply_tokens.get(token)
        if info is None or info["used"] or time.time() - info["issued"] > call.emu.reply_token_ttl:
            return 400, {"message": "Invalid reply token"}, {}
        info["used"] = True
        call.store.add_record("reply", [info["user"]], body["messages"], None, call.request_id, reply_token=token)
    return 200, {"sentMessages": _sent_messages(body["messages"])}, {}


def _send(call: Call, kind: str, to: list[str], messages: list[dict], ok_status: int,
          ok_body: Callable[[list[dict]], dict]) -> Result:
    """push/multicast/broadcast/narrowcast share the retry-key rule: a key accepted once answers 409 after."""
    key = call.request.headers.get("X-Line-Retry-Key")
    with call.store.lock:
        accepted = call.store.retry_keys.get(key) if key else None
        if accepted is not None:
            body = {"message": "The retry key is already accepted"}
            if accepted["sent_messages"]:
                body["sentMessages"] = accepted["sent_messages"]
            return 409, body, {"x-line-accepted-request-id": accepted["request_id"]}
        sent = _sent_messages(messages)
        call.store.add_record(kind, to, messages, key, call.request_id)
        if key:
            call.store.retry_keys[key] = {"request_id": call.request_id, "kind": kind,
                                          "sent_messages": sent if kind == "push" else None}
    return ok_status, ok_body(sent), {}


def push(call: Call) -> Result:
    body = call.json
    to = body["to"]
    if not _CHAT_ID.match(to):
        return 400, {"message": "The property, 'to', in the request body is invalid (line: -, column: -)"}, {}
    problems = limits.check_messages(body["messages"])
    if problems:
        return _invalid(problems)
    return _send(call, "push", [to], body["messages"], 200, lambda sent: {"sentMessages": sent})


def multicast(call: Call) -> Result:
    body = call.json
    problems = limits.check_recipients(body["to"]) + limits.check_messages(body["messages"])
    if problems:
        return _invalid(problems)
    return _send(call, "multicast", body["to"], body["messages"], 200, lambda sent: {})


def broadcast(call: Call) -> Result:
    body = call.json
    problems = limits.check_messages(body["messages"])
    if problems:
        return _invalid(problems)
    return _send(call, "broadcast", call.store.active_users(), body["messages"], 200, lambda sent: {})


def narrowcast(call: Call) -> Result:
    body = call.json
    problems = limits.check_messages(body["messages"])
    if problems:
        return _invalid(problems)
    return _send(call, "narrowcast", [], body["messages"], 202, lambda sent: {})


def validate(call: Call) -> Result:
    if call.args["kind"] not in ("reply", "push", "multicast", "narrowcast", "broadcast"):
        return 404, {"message": "Not found"}, {}
    problems = limits.check_messages(call.json.get("messages"))
    return _invalid(problems) if problems else (200, {}, {})


def quota(call: Call) -> Result:
    return 200, {"type": "limited", "value": call.emu.quota}, {}


def quota_consumption(call: Call) -> Result:
    return 200, {"totalUsage": call.store.total_usage}, {}


def profile(call: Call) -> Result:
    user = call.store.users.get(call.args["user_id"])
    if user is None or user.blocked:
        return 404, {"message": "Not found"}, {}
    return 200, {"userId": user.user_id, "displayName": user.display_name, "language": user.language}, {}


def bot_info(call: Call) -> Result:
    return 200, {"userId": call.emu.bot_user_id, "basicId": "@kyodo-emu", "displayName": "kyodo (emulator)",
                 "chatMode": "bot", "markAsReadMode": "auto"}, {}


def loading(call: Call) -> Result:
    return 202, {}, {}


# -- rich menus -------------------------------------------------------------------------------------------------
def richmenu_create(call: Call) -> Result:
    problems = limits.check_rich_menu(call.json)
    if problems:
        return _invalid(problems)
    with call.store.lock:
        if len(call.store.rich_menus) >= 1000:
            return 400, {"message": "The maximum number of rich menus has been reached"}, {}
        rid = new_rich_menu_id()
        menu = {k: call.json[k] for k in ("size", "selected", "name", "chatBarText", "areas")}
        call.store.rich_menus[rid] = {"richMenuId": rid, **menu}
    return 200, {"richMenuId": rid}, {}


def richmenu_validate(call: Call) -> Result:
    problems = limits.check_rich_menu(call.json)
    return _invalid(problems) if problems else (200, {}, {})


def richmenu_list(call: Call) -> Result:
    with call.store.lock:
        return 200, {"richmenus": list(call.store.rich_menus.values())}, {}


def _menu_or_404(call: Call) -> dict | None:
    return call.store.rich_menus.get(call.args["rid"])


_MENU_NOT_FOUND = (404, {"message": "richmenu not found"}, {})


def richmenu_get(call: Call) -> Result:
    menu = _menu_or_404(call)
    return (200, menu, {}) if menu else _MENU_NOT_FOUND


def richmenu_delete(call: Call) -> Result:
    rid = call.args["rid"]
    with call.store.lock:
        if call.store.rich_menus.pop(rid, None) is None:
            return _MENU_NOT_FOUND
        call.store.rich_menu_images.pop(rid, None)
        if call.store.default_rich_menu == rid:
            call.store.default_rich_menu = None
        for user in [u for u, r in call.store.user_rich_menus.items() if r == rid]:
            del call.store.user_rich_menus[user]
    return 200, {}, {}


def richmenu_upload(call: Call) -> Result:
    from PIL import Image, UnidentifiedImageError

    rid = call.args["rid"]
    menu = _menu_or_404(call)
    if menu is None:
        return _MENU_NOT_FOUND
    mimetype = call.request.mimetype
    if mimetype not in ("image/png", "image/jpeg"):
        return 415, {"message": "Content-Type must be image/png or image/jpeg"}, {}
    if len(call.data) > RICH_MENU_IMAGE_MAX:
        return 413, {"message": "The image is larger than 1 MB"}, {}
    try:
        with Image.open(io.BytesIO(call.data)) as img:
            img_format, img_size = img.format, img.size
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return 400, {"message": "The request body is not a valid PNG or JPEG image"}, {}
    expected = {"image/png": "PNG", "image/jpeg": "JPEG"}[mimetype]
    if img_format != expected:
        return 400, {"message": f"The image is {img_format}, but Content-Type says {mimetype}"}, {}
    want = (menu["size"]["width"], menu["size"]["height"])
    if img_size != want:
        return 400, {"message": f"The image must be {want[0]}x{want[1]} pixels to match the rich menu size "
                                f"(got {img_size[0]}x{img_size[1]})"}, {}
    with call.store.lock:
        if rid in call.store.rich_menu_images:
            return 400, {"message": "An image has already been uploaded to the richmenu"}, {}
        call.store.rich_menu_images[rid] = (mimetype, bytes(call.data))
    return 200, {}, {}


def richmenu_download(call: Call) -> Result:
    image = call.store.rich_menu_images.get(call.args["rid"])
    if image is None:
        return 404, {"message": "Not found"}, {}
    return 200, image, {}


def _can_apply(call: Call) -> Result | None:
    rid = call.args["rid"]
    if rid not in call.store.rich_menus:
        return _MENU_NOT_FOUND
    if rid not in call.store.rich_menu_images:
        return 400, {"message": "must upload richmenu image before applying it to user"}, {}
    return None


def richmenu_set_default(call: Call) -> Result:
    with call.store.lock:
        problem = _can_apply(call)
        if problem:
            return problem
        call.store.default_rich_menu = call.args["rid"]
    return 200, {}, {}


def richmenu_get_default(call: Call) -> Result:
    rid = call.store.default_rich_menu
    return (200, {"richMenuId": rid}, {}) if rid else (404, {"message": "no default richmenu"}, {})


def richmenu_cancel_default(call: Call) -> Result:
    call.store.default_rich_menu = None
    return 200, {}, {}


def richmenu_link(call: Call) -> Result:
    if not _CHAT_ID.match(call.args["user_id"]):
        return 400, {"message": "The value for the 'userId' parameter is invalid"}, {}
    with call.store.lock:
        problem = _can_apply(call)
        if problem:
            return problem
        call.store.user_rich_menus[call.args["user_id"]] = call.args["rid"]
    return 200, {}, {}


def richmenu_get_user(call: Call) -> Result:
    rid = call.store.user_rich_menus.get(call.args["user_id"])
    return (200, {"richMenuId": rid}, {}) if rid else (404, {"message": "the user has no richmenu"}, {})


def richmenu_unlink(call: Call) -> Result:
    call.store.user_rich_menus.pop(call.args["user_id"], None)
    return 200, {}, {}


HANDLERS: dict[str, Callable[[Call], Result]] = {name: globals()[name] for name in (
    "reply", "push", "multicast", "broadcast", "narrowcast", "validate", "quota", "quota_consumption", "profile",
    "bot_info", "loading", "richmenu_create", "richmenu_validate", "richmenu_list", "richmenu_get",
    "richmenu_delete", "richmenu_upload", "richmenu_download", "richmenu_set_default", "richmenu_get_default",
    "richmenu_cancel_default", "richmenu_link", "richmenu_get_user", "richmenu_unlink")}
