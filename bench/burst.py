#!/usr/bin/env python3
"""A push to many residents, and many of them answering at once while the fan-out is still running.

    .venv/bin/python bench/burst.py                                   # 20,000 residents, 4,000 answers at 400/s
    .venv/bin/python bench/burst.py --residents 4000 --answers 800    # a quick check

The Procfile layout on a scratch PostgreSQL database with the city plan loaded (bench/e2e.py's Bot): gunicorn
(KYODO_DISPATCH_MODE=worker), 2 `kyodo worker`, plus `kyodo deliver` (the delivery line). LINE is
bench/fake_line.py (answers after --latency-ms, records arrival times on CLOCK_MONOTONIC). N following
residents are seeded (notifications on, quiet hours off), one announcement to all of them is published, and
as soon as its first multicast reaches LINE, A of those residents send a signed text message each, paced at
--rate events/s (open loop: an event's send time is its scheduled time). Prints: answer latency p50/p99/max
(event sent -> reply or push at LINE), answers that went as pushes, unanswered ones, the fan-out's wall time
(publish -> publication done) and whether every resident got the announcement exactly once.
Target (issue 15): every answer a reply, p99 < 2 s, fan-out < 10 s.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import BIN, ROOT, bot_env, free_port, http_json, stop, wait_port  # noqa: E402
from bench.e2e import Bot, Load, analyse, fmt_s  # noqa: E402

NEWS = [{"type": "text", "text": "小田原市からのお知らせです。ご意見があれば、このトークでお送りください。"}]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def seed(url: str, n: int) -> list[str]:
    """n following residents (LINE ids U + md5), notifications on, quiet hours off; returns their LINE ids."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (line_user_id, active, created_at, followed_at) "
                       "SELECT 'U' || md5('burst' || g), true, now(), now() FROM generate_series(1, :n) g"), {"n": n})
        c.execute(text("INSERT INTO preferences (user_id, frequency, quiet_start, quiet_end, topics_chosen, updated_at) "
                       "SELECT id, 'now', NULL, NULL, false, now() FROM users "
                       "WHERE id NOT IN (SELECT user_id FROM preferences)"))
        ids = list(c.execute(text("SELECT line_user_id FROM users WHERE line_user_id LIKE 'U%' ORDER BY id")).scalars())
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return ids


def publish_all(url: str) -> int:
    from bot.db import make_engine, make_sessions
    from bot.publish import publish

    engine = make_engine(url, pool_size=1)
    with make_sessions(engine)() as db:
        pid = publish(db, messages=NEWS, topic="city", title="ご意見募集", ref="bench:burst").id
        db.commit()
    engine.dispose()
    return pid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--residents", type=int, default=20_000)
    ap.add_argument("--answers", type=int, default=4_000)
    ap.add_argument("--rate", type=float, default=400, help="answers offered per second")
    ap.add_argument("--latency-ms", type=float, default=0, help="fake LINE's answer delay")
    ap.add_argument("--worker-processes", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    line_port = free_port()
    line = f"http://127.0.0.1:{line_port}"
    fake = subprocess.Popen([sys.executable, str(ROOT / "bench" / "fake_line.py"), "--port", str(line_port),
                             "--latency-ms", str(args.latency_ms)], cwd=ROOT, stdout=subprocess.DEVNULL)
    bot = Bot("kyodo", line_port, args.worker_processes)
    deliver: subprocess.Popen | None = None
    try:
        wait_port(line_port)
        bot.start()
        warm = Load.make(50, 50, rng)  # imports, pools, first queries of the web and the workers
        asyncio.run(warm.burst(bot.port, 10, 60))
        time.sleep(2.0)
        residents = seed(bot.url, args.residents)
        env = bot_env(dict(os.environ), bot.url, line_port, "worker")
        deliver = subprocess.Popen([str(BIN / "kyodo"), "deliver"], cwd=ROOT, env=env,  # the Procfile's delivery line
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # started and idle, as in production
        http_json(line + "/_fake/reset", {})

        from sqlalchemy import create_engine, text
        engine = create_engine(bot.url)
        t_pub = time.monotonic()
        pid = publish_all(bot.url)
        done_at: list[float] = []

        def watch() -> None:  # the fan-out's end, seen within 50 ms while the answers are being sent
            while not done_at and time.monotonic() - t_pub < args.timeout:
                with engine.connect() as c:
                    if c.execute(text("SELECT status FROM publications WHERE id = :p"), {"p": pid}).scalar() == "done":
                        done_at.append(time.monotonic())
                        return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        while not any(r[1] == "multicast" for r in http_json(line + "/_fake/records")):
            if time.monotonic() - t_pub > 30:
                raise SystemExit("no multicast within 30 s")
            time.sleep(0.02)
        log(f"first multicast {time.monotonic() - t_pub:.2f} s after publishing; answers start")
        chosen = rng.sample(residents, min(args.answers, len(residents)))
        ld = Load.make(len(chosen), len(chosen), rng)
        ld.users = chosen
        asyncio.run(ld.paced(bot.port, args.rate, 200, args.answers / args.rate + 15))
        acked = sum(1 for s in ld.status if s == 200)
        t_end = time.monotonic() + args.timeout
        while time.monotonic() < t_end:
            records = http_json(line + "/_fake/records")
            answered = sum(1 for r in records if r[1] in ("reply", "push") and r[4] == 200)
            if done_at and answered >= acked:
                break
            time.sleep(0.1)
        watcher.join(1.0)
        fan_wall = (done_at[0] - t_pub) if done_at else None
        time.sleep(1.0)  # a late duplicate would show up here
        records = http_json(line + "/_fake/records")
        engine.dispose()
    finally:
        if deliver is not None:
            stop([deliver])
        bot.stop()
        stop([fake])
    r = analyse(ld, records)
    multicasts = [rec for rec in records if rec[1] == "multicast" and rec[4] == 200]
    got = Counter(u for rec in multicasts for u in rec[2])
    once = set(got) == set(residents) and set(got.values()) == {1}
    span = (max(rec[0] for rec in multicasts) - min(rec[0] for rec in multicasts)) if multicasts else float("nan")
    print("| residents | answers sent (acked) | by reply / push | unanswered | answer p50 | p99 | max "
          "| fan-out wall (publish -> done) | first -> last multicast | announcement exactly once |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.residents:,} | {r['sent']:,} ({r['acked']:,}) | {r['by_reply']:,} / {r['by_push']:,} | {r['missing']:,} "
          f"| {fmt_s(r['p50'])} | {fmt_s(r['p99'])} | {fmt_s(r['max'])} "
          f"| {'not done' if fan_wall is None else f'{fan_wall:.1f} s'} | {span:.1f} s | {'OK' if once else 'FAIL'} |")
    ok = once and r["by_push"] == 0 and r["missing"] == 0 and r["extra"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
