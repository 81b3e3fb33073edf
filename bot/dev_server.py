"""`kyodo serve`: Flask's development server, with timeouts so a slow or idle client cannot keep a thread.

For development and the demo only; production serves the app with gunicorn (Procfile, gunicorn.conf.py)
behind a reverse proxy (docs/DEPLOY.md). Werkzeug gives each connection a thread of its own and, left
alone, waits on it forever: a read that waits longer than `timeout` ends the connection, and a request
still not answered after `request_deadline` (a client sending one byte every few seconds never trips the
per-read timeout) has its socket shut down, which ends every read and write on it.
"""
from __future__ import annotations

import logging
import socket
import threading

from werkzeug.serving import WSGIRequestHandler, run_simple


class TimedRequestHandler(WSGIRequestHandler):
    timeout = 10.0  # socketserver applies it to every read and write on the connection
    request_deadline = 60.0  # seconds for one request: head, body, the app and the answer

    def handle_one_request(self) -> None:
        watchdog = threading.Timer(self.request_deadline, self._shut_down)
        watchdog.daemon = True
        watchdog.start()
        try:
            super().handle_one_request()
        finally:
            watchdog.cancel()

    def _shut_down(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def serve(app, host: str, port: int, *, quiet: bool = False) -> None:
    if not quiet:
        app.run(host=host, port=port, threaded=True, use_reloader=False, request_handler=TimedRequestHandler)
        return
    # Quiet (the demo, which prints its own banner with the URLs): no Flask banner (" * Serving Flask app",
    # " * Debug mode"; run_simple instead of app.run), and none of werkzeug's INFO lines: its development-server
    # warning, "Press CTRL+C to quit" and one access-log line per request. Its errors are logged at ERROR and show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=TimedRequestHandler)
