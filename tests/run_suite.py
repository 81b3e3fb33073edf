"""`make test`: the suite on SQLite, then on PostgreSQL, each half under its own heading, then one summary line.

    make test: SQLite 231 passed, 2 skipped (41 s) · PostgreSQL 231 passed (52 s)

Exits non-zero if either half failed (the summary is printed anyway). Without a PostgreSQL server a
newcomer gets the SQLite half and a note; in CI (CI set) the missing server fails the run.
Usage: python -m tests.run_suite [--pg-admin-url URL] [--only sqlite|postgresql] [pytest args...]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# pytest's last line, e.g. "1 failed, 230 passed, 2 skipped in 41.23s" (with or without ===== around it).
COUNTS = re.compile(r"^=*\s*(\d+ [a-z]+(?:, \d+ [a-z]+)*) in [\d.]+s\b")


@dataclass
class Half:
    label: str
    ok: bool
    text: str


def run_half(label: str, env: dict[str, str], pytest_args: list[str]) -> Half:
    print(f"== make test: {label} ==", flush=True)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if sys.stdout.isatty():
        cmd.append("--color=yes")
    started = time.monotonic()
    counts = None
    # Output is passed through line by line, so the half still reads as pytest wrote it.
    with subprocess.Popen([*cmd, *pytest_args], env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            found = COUNTS.match(re.sub(r"\x1b\[[0-9;]*m", "", line).strip())
            if found:
                counts = found.group(1)
        code = proc.wait()
    seconds = round(time.monotonic() - started)
    if counts is None:
        counts = f"pytest exited {code} without a summary"
    return Half(label, code == 0, f"{label} {counts} ({seconds} s)")


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
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = pytest_args or ["tests"]
    env = {k: v for k, v in os.environ.items() if k not in ("KYODO_TEST_DB", "KYODO_TEST_PG_ADMIN_URL")}
    halves: list[Half] = []

    if args.only in (None, "sqlite"):
        halves.append(run_half("SQLite", env, pytest_args))
    if args.only in (None, "postgresql"):
        url = make_url(args.pg_admin_url)
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        if postgres_reachable(args.pg_admin_url):
            pg_env = {**env, "KYODO_TEST_DB": "postgresql", "KYODO_TEST_PG_ADMIN_URL": args.pg_admin_url}
            halves.append(run_half("PostgreSQL", pg_env, pytest_args))
        elif os.environ.get("CI") or args.only == "postgresql":
            print(f"make test: PostgreSQL is required here but is not reachable at {where}", flush=True)
            halves.append(Half("PostgreSQL", False, f"PostgreSQL not reachable at {where}"))
        else:
            print(f"make test: no PostgreSQL at {where}, so only the SQLite half ran", flush=True)
            halves.append(Half("PostgreSQL", True, f"PostgreSQL not run (no server at {where})"))

    print("make test: " + " · ".join(h.text for h in halves), flush=True)
    return 0 if all(h.ok for h in halves) else 1


if __name__ == "__main__":
    sys.exit(main())
