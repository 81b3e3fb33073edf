"""The /admin blueprint and what runs around every admin request: a database session, CSRF, the signed-in
account, the policy check; Japanese error pages."""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot import error_pages
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
    # Admin pages can show one-time passwords and personal details of staff: never cached. (Framing,
    # sniffing and the referrer are handled for every page by bot/security_headers.py.)
    response.headers.setdefault("Cache-Control", "no-store")
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


# Other errors (403, 404, 405, 500, ...) get the site's pages in the admin layout (bot/error_pages.py).
@bp.errorhandler(CSRFError)
def _csrf_failed(_e):
    return error_pages.render(400, "送信を受け付けられませんでした",
                              "フォームの有効期限が切れたか、正しくない送信です。ページを読み込み直して、もう一度お試しください。")


@bp.errorhandler(429)
def _too_many(_e):
    from bot.admin.forms import LoginForm

    form = LoginForm()
    message = "短時間にログインの試行が多すぎます。しばらく待ってから、もう一度お試しください。"
    return render_template("admin/login.html", form=form, error=message), 429
