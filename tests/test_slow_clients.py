"""Slow clients cannot starve the web process.

The Procfile's own `web:` line (gunicorn.conf.py) runs as a subprocess on a scratch database. While 300
connections send nothing, 50 send a request head one byte a second and 50 send a head and then its body
one byte a second, /healthz and signed LINE webhooks
(plain, chunked, two pipelined on one kept-alive connection) must keep answering within 2 s; afterwards
every slow connection must have been closed by the server within its header timeout. The old layout
(plain gthread) held a thread per slow client and left /healthz unanswered. `kyodo serve`, the
development server, must drop an idle and a dripping client too.
"""
from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.slow_clients import (
    SECRET, SlowClients, free_port, healthz, procfile_web_command, request, signed_callback, start_web,
    stop_web, wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
IDLE, DRIP, DRIP_BODY = 300, 50, 50
PROBE_FOR_S = 10.0
ANSWER_WITHIN_S = 2.0


def chunked_callback(port: int, timeout: float) -> tuple[int, float]:
    """The same signed webhook, its body sent with Transfer-Encoding: chunked in two chunks."""
    import base64
    import hashlib
    import hmac

    body = b'{"destination":"Uslow","events":[]}'
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    head = (f"POST /callback HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-Line-Signature: {sig}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:])) + b"0\r\n\r\n"
    return request(port, head + chunks, timeout)


def pipelined_healthz(port: int, timeout: float) -> tuple[int, float]:
    """Two requests written at once on one kept-alive connection: both must be answered."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    answers = got.count(b"HTTP/1.1 200 ")
    return (200 if answers == 2 else 0), time.monotonic() - t0


PROBES = {"healthz": healthz, "signed webhook": signed_callback, "chunked webhook": chunked_callback,
          "two pipelined": pipelined_healthz}


@pytest.fixture()
def procfile_web(database_url):
    port = free_port()
    proc = start_web(procfile_web_command(), port, database_url)
    try:
        wait_ready(port, proc)
        yield port
    finally:
        log = stop_web(proc)
        assert "Traceback" not in log, log[-3000:]


def test_slow_clients_do_not_starve_the_procfile_web_process(procfile_web):
    port = procfile_web
    worker = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["worker_class"]
    # The body drippers' heads arrive at once, so both kinds are due at about the same time.
    assert worker.header_timeout == worker.body_timeout
    header_timeout = worker.header_timeout
    slow_answers = []
    with SlowClients(port, IDLE, DRIP, DRIP_BODY, every=1.0) as slow:
        end = time.monotonic() + PROBE_FOR_S
        rounds = 0
        while time.monotonic() < end:
            for name, probe in PROBES.items():
                try:
                    status, took = probe(port, ANSWER_WITHIN_S)
                except OSError as e:  # timed out or refused: not answered
                    status, took = type(e).__name__, ANSWER_WITHIN_S
                if status != 200 or took >= ANSWER_WITHIN_S:
                    slow_answers.append(f"t={time.monotonic() - slow.opened_at:.1f}s {name}: {status} in {took:.2f}s "
                                        f"({slow.open_count} slow connections open)")
            rounds += 1
            time.sleep(0.3)
        assert not slow_answers, "answered late or not at all:\n" + "\n".join(slow_answers)
        assert rounds >= 10

        # The loop checks deadlines once a second; allow that and a busy machine on top.
        limit = header_timeout + 3.0
        while slow.open_count and time.monotonic() - slow.opened_at < limit:
            time.sleep(0.2)
        closed = slow.closed_after
        total = IDLE + DRIP + DRIP_BODY
        assert len(closed) == total, (f"{total - len(closed)} of {total} slow connections still open "
                                      f"{limit:.0f}s after opening (header and body timeouts {header_timeout}s)")
        assert max(closed.values()) < limit
        # Not before the timeout either: the drip clients were still sending, and were allowed to.
        assert min(closed.values()) > header_timeout - 1.5


def test_dev_server_drops_idle_and_dripping_clients(database_url):
    """`kyodo serve` (Werkzeug, a thread per connection) with its timeouts shortened to keep the test fast."""
    port = free_port()
    code = ("import sys; from bot.dev_server import TimedRequestHandler as H; H.timeout = 1.0; "
            "H.request_deadline = 3.0; from bot.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": "t", "KYODO_SECRET_KEY": "dev-server-test", "KYODO_DEMO": ""}
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(port, proc)
        with SlowClients(port, idle=5, drip=5, drip_body=5, every=0.5) as slow:
            while slow.open_count and time.monotonic() - slow.opened_at < 8.0:
                time.sleep(0.1)
            assert slow.open_count == 0, f"{slow.open_count} of 15 slow connections still open after 8 s"
            idle = [slow.closed_after[i] for i in range(5)]
            drip = [slow.closed_after[i] for i in range(5, 15)]
        assert max(idle) < 3.0  # the per-read timeout (1 s)
        assert 2.0 < min(drip) and max(drip) < 6.0  # the request deadline (3 s): each read came in time
        assert healthz(port, 2.0)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
