"""The site's own Japanese error pages (400-500), on public and admin pages and for any unknown path.

Admin requests (under /admin) keep the admin layout; everything else uses the public base layout. A 500
page says only that something went wrong: the exception is never shown.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("kyodo.web")

TEXTS: dict[int, tuple[str, str]] = {
    400: ("リクエストを受け付けられませんでした",
          "アドレスか入力された内容に、読み取れない文字や値が含まれていました。内容を確かめて、もう一度お試しください。"),
    403: ("権限がありません", "このページを表示・操作する権限がありません。"),
    404: ("ページが見つかりません", "お探しのページや項目は見つかりませんでした。アドレスが正しいか、お確かめください。"),
    405: ("この操作はできません", "このページでは、その操作を受け付けていません。"),
    # 408, 414, 431, 501 and 503 come from the web server in front of the app (bot/gthread_buffered.py).
    408: ("時間内に受け取れませんでした", "通信が途中で止まりました。電波のよい所で、もう一度お試しください。"),
    413: ("送信された内容が大きすぎます", "入力の量を減らして、もう一度お試しください。"),
    414: ("アドレスが長すぎます", "ページのアドレスが長すぎて、受け付けられませんでした。トップページから開き直してください。"),
    429: ("アクセスが集中しています", "短時間に多くのアクセスがありました。しばらく待ってから、もう一度お試しください。"),
    431: ("リクエストが大きすぎます", "送信された情報が多すぎて、受け付けられませんでした。トップページから開き直してください。"),
    500: ("システムでエラーが発生しました",
          "申し訳ありません。ページを表示できませんでした。時間をおいて、もう一度お試しください。"),
    501: ("この送り方には対応していません", "ページを開き直して、もう一度お試しください。"),
    503: ("ただいま混み合っています", "しばらく待ってから、もう一度お試しください。"),
}

# If even the error page cannot be drawn (e.g. a broken template), and for refusals the web server makes
# before the app sees the request: a page with no moving parts.
_BARE = ('<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head><body>'
         '<main class="error-page" data-status="{status}"><h1>{title}</h1><p>{message}</p>'
         '<p><small>エラー番号 {status}</small></p></main></body></html>')


def texts(status: int) -> tuple[str, str]:
    return TEXTS.get(status) or TEXTS[500 if status >= 500 else 400]


def bare_page(status: int, title: str | None = None, message: str | None = None) -> str:
    """The error page without the site's layout (no template, no request): the texts are ours, not input."""
    default_title, default_message = texts(status)
    return _BARE.format(status=status, title=title or default_title, message=message or default_message)


def _bind_links_without_host() -> None:
    """A Host header Werkzeug cannot use (a DNS label over 63 characters) leaves the request without a URL
    adapter, so every url_for in the layouts would fail. The pages link by path only: bind one to no host."""
    ctx = request_ctx._get_current_object()
    if ctx.url_adapter is None:
        ctx.url_adapter = current_app.url_map.bind("localhost", script_name=request.root_path or "/",
                                                   url_scheme=request.scheme)


def _in_admin() -> bool:
    return request.blueprint == "admin" or request.path == "/admin" or request.path.startswith("/admin/")


def render(status: int, title: str | None = None, message: str | None = None, headers=None):
    """(body, status, headers) of the error page for this request."""
    default_title, default_message = texts(status)
    title, message = title or default_title, message or default_message
    try:
        _bind_links_without_host()
        admin = _in_admin()
        body = render_template("errors/error.html", status=status, title=title, message=message,
                               layout="admin/layout.html" if admin else "base.html", in_admin=admin)
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        log.exception("error page for %s could not be drawn", status)
        body = bare_page(status, title, message)
    return body, status, headers or []


def _http_error(e: HTTPException):
    if e.code is None or e.code < 400:
        return e
    # Allow (405), Retry-After (429) and the like; the body is ours.
    headers = [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]
    return render(e.code, headers=headers)


def _server_error(_e: InternalServerError):
    return render(500)


def install(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
