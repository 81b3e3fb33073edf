#!/usr/bin/env python3
"""One announcement to every subscribed resident, through `kyodo deliver` and the project's LINE emulator.

    .venv/bin/python bench/fanout.py                    # 200,000 residents (the target run)
    .venv/bin/python bench/fanout.py --residents 20000  # a quick check

A scratch PostgreSQL database (created and dropped here) gets N following residents with notifications on
and quiet hours off; one announcement (topic city, which every resident hears by default) is published;
then `kyodo deliver` runs as its own process (the Procfile's delivery line) against the emulator with its
rate limit on at LINE's 200 multicast requests/s. Prints the wall time (process start -> publication done,
and first call -> last call), batches/s, peak RSS of the delivery process (VmHWM), the emulator's CPU while
it served the run, how many 429s it answered, and whether the emulator's record has every id exactly once.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (BIN, PG_ADMIN, ROOT, SECRET, TOKEN, bot_env, free_port, http_json, stop,  # noqa: E402
                           wait_port)

NEWS = [{"type": "text", "text": "小田原市からのお知らせです。今週末は市内各地で防災訓練を行います。"}]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the emulator serves from a gunicorn worker)."""
    from bench.e2e import CLK_TCK, cpu_ticks, descendants

    return sum(cpu_ticks(descendants([pid])).values()) / CLK_TCK


def seed(url: str, n: int) -> None:
    """n residents in two statements (generate_series): LINE ids U + md5, notifications on, quiet hours off."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (line_user_id, active, created_at, followed_at) "
                       "SELECT 'U' || md5('bench' || g), true, now(), now() FROM generate_series(1, :n) g"), {"n": n})
        c.execute(text("INSERT INTO preferences (user_id, frequency, quiet_start, quiet_end, topics_chosen, updated_at) "
                       "SELECT id, 'now', NULL, NULL, false, now() FROM users"))
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()


def publish_one(url: str) -> int:
    from bot.db import make_engine, make_sessions
    from bot.publish import publish

    engine = make_engine(url, pool_size=1)
    with make_sessions(engine)() as db:
        pub = publish(db, messages=NEWS, topic="city", purpose="announcement", title="防災訓練のお知らせ",
                      ref="bench:fanout")
        db.commit()
        pid = pub.id
    engine.dispose()
    return pid


def status_of(url_engine, pid: int) -> str:
    from sqlalchemy import text

    with url_engine.connect() as c:
        return c.execute(text("SELECT status FROM publications WHERE id = :p"), {"p": pid}).scalar_one()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--residents", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=200, help="the emulator's multicast rate limit (requests/s)")
    ap.add_argument("--threads", type=int, default=8, help="KYODO_FANOUT_THREADS")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    from bot.db import scratch_postgres
    from bot.migrate import upgrade

    procs: list[subprocess.Popen] = []
    with scratch_postgres(PG_ADMIN, prefix="kyodo_fanout") as url:
        upgrade(url)
        t = time.monotonic()
        seed(url, args.residents)
        log(f"{args.residents:,} residents seeded in {time.monotonic() - t:.1f} s")
        line_port = free_port()
        emu_env = {**os.environ, "PYTHONPATH": str(ROOT), "LINE_CHANNEL_SECRET": SECRET,
                   "LINE_CHANNEL_ACCESS_TOKEN": TOKEN}
        emu = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(line_port), "--quiet"], cwd=ROOT,
                               env=emu_env, stdout=subprocess.DEVNULL)
        procs.append(emu)
        try:
            wait_port(line_port, timeout=60)
            line = f"http://127.0.0.1:{line_port}"
            http_json(line + "/_emulator/rate_limit", {"per_second": args.rate})
            pid = publish_one(url)
            env = {**bot_env(dict(os.environ), url, line_port), "KYODO_FANOUT_THREADS": str(args.threads),
                   "KYODO_FANOUT_RATE": str(args.rate)}
            engine = create_engine(url)
            emu_cpu0 = cpu_s(emu.pid)
            t0, wall0 = time.monotonic(), time.time()
            deliver = subprocess.Popen([str(BIN / "kyodo"), "deliver"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(deliver)
            peak = 0.0
            while status_of(engine, pid) != "done":
                peak = max(peak, peak_rss_mb(deliver.pid) or 0.0)
                if deliver.poll() is not None:
                    log(deliver.stderr.read().decode(errors="replace")[-3000:])
                    raise SystemExit("kyodo deliver exited early")
                if time.monotonic() - t0 > args.timeout:
                    raise SystemExit(f"not done after {args.timeout:.0f} s")
                time.sleep(0.05)
            wall = time.monotonic() - t0
            peak = max(peak, peak_rss_mb(deliver.pid) or 0.0)
            emu_cpu = cpu_s(emu.pid) - emu_cpu0
            stop([deliver])
            records = http_json(line + "/_emulator/sent?kind=multicast")["records"]
            reqs = http_json(line + "/_emulator/requests?limit=20000")["requests"]
            with engine.connect() as c:
                expected = set(c.execute(text("SELECT line_user_id FROM users")).scalars())
                started, finished = c.execute(text("SELECT started_at, finished_at FROM publications WHERE id = :p"),
                                              {"p": pid}).one()
            engine.dispose()
        finally:
            stop(procs)
    got = Counter(uid for r in records for uid in r["to"])
    exactly_once = set(got) == expected and set(got.values()) == {1}
    span = (max(r["at"] for r in records) - min(r["at"] for r in records)) if records else float("nan")
    first_call = (min(r["at"] for r in records) - wall0) if records else float("nan")
    calls = [r for r in reqs if r["path"].endswith("/multicast")]
    n429 = sum(1 for r in calls if r["status"] == 429)
    print(f"| residents | batches | wall (deliver start -> done) | start -> first call | first -> last call | batches/s "
          f"| peak RSS deliver | emulator CPU | 429s | exactly once |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.residents:,} | {len(records)} | {wall:.2f} s | {first_call:.2f} s | {span:.2f} s | {len(records) / span:.0f} | "
          f"{peak:.0f} MB | {emu_cpu:.1f} s ({emu_cpu / wall:.0%} of wall) | {n429} | "
          f"{'OK' if exactly_once else 'FAIL'} |")
    log(f"publication: sending started {started}, done {finished}")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
