#!/usr/bin/env python3
"""Slow clients against the Procfile's web command: do /healthz and a signed LINE webhook still answer?

    .venv/bin/python bench/slow_clients.py [--idle 300] [--drip 50] [--drip-body 50] [--seconds 15]
                                           [--drip-every 1] [--web-command "gunicorn ..."] [--database-url URL]

Starts the Procfile's `web:` line (or --web-command) on a free loopback port with a scratch SQLite
database and opens --idle connections that send nothing, --drip connections that send a request head
one byte every --drip-every seconds and --drip-body connections that send a head and drip its body.
Then it probes GET /healthz and a signed POST /callback (each on a new connection) every half second
for --seconds, printing each probe's status and time, and reports when the server closed the slow
connections. tests/test_slow_clients.py uses the same parts.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET, TOKEN = "slow-client-secret", "slow-client-token"


def procfile_web_command(procfile: Path = ROOT / "Procfile") -> str:
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:"):].strip()
    raise RuntimeError("the Procfile has no web: line")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(command: str, port: int, database_url: str) -> subprocess.Popen:
    """The Procfile's web line as a platform runs it: a shell, PORT set, the virtualenv's bin on PATH."""
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "KYODO_SECRET_KEY": "slow-client-test", "KYODO_DEMO": "",
           # Nothing here calls LINE (the web side only stores and acknowledges); point it nowhere.
           "LINE_API_BASE_URL": "http://127.0.0.1:9", "LINE_DATA_API_BASE_URL": "http://127.0.0.1:9",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_web(proc: subprocess.Popen) -> str:
    """Stop the server (its whole process group) and return what it wrote to stderr."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return err.decode(errors="replace")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the web command exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        with contextlib.suppress(OSError):
            if request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 2.0)[0] == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the web command did not answer on port {port}")


def request(port: int, raw: bytes, timeout: float) -> tuple[int, float]:
    """Send one raw request on a new connection; return (status, seconds). Raises on timeout."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(max(0.05, timeout - (time.monotonic() - t0)))
        s.sendall(raw)
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before answering")
            head += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else 0), time.monotonic() - t0


def signed_callback(port: int, timeout: float) -> tuple[int, float]:
    ev = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
          "source": {"type": "user", "userId": "U" + uuid.uuid4().hex},
          "webhookEventId": uuid.uuid4().hex[:26].upper(), "deliveryContext": {"isRedelivery": False},
          "replyToken": uuid.uuid4().hex, "message": {"id": "1", "type": "text", "text": "ヘルプ", "quoteToken": "q"}}
    body = json.dumps({"destination": "Uslow", "events": [ev]}, ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    head = (f"POST /callback HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-Line-Signature: {sig}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return request(port, head + body, timeout)


def healthz(port: int, timeout: float) -> tuple[int, float]:
    return request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", timeout)


# A request head sent one byte at a time never ends: the server must give up on it.
DRIP = b"POST /callback HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 4000
# The same for a body: the head arrives at once and announces more than will ever come.
BODY_HEAD = b"POST /callback HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


@dataclass
class SlowClients:
    """Idle connections (send nothing), connections that drip a request head, and connections that send a
    head and drip its body (one byte every `every` seconds), in that order, watched from one thread, which
    notes when the server closes each."""

    port: int
    idle: int
    drip: int
    drip_body: int = 0
    every: float = 1.0
    opened_at: float = 0.0
    closed_after: dict[int, float] = field(default_factory=dict)  # socket index -> seconds after opening
    _socks: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "SlowClients":
        for i in range(self.idle + self.drip + self.drip_body):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            if i >= self.idle + self.drip:
                s.sendall(BODY_HEAD)
            s.setblocking(False)
            self._socks.append(s)
        self.opened_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for s in self._socks:
            s.close()

    @property
    def open_count(self) -> int:
        return len(self._socks) - len(self.closed_after)

    def _closed(self, i: int) -> None:
        self.closed_after.setdefault(i, time.monotonic() - self.opened_at)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self._socks):
            sel.register(s, selectors.EVENT_READ, i)
        sent = 0
        next_drip = time.monotonic()
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                i = key.data
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # the server closed it (anything it answered first, e.g. 408, is read and dropped)
                    self._closed(i)
                    sel.unregister(key.fileobj)
            if time.monotonic() >= next_drip and sent < len(DRIP):
                for i in range(self.idle, len(self._socks)):
                    if i not in self.closed_after:
                        try:
                            self._socks[i].send(DRIP[sent:sent + 1])
                        except OSError:
                            self._closed(i)
                sent += 1
                next_drip += self.every
        sel.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle", type=int, default=300)
    ap.add_argument("--drip", type=int, default=50, help="connections that drip a request head")
    ap.add_argument("--drip-body", type=int, default=50, help="connections that send a head and drip the body")
    ap.add_argument("--drip-every", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=15.0, help="how long to probe while the slow clients are open")
    ap.add_argument("--linger", type=float, default=20.0, help="then wait this long for the server to close them")
    ap.add_argument("--web-command", help="default: the Procfile's web: line")
    ap.add_argument("--database-url", help="default: a scratch SQLite file")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from bot.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/slow.sqlite3"
        upgrade(url)
        port = free_port()
        command = args.web_command or procfile_web_command()
        print(f"web: {command}", flush=True)
        proc = start_web(command, port, url)
        try:
            wait_ready(port, proc)
            worst = 0.0
            failures = 0
            with SlowClients(port, args.idle, args.drip, args.drip_body, args.drip_every) as slow:
                print(f"{args.idle} idle, {args.drip} head-drip, {args.drip_body} body-drip connections open",
                      flush=True)
                end = time.monotonic() + args.seconds
                while time.monotonic() < end:
                    for name, probe in (("healthz", healthz), ("callback", signed_callback)):
                        try:
                            status, took = probe(port, 5.0)
                        except OSError as e:
                            status, took = type(e).__name__, 5.0
                        worst = max(worst, took)
                        failures += status != 200
                        print(f"  t={time.monotonic() - slow.opened_at:5.1f}s {name:<8} {status} in "
                              f"{took * 1000:6.0f} ms   slow connections still open: {slow.open_count}", flush=True)
                    time.sleep(0.5)
                deadline = time.monotonic() + args.linger
                while slow.open_count and time.monotonic() < deadline:
                    time.sleep(0.2)
                closed = sorted(slow.closed_after.values())
                print(f"probes: {failures} not 200, slowest {worst * 1000:.0f} ms; server closed {len(closed)} of "
                      f"{args.idle + args.drip + args.drip_body} slow connections"
                      + (f", the last {closed[-1]:.1f}s after opening" if closed else ""), flush=True)
            return 1 if failures or slow.open_count else 0
        finally:
            stop_web(proc)


if __name__ == "__main__":
    sys.exit(main())
