"""The web admin under /admin: accounts and roles for staff, organisations and survey teams.

`register(app)` is called from bot/app.py. Pieces: blueprint.py (request hooks, error pages), policy.py
(who may do what: the one place), auth.py (passwords, lock-out, session), audit.py, forms.py, views_*.py,
dashboard.py, cli.py (`kyodo admin ...`), demo.py (demo accounts).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from bot.admin import auth

# Per client address, in front of the per-account lock-out (auth.MAX_FAILED_LOGINS): generous enough for
# an office behind one address, tight enough to stop guessing across many accounts.
LOGIN_RATE = "20 per 10 minutes"


def register(app: Flask) -> None:
    from bot.admin import (views_accounts, views_announcements, views_audit, views_auth, views_home,  # noqa: F401
                           views_notices)  # (routes)
    from bot.admin import views_follows, views_media, views_staff_link  # noqa: F401  (routes: images, LINE link, follows)
    from bot.admin import views_events, views_opendata, views_places  # noqa: F401  (routes: step 7)
    from bot.admin import views_volunteer  # noqa: F401  (routes: step 8)
    from bot.admin import views_survey_results, views_surveys  # noqa: F401  (routes: step 9)
    from bot.admin import views_faq  # noqa: F401  (routes: step 10)
    from bot.admin.blueprint import bp, csrf

    rt = app.extensions["kyodo"]
    cfg = rt.config
    local = cfg.testing or cfg.demo
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not local,  # plain http only for tests and the local demo
        PERMANENT_SESSION_LIFETIME=auth.SESSION_LIFETIME,
        # CSRF is checked by the admin blueprint itself (blueprint.py), not app-wide: the LINE webhook
        # (/callback) is authenticated by its signature and must never ask for a token.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=int(timedelta(hours=8).total_seconds()),
    )
    csrf.init_app(app)
    app.register_blueprint(bp)

    # RATELIMIT_STORAGE_URI: "memory://" (the default) counts per process, fine for the demo and one web
    # process; several workers share one count through Redis ("redis://127.0.0.1:6379/0"). If Redis is
    # unreachable, each process counts in memory until it is back rather than refusing logins; the
    # per-account lock-out is in the database and holds across processes either way. The client address is
    # the proxy's unless KYODO_TRUSTED_PROXIES lets ProxyFix (bot/app.py) take it from X-Forwarded-For.
    uri = cfg.ratelimit_storage_uri
    options = {"socket_connect_timeout": 1, "socket_timeout": 1} if uri.startswith(("redis://", "rediss://")) else {}
    limiter = Limiter(get_remote_address, app=app, storage_uri=uri, storage_options=options,
                      key_prefix=cfg.ratelimit_key_prefix, in_memory_fallback_enabled=True,
                      default_limits=[], headers_enabled=False)
    rate = cfg.extra.get("admin_login_rate", LOGIN_RATE)
    app.view_functions["admin.login"] = limiter.limit(rate, methods=["POST"])(app.view_functions["admin.login"])
    app.extensions["kyodo_admin_limiter"] = limiter
