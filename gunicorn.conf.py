"""gunicorn settings for the web process: the Procfile's `web:` line and bench/webhook.py both use this file.

Behind the reverse proxy in docs/DEPLOY.md, which buffers requests itself; these limits also hold when
gunicorn faces clients directly, so LINE's webhook is answered even while slow clients are connected.
"""
import os

from bot.gthread_buffered import BufferedThreadWorker
from bot.log_format import gunicorn_logconfig

wsgi_app = "bot.app:create_app()"
bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"

# 4 processes x 4 threads: the webhook only verifies, stores and acks (the conversation runs in
# `kyodo worker`), which is database-bound; 16 threads keep 2 cores busy (bench/webhook.py).
workers = 4
threads = 4
# gthread, except that a request is read in the event loop and reaches a thread only once complete:
# an idle or slow client costs a socket, not a thread (bot/gthread_buffered.py).
worker_class = BufferedThreadWorker.with_limits(
    header_timeout=10.0,  # a connection must deliver its request head within 10 s (LINE's take milliseconds)
    body_timeout=10.0,  # and its body within 10 s more (1 MiB at >= 100 KiB/s)
    max_head_bytes=64 * 1024,
    max_body_bytes=1024 * 1024,  # the app refuses larger bodies anyway (Config.max_body_bytes)
    # Staff's image uploads (POST /admin/media, /admin/announcements/new and .../<id>/edit, with a session
    # cookie): KYODO_MAX_UPLOAD_BYTES (10 MiB) and the form around it; nginx allows the same (docs/DEPLOY.md).
    max_upload_body_bytes=12 * 1024 * 1024,
    upload_body_timeout=60.0,  # 12 MiB from a phone at >= 200 KiB/s, when no proxy buffers it first
    io_timeout=10.0,  # a thread writing an answer to a client that stopped reading gives up after 10 s
    max_buffered_bytes=64 * 1024 * 1024,  # all requests being read by one process (503 past it)
    # of which uploads may hold 24 MiB (two photos at the limit): a flood of fake uploads with made-up
    # session cookies gets 503s and leaves 40 MiB for everything else, LINE's webhooks included.
    max_upload_buffered_bytes=24 * 1024 * 1024,
)
# The longest request line (method, path and query, version) gunicorn parses; longer ones get the site's
# Japanese 414. nginx in docs/DEPLOY.md (large_client_header_buffers 4 8k) passes no longer line, so a URL
# is refused the same way whether it stops at nginx or here. 8190 is gunicorn's maximum short of unlimited.
limit_request_line = 8190
# Connections (idle, reading or kept alive) per process before it stops accepting; the rest wait in
# the backlog. A flood larger than this is the reverse proxy's job (limit_conn).
worker_connections = 1000
backlog = 2048
# Kept-alive connections wait in the loop (no thread); longer than the proxy's upstream keepalive_timeout,
# so the proxy, not gunicorn, closes an idle one and never sends on a connection being closed.
keepalive = 75
timeout = 30  # a process that stops heartbeating (stuck) is replaced
graceful_timeout = 20
# gunicorn 27's runtime-control socket lives at one fixed path per user, shared by every instance on the
# machine (tests, benchmarks); the platform's process manager does this job.
control_socket_disable = True
# The app's log lines (kyodo.*) with time, level and logger name, as the worker and scheduler print them.
logconfig_dict = gunicorn_logconfig()
