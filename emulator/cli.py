"""Foreground entry point (`kyodo emulator`, `python -m emulator`)."""
from __future__ import annotations

import argparse
import os

from .core import LineEmulator


def run(host: str = "127.0.0.1", port: int = 8090, webhook_url: str | None = None, channel_secret: str = "s",
        access_token: str = "t", openapi_path: str | None = None, log_requests: bool = True) -> None:
    """Serve until interrupted. Refuses non-loopback hosts unless KYODO_EMULATOR_ALLOW_PUBLIC=1 (it has no auth
    on its control API)."""
    if host not in ("127.0.0.1", "localhost", "::1") and os.environ.get("KYODO_EMULATOR_ALLOW_PUBLIC") != "1":
        raise SystemExit(f"refusing to listen on {host}: the emulator is for loopback only")
    emu = LineEmulator(channel_secret=channel_secret, access_token=access_token, webhook_url=webhook_url,
                       host=host, port=port, openapi_path=openapi_path, log_requests=log_requests)
    print(f"LINE emulator: {emu.base_url}  (chat page: {emu.base_url}/)", flush=True)
    target = webhook_url or '(not set; POST /_emulator/config {"webhook_url": "..."})'
    print(f"  webhook -> {target}", flush=True)
    if os.environ.get("KYODO_EMULATOR_SERVER", "gunicorn") == "gunicorn":
        _serve_gunicorn(emu, host, port)
        return
    server = emu._make_server()
    emu._server = server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _serve_gunicorn(emu: LineEmulator, host: str, port: int) -> None:
    """One gunicorn worker (the emulator's state lives in memory) with threads and HTTP keep-alive,
    as LINE's API has; werkzeug's development server closes every connection, which would make the
    bot open a new TCP connection per call and skew the benchmarks."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread", "threads": 32,
                               "keepalive": 30, "timeout": 0, "loglevel": "warning", "accesslog": None}.items():
                self.cfg.set(key, value)

        def load(self):
            return emu.wsgi_app

    _App().run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local LINE Messaging API emulator")
    parser.add_argument("--host", default=os.environ.get("KYODO_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("KYODO_EMULATOR_PORT", "8090")))
    parser.add_argument("--webhook-url", default=os.environ.get("KYODO_WEBHOOK_URL"))
    parser.add_argument("--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET", "s"))
    parser.add_argument("--access-token", default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "t"))
    parser.add_argument("--openapi", default=None, help="path to messaging-api.yml")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    run(args.host, args.port, args.webhook_url, args.channel_secret, args.access_token, args.openapi,
        log_requests=not args.quiet)
