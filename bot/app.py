"""The application factory (as in Flask's tutorial): no module-level app, engine or session."""
from __future__ import annotations

import logging
import sys
import threading

from flask import Flask

from bot.config import Config, ConfigError, from_env, require_secrets
from bot.runtime import Runtime, build_runtime


def create_app(config: Config | None = None, *, runtime: Runtime | None = None, start_workers: bool = True) -> Flask:
    config = config or (runtime.config if runtime else from_env())
    if not (config.demo or config.testing):
        try:
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

    from bot import health, webhook

    app.wsgi_app = webhook.WebhookMiddleware(app.wsgi_app, rt)  # type: ignore[method-assign]
    app.register_blueprint(health.bp)
    for register in _feature_blueprints():
        register(app)

    @app.context_processor
    def _city() -> dict:
        from models.plan import city_name

        with rt.sessions() as db:
            return {"city_name": city_name(db, default="")}

    if start_workers and rt.dispatcher is None and config.dispatch_mode == "web":
        from bot.dispatcher import Dispatcher, sweep

        rt.dispatcher = Dispatcher(rt, config.dispatch_workers)
        # Events a previous process left behind are picked up at start, without delaying start-up.
        threading.Thread(target=lambda: sweep(rt, older_than_s=0), name="startup-sweep", daemon=True).start()
    logging.getLogger("kyodo").setLevel(logging.INFO)
    return app


def _feature_blueprints():
    """Later steps (admin, public plan pages) add their `register(app)` here."""
    from bot import plan_pages
    from bot import admin
    return [plan_pages.register, admin.register]
