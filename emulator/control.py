"""The emulator's own HTTP API (/_emulator/...) and the chat page at /: what developers, the chat page and other
processes use to play the resident's side and to inspect what the bot sent."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from werkzeug.wrappers import Request, Response

from .ids import is_user_id
from .schema import REPO_ROOT
from .webhooks import WebhookError

if TYPE_CHECKING:
    from .core import LineEmulator

HERE = Path(__file__).resolve().parent
DISTRICTS_FILE = REPO_ROOT / "cities" / "odawara" / "districts.yaml"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=_default), status=status,
                    content_type="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _body(request: Request) -> dict:
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def load_districts(path: Path = DISTRICTS_FILE) -> list[dict]:
    """[{name, kana, lat, lon}] from districts.yaml (top-level `districts:`, each with center {lat, lon} or null)."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    items = doc.get("districts") if isinstance(doc, dict) else doc
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        center = item.get("center") if isinstance(item.get("center"), dict) else {}
        out.append({"name": item["name"], "kana": item.get("kana"),
                    "lat": center.get("lat", item.get("lat")), "lon": center.get("lon", item.get("lon"))})
    return out


@lru_cache(maxsize=1)
def _page_parts() -> tuple[str, str, str]:
    return ((HERE / "templates" / "chat.html").read_text(encoding="utf-8"),
            (HERE / "static" / "chat.css").read_text(encoding="utf-8"),
            (HERE / "static" / "chat.js").read_text(encoding="utf-8"))


def chat_page() -> str:
    """One self-contained page: CSS and JS are inlined so it works offline and from any origin."""
    html, css, js = _page_parts()
    return html.replace("/*__CHAT_CSS__*/", css).replace("/*__CHAT_JS__*/", js)


def handle(emu: "LineEmulator", request: Request) -> Response:
    path, method = request.path.rstrip("/") or "/", request.method
    if path == "/" and method == "GET":
        return Response(chat_page(), content_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})
    if path == "/favicon.ico":
        return Response(status=204)
    route = ROUTES.get((method, path))
    if route is not None:
        return route(emu, request)
    if method == "GET" and path.startswith("/_emulator/richmenu/") and path.endswith("/image"):
        return richmenu_image(emu, path.split("/")[3])
    return _json({"message": "Not found"}, 404)


def sent(emu: "LineEmulator", request: Request) -> Response:
    user = request.args.get("user") or None
    records = emu.store.sent(user=user, kind=request.args.get("kind") or None,
                             since=_int(request.args.get("since"), 0))
    return _json({"records": records, "last_seq": emu.store.last_seq})


def timeline(emu: "LineEmulator", request: Request) -> Response:
    user = request.args.get("user", "")
    items, last = emu.store.timeline_for(user, _int(request.args.get("since"), 0))
    state = emu.store.users.get(user)
    return _json({"items": items, "last": last, "blocked": bool(state and state.blocked),
                  "known": state is not None})


def requests_(emu: "LineEmulator", request: Request) -> Response:
    limit = max(1, _int(request.args.get("limit"), 100))
    return _json({"requests": emu.requests[-limit:]})


def faults(emu: "LineEmulator", request: Request) -> Response:
    body = _body(request)
    try:
        emu.inject(body.get("endpoint", "any"), str(body.get("mode", "")), count=_int(body.get("count"), 1),
                   retry_after=body.get("retry_after"), hang_seconds=body.get("hang_seconds"))
    except ValueError as exc:
        return _json({"message": str(exc)}, 400)
    return _json({"ok": True})


def rate_limit(emu: "LineEmulator", request: Request) -> Response:
    emu.set_rate_limit(_body(request).get("per_second"))
    return _json({"ok": True})


def reset(emu: "LineEmulator", request: Request) -> Response:
    emu.reset()
    return _json({"ok": True})


