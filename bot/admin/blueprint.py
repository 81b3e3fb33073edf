"""The /admin blueprint and what runs around every admin request: a database session, CSRF, the signed-in
account, the policy check; Japanese error pages."""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.admin import auth, policy
from bot.clock import to_tokyo
from models.accounts import ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf = CSRFProtect()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def _before():
    rt = current_app.extensions["kyodo"]
    g.rt = rt
    g.db = rt.sessions()
    g.now = rt.now()
    g.account = None
    # CSRF for the admin only (WTF_CSRF_CHECK_DEFAULT is off app-wide, so /callback stays untouched).
    if request.method not in SAFE_METHODS:
        csrf.protect()
    g.account, g.session_ended = auth.session_account(g.db, g.now)
    return policy.enforce()


@bp.after_request
def _headers(response):
    # Admin pages can show one-time passwords and personal details of staff: never cached, never framed.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.teardown_request
def _close(_exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@bp.context_processor
def _template_helpers():
    account = g.get("account")
    return {
        "current_account": account,
        "can": lambda permission: policy.has(account, permission),
        "role_labels": ROLE_LABELS,
    }


@bp.app_template_filter("tokyo_time")
def tokyo_time(dt, fmt: str = "%Y/%m/%d %H:%M") -> str:
    return to_tokyo(dt).strftime(fmt) if dt else ""


def _error_page(status: int, title: str, message: str):
    return render_template("admin/error.html", title=title, message=message, status=status), status


@bp.errorhandler(CSRFError)
def _csrf_failed(_e):
    return _error_page(400, "送信を受け付けられませんでした",
                       "フォームの有効期限が切れたか、正しくない送信です。ページを読み込み直して、もう一度お試しください。")


@bp.errorhandler(403)
def _forbidden(_e):
    return _error_page(403, "権限がありません", "このページを表示・操作する権限がありません。")


@bp.errorhandler(404)
def _not_found(_e):
    return _error_page(404, "見つかりません", "お探しのページや項目は見つかりませんでした。")


@bp.errorhandler(429)
def _too_many(_e):
    from bot.admin.forms import LoginForm

    form = LoginForm()
    message = "短時間にログインの試行が多すぎます。しばらく待ってから、もう一度お試しください。"
    return render_template("admin/login.html", form=form, error=message), 429
