"""The application factory (as in Flask's tutorial): no module-level app, engine or session."""
from __future__ import annotations

import logging
import sys
import threading

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from bot.config import Config, ConfigError, from_env, require_secrets
from bot.runtime import Runtime, build_runtime

# The largest id a URL may name: PostgreSQL's `integer` (and far below SQLite's 64 bits). A bigger number
# in a path is simply not found (404), instead of an overflow in the database driver.
MAX_URL_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` with an upper bound; negative numbers do not match either (404)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - Werkzeug's parameter name
        kwargs.setdefault("max", MAX_URL_INT)
        super().__init__(map, *args, **kwargs)


def create_app(config: Config | None = None, *, runtime: Runtime | None = None, start_workers: bool = True) -> Flask:
    try:
        config = config or (runtime.config if runtime else from_env())
        if not (config.demo or config.testing):
            require_secrets(config)
    except ConfigError as e:
        # Under gunicorn too: one line for the operator, not a traceback; 3 is gunicorn's
        # "worker failed to boot", which stops the arbiter instead of restarting workers forever.
        print(str(e), file=sys.stderr, flush=True)
        raise SystemExit(3) from None
    rt = runtime or build_runtime(config)

    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    app.config.update(
        SECRET_KEY=config.secret_key or "dev-only",
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        TESTING=config.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["kyodo"] = rt
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added

    from bot import error_pages, health, request_guard, security_headers, webhook

    app.wsgi_app = webhook.WebhookMiddleware(app.wsgi_app, rt)  # type: ignore[method-assign]
    if config.trusted_proxies:
        # Outermost, so the webhook, the login throttle and request.is_secure all see the client's address
        # and scheme; only as many X-Forwarded-* hops as there are proxies of our own are believed.
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    request_guard.install(app)
    error_pages.install(app)
    security_headers.install(app)
    app.register_blueprint(health.bp)
    for register in _feature_blueprints():
        register(app)

    @app.context_processor
    def _city() -> dict:
        from models.plan import city_name

        try:
            with rt.sessions() as db:
                return {"city_name": city_name(db, default="")}
        except SQLAlchemyError:  # an error page must still render while the database is down
            return {"city_name": ""}

    if start_workers and rt.dispatcher is None and config.dispatch_mode == "web":
        from bot.dispatcher import Dispatcher, sweep

        rt.dispatcher = Dispatcher(rt, config.dispatch_workers)
        # Events a previous process left behind are picked up at start, without delaying start-up.
        threading.Thread(target=lambda: sweep(rt, older_than_s=0), name="startup-sweep", daemon=True).start()
        if not config.testing:  # tests build many apps on small data; a served process warms up beside start-up
            from bot.warmup import warm
            threading.Thread(target=warm, args=(rt,), name="warmup", daemon=True).start()
    logging.getLogger("kyodo").setLevel(logging.INFO)
    return app


def _feature_blueprints():
    """Later steps (admin, public plan pages) add their `register(app)` here."""
    from bot import event_pages, home, media, place_pages, plan_pages, volunteer_pages
    from bot import admin
    return [home.register, plan_pages.register, event_pages.register, place_pages.register,
            volunteer_pages.register, media.install, admin.register]