def send(emu: "LineEmulator", request: Request) -> Response:
    body = _body(request)
    user, kind = body.get("user"), body.get("type", "text")
    if not is_user_id(user):
        return _json({"message": "user must be a LINE user id (U + 32 hex)"}, 400)
    if body.get("displayName"):
        emu.set_profile(user, body["displayName"])
    try:
        if kind == "text":
            status, event = emu.send_text(user, str(body.get("text", "")))
        elif kind == "postback":
            status, event = emu.send_postback(user, str(body.get("data", "")), params=body.get("params") or None,
                                              display_text=body.get("displayText"))
        elif kind == "location":
            status, event = emu.send_location(user, float(body["latitude"]), float(body["longitude"]),
                                              title=body.get("title"), address=body.get("address"))
        elif kind == "sticker":
            status, event = emu.send_sticker(user, str(body.get("packageId", "446")),
                                             str(body.get("stickerId", "1988")))
        elif kind == "follow":
            status, event = emu.send_follow(user)
        elif kind == "unfollow":
            status, event = emu.send_unfollow(user)
        else:
            return _json({"message": f"unknown type {kind!r}"}, 400)
    except WebhookError as exc:
        return _json({"status": None, "error": str(exc)}, 502)
    except (KeyError, TypeError, ValueError) as exc:
        return _json({"message": f"bad request: {exc}"}, 400)
    return _json({"status": status, "event": event})


def redeliver(emu: "LineEmulator", request: Request) -> Response:
    event_id = _body(request).get("webhookEventId")
    event = emu.store.events.get(event_id)
    if event is None:
        return _json({"message": "unknown webhookEventId"}, 404)
    try:
        status, again = emu.redeliver(event)
    except WebhookError as exc:
        return _json({"status": None, "error": str(exc)}, 502)
    return _json({"status": status, "event": again})


def districts(emu: "LineEmulator", request: Request) -> Response:
    return _json(load_districts())


def config(emu: "LineEmulator", request: Request) -> Response:
    if request.method == "POST":
        body = _body(request)
        if "webhook_url" in body:
            emu.webhook_url = body["webhook_url"] or None
        if "reply_token_ttl" in body:
            emu.reply_token_ttl = float(body["reply_token_ttl"])
    return _json({"webhook_url": emu.webhook_url, "bot_user_id": emu.bot_user_id,
                  "reply_token_ttl": emu.reply_token_ttl})


def reply_tokens(emu: "LineEmulator", request: Request) -> Response:
    """Issue reply tokens for webhooks posted by someone else (the webhook benchmark builds its own)."""
    users = _body(request).get("users") or []
    if not isinstance(users, list) or not all(is_user_id(u) for u in users):
        return _json({"message": "users must be a list of LINE user ids"}, 400)
    return _json({"tokens": [emu._issue_reply_token(u) for u in users]})


def richmenu(emu: "LineEmulator", request: Request) -> Response:
    """The rich menu a user sees: their linked one, else the default (only if it has an image)."""
    user = request.args.get("user", "")
    with emu.store.lock:
        rid = emu.store.user_rich_menus.get(user) or emu.store.default_rich_menu
        menu = emu.store.rich_menus.get(rid) if rid else None
        if menu is None or rid not in emu.store.rich_menu_images:
            return _json({"richMenu": None})
        return _json({"richMenu": menu, "image": f"/_emulator/richmenu/{rid}/image"})


def richmenu_image(emu: "LineEmulator", rid: str) -> Response:
    image = emu.store.rich_menu_images.get(rid)
    if image is None:
        return _json({"message": "Not found"}, 404)
    return Response(image[1], content_type=image[0])


ROUTES = {
    ("GET", "/_emulator/sent"): sent,
    ("GET", "/_emulator/timeline"): timeline,
    ("GET", "/_emulator/requests"): requests_,
    ("POST", "/_emulator/faults"): faults,
    ("POST", "/_emulator/rate_limit"): rate_limit,
    ("POST", "/_emulator/reset"): reset,
    ("POST", "/_emulator/send"): send,
    ("POST", "/_emulator/redeliver"): redeliver,
    ("GET", "/_emulator/districts"): districts,
    ("GET", "/_emulator/config"): config,
    ("POST", "/_emulator/config"): config,
    ("GET", "/_emulator/richmenu"): richmenu,
    ("POST", "/_emulator/reply_tokens"): reply_tokens,
}
