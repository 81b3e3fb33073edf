"""What the benchmarks share: signed webhook bodies, a keep-alive HTTP client, starting gunicorn and the
Procfile's `kyodo worker` processes, stopping what was started; for the in-process benches, the scratch
databases, a runtime on a frozen clock, percentiles and progress lines."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bot.demo import wait_port  # noqa: E402,F401  (re-exported for the benches)

SECRET, TOKEN = "bench-secret", "bench-token"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BIN = Path(sys.executable).parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


def backends(only: str | None, pg_admin: str = PG_ADMIN):
    """(name, url) of each database asked for (--only): a scratch SQLite file, then a scratch PostgreSQL database,
    each removed when the loop moves on."""
    from bot.db import scratch_postgres

    if only != "postgresql":
        with tempfile.TemporaryDirectory() as d:
            yield "SQLite", f"sqlite:///{d}/bench.sqlite3"
    if only != "sqlite":
        with scratch_postgres(pg_admin, prefix="kyodo_bench") as url:
            yield "PostgreSQL", url


@contextmanager
def bench_runtime(url: str, now: datetime):
    """The schema brought up to date and a runtime on a clock frozen at `now`, closed afterwards."""
    from bot.clock import FrozenClock
    from bot.config import Config
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    upgrade(url)
    cfg = Config(database_url=url, line_channel_secret="bench", line_channel_access_token="bench",
                 secret_key="bench", testing=True)
    rt = build_runtime(cfg, clock=FrozenClock(now))
    try:
        yield rt
    finally:
        rt.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Line-Signature": sign(body)}


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it (gunicorn's sync
    workers close after every response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, port: int) -> "Connection":
        c = cls(port)
        await c._connect()
        return c

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Sends, reads the whole answer, returns its status."""
        if self.writer is None:
            await self._connect()
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode("latin-1").partition(":")
            if k.lower() == "content-length":
                length = int(v)
            elif k.lower() == "connection" and "close" in v.lower():
                close = True
        await self.reader.readexactly(length)
        if close or not status_line:
            self.close()
        parts = status_line.split()
        return int(parts[1]) if len(parts) > 1 else 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def bot_env(base: dict, database_url: str, line_port: int, dispatch_mode: str = "worker") -> dict:
    """Environment for kyodo (and the baselines) talking to a LINE stand-in on loopback."""
    line = f"http://127.0.0.1:{line_port}"
    # The code beside this script, even when another checkout is the one installed in the venv.
    path = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    return {**base, "PYTHONPATH": path, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "KYODO_SECRET_KEY": "bench", "DATABASE_URL": database_url, "KYODO_DEMO": "",
            "KYODO_DISPATCH_MODE": dispatch_mode, "LINE_API_BASE_URL": line, "LINE_DATA_API_BASE_URL": line}


def gunicorn(app: str, port: int, env: dict, *, workers: int | None = None, threads: int | None = None,
             worker_class: str | None = None) -> subprocess.Popen:
    """gunicorn with the Procfile's settings (gunicorn.conf.py: worker class, timeouts, keep-alive), so the
    bench measures what production runs; only what is passed here, the address and the log level differ."""
    extra = [*(["--workers", str(workers)] if workers else []), *(["--threads", str(threads)] if threads else []),
             *(["--worker-class", worker_class] if worker_class else [])]
    return subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), *extra,
                             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app], cwd=ROOT, env=env)


def kyodo_workers(env: dict, n: int) -> list[subprocess.Popen]:
    """The Procfile's `worker:` line, n times."""
    # BENCH_LOG_DIR=/some/dir keeps each worker's log (worker-<n>.log) for a look after the run.
    log_dir = os.environ.get("BENCH_LOG_DIR")
    return [subprocess.Popen([str(BIN / "kyodo"), "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(Path(log_dir) / f"worker-{i}.log", "ab") if log_dir else subprocess.DEVNULL)
            for i in range(n)]


def stop(procs: list[subprocess.Popen], sig: int = signal.SIGTERM) -> None:
    """Stops them all (SIGINT makes gunicorn shut down at once instead of gracefully)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
