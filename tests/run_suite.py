"""`make test`: the suite on SQLite and on PostgreSQL, each half under its own heading, then one summary line.

    make test: SQLite 231 passed, 2 skipped (41 s) · PostgreSQL 231 passed (52 s)

The two halves run at the same time (two processes: the machine has two cores, and much of each half waits on
sockets, child processes and the database), but read as if one ran after the other: the SQLite half's output
as it comes, the PostgreSQL half's held back until the SQLite half is done, then the rest of it as it comes.
--serial runs one half after the other instead. Each half's time is its own, from its start to its end.

Exits non-zero if either half failed (the summary is printed anyway). Without a PostgreSQL server a
newcomer gets the SQLite half and a note; in CI (CI set) the missing server fails the run.
Usage: python -m tests.run_suite [--pg-admin-url URL] [--only sqlite|postgresql] [--serial] [pytest args...]
"""
from __future__ import annotations

import argparse
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# pytest's last line, e.g. "1 failed, 230 passed, 2 skipped in 41.23s" (with or without ===== around it).
COUNTS = re.compile(r"^=*\s*(\d+ [a-z]+(?:, \d+ [a-z]+)*) in [\d.]+s\b")


@dataclass
class Half:
    label: str
    ok: bool
    text: str


@dataclass
class Running:
    """One half's pytest process; its output lines are queued by a reader thread (None once it has ended)."""

    label: str
    proc: subprocess.Popen
    started: float
    lines: queue.Queue = field(default_factory=queue.Queue)
    ended: float | None = None

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.proc.wait()
        self.ended = time.monotonic()
        self.lines.put(None)


def start_half(label: str, env: dict[str, str], pytest_args: list[str]) -> Running:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if sys.stdout.isatty():
        cmd.append("--color=yes")
    if "PYTEST_DEBUG_TEMPROOT" not in env:
        # Each half's tmp_path folders under a root of its own, so one half's clean-up of old ones never
        # meets the other's (pytest keeps the last three runs there).
        root = Path(tempfile.gettempdir()) / f"kyodo-make-test-{os.getuid()}" / label.lower()
        root.mkdir(parents=True, exist_ok=True)
        env = {**env, "PYTEST_DEBUG_TEMPROOT": str(root)}
    proc = subprocess.Popen([*cmd, *pytest_args], env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1)
    half = Running(label, proc, time.monotonic())
    threading.Thread(target=half.read, name=f"read-{label}", daemon=True).start()
    return half


def finish_half(half: Running) -> Half:
    """Print the half under its heading (what it has written so far, then the rest as it comes); its summary."""
    print(f"== make test: {half.label} ==", flush=True)
    counts = None
    # Passed through line by line, so the half still reads as pytest wrote it.
    while (line := half.lines.get()) is not None:
        sys.stdout.write(line)
        sys.stdout.flush()
        found = COUNTS.match(re.sub(r"\x1b\[[0-9;]*m", "", line).strip())
        if found:
            counts = found.group(1)
    code = half.proc.returncode
    seconds = round((half.ended or time.monotonic()) - half.started)
    if counts is None:
        counts = f"pytest exited {code} without a summary"
    return Half(half.label, code == 0, f"{half.label} {counts} ({seconds} s)")


def postgres_reachable(url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no server for the tests"
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--serial", action="store_true", help="run the halves one after the other")
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = pytest_args or ["tests"]
    env = {k: v for k, v in os.environ.items() if k not in ("KYODO_TEST_DB", "KYODO_TEST_PG_ADMIN_URL")}

    # What to run: (label, env) per half, or (label, None, note, ok) for a PostgreSQL half that cannot run.
    plan: list[tuple] = []
    if args.only in (None, "sqlite"):
        plan.append(("SQLite", env))
    if args.only in (None, "postgresql"):
        url = make_url(args.pg_admin_url)
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        if postgres_reachable(args.pg_admin_url):
            plan.append(("PostgreSQL", {**env, "KYODO_TEST_DB": "postgresql",
                                        "KYODO_TEST_PG_ADMIN_URL": args.pg_admin_url}))
        elif os.environ.get("CI") or args.only == "postgresql":
            plan.append(("PostgreSQL", None, f"make test: PostgreSQL is required here but is not reachable at {where}",
                         Half("PostgreSQL", False, f"PostgreSQL not reachable at {where}")))
        else:
            plan.append(("PostgreSQL", None, f"make test: no PostgreSQL at {where}, so only the SQLite half ran",
                         Half("PostgreSQL", True, f"PostgreSQL not run (no server at {where})")))

    halves: list[Half] = []
    running: dict[str, Running] = {}
    try:
        if not args.serial:
            running = {step[0]: start_half(step[0], step[1], pytest_args) for step in plan if step[1] is not None}
        for step in plan:
            if step[1] is None:
                print(step[2], flush=True)
                halves.append(step[3])
                continue
            half = running.get(step[0]) or running.setdefault(step[0], start_half(step[0], step[1], pytest_args))
            halves.append(finish_half(half))
    finally:  # interrupted (Ctrl-C): no half goes on running on its own
        for half in running.values():
            if half.proc.poll() is None:
                half.proc.terminate()
                try:
                    half.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    half.proc.kill()

    print("make test: " + " · ".join(h.text for h in halves), flush=True)
    return 0 if all(h.ok for h in halves) else 1


if __name__ == "__main__":
    sys.exit(main())
