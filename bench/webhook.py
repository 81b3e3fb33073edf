#!/usr/bin/env python3
"""Webhook ack throughput and latency under gunicorn, against a bare signature-checking Flask app.

    .venv/bin/python bench/webhook.py [--events 5000] [--concurrency 50] [--database-url URL]

Starts the LINE emulator and the bot (gunicorn with the Procfile's gunicorn.conf.py) on loopback with a
scratch PostgreSQL database (default; --database-url sqlite:///... works too), sends N signed text
events from 50 concurrent keep-alive connections, prints events/s and p50/p99 ack latency, then the
same for a bare Flask app that only verifies the signature. Afterwards it waits until the bot has
processed everything and checks every event was processed exactly once: one stored row, one outbox
message and one delivered reply per event.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import runpy
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (BIN, PG_ADMIN, ROOT, Connection, bot_env, free_port, gunicorn, http_json,  # noqa: E402
                           kyodo_workers, stop, wait_port, webhook_headers)


def build_bodies(n: int, users: list[str], tokens: list[str] | None) -> list[bytes]:
    now = int(time.time() * 1000)
    texts = ["ヘルプ", "こんにちは", "プロジェクト", "イベント", "よくわからない"]
    out = []
    for i in range(n):
        ev = {"type": "message", "mode": "active", "timestamp": now + i,
              "source": {"type": "user", "userId": users[i % len(users)]},
              "webhookEventId": uuid.uuid4().hex[:26].upper(), "deliveryContext": {"isRedelivery": False},
              "replyToken": tokens[i] if tokens else uuid.uuid4().hex,
              "message": {"id": str(10**12 + i), "type": "text", "text": texts[i % len(texts)], "quoteToken": "q"}}
        out.append(json.dumps({"destination": "Ubench", "events": [ev]}, ensure_ascii=False).encode())
    return out


async def load(port: int, bodies: list[bytes], concurrency: int) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        conn = await Connection.open(port)
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            t0 = time.perf_counter()
            status = await conn.post("/callback", body, webhook_headers(body))
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies, errors


def report(name: str, wall: float, lat: list[float], errors: int) -> dict:
    lat_ms = sorted(x * 1000 for x in lat)
    p = lambda q: lat_ms[min(len(lat_ms) - 1, int(q * len(lat_ms)))]  # noqa: E731
    r = {"events_per_s": len(lat) / wall, "p50_ms": statistics.median(lat_ms), "p99_ms": p(0.99), "max_ms": lat_ms[-1],
         "errors": errors}
    print(f"{name:<10} {r['events_per_s']:8.0f} events/s   p50 {r['p50_ms']:6.1f} ms   p99 {r['p99_ms']:6.1f} ms   "
          f"max {r['max_ms']:6.1f} ms   non-200: {errors}", flush=True)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--users", type=int, default=500, help="distinct LINE users sending the events")
    ap.add_argument("--workers", type=int, help="gunicorn processes (default: gunicorn.conf.py's)")
    ap.add_argument("--threads", type=int, help="threads per gunicorn process (default: gunicorn.conf.py's)")
    ap.add_argument("--dispatch-mode", choices=("worker", "web"), default="worker",
                    help="worker (the Procfile's layout: a separate `kyodo worker`) or web (pool inside gunicorn)")
    ap.add_argument("--worker-processes", type=int, default=2,
                    help="how many `kyodo worker` processes (one per core drains fastest here)")
    ap.add_argument("--worker-after-acks", action="store_true",
                    help="start `kyodo worker` only after the last ack (measures the ack path alone)")
    ap.add_argument("--database-url", help="default: a scratch PostgreSQL database, dropped afterwards")
    ap.add_argument("--process-timeout", type=float, default=300)
    args = ap.parse_args()

    from bot.db import scratch_postgres
    from bot.migrate import upgrade

    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(scratch_postgres(PG_ADMIN, prefix="kyodo_bench"))
        upgrade(url)
        return run(args, url)


def run(args, url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from models.outbox import OutboxBatch, OutboxMessage
    from models.webhook import DONE, WebhookEvent

    conf = SimpleNamespace(**runpy.run_path(str(ROOT / "gunicorn.conf.py")))
    procs: list[subprocess.Popen] = []
    try:
        emu_port, bot_port, bare_port = free_port(), free_port(), free_port()
        env = bot_env(dict(os.environ), url, emu_port, args.dispatch_mode)
        # The emulator stands in for LINE's servers, which are not on our machine: lower its priority.
        procs.append(subprocess.Popen(["nice", "-n", "10", str(BIN / "kyodo"), "emulator", "--port", str(emu_port), "--webhook-url",
                                       f"http://127.0.0.1:{bot_port}/callback"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(emu_port)
        users = [f"U{uuid.uuid4().hex}" for _ in range(args.users)]
        per_event_users = [users[i % len(users)] for i in range(args.events)]
        tokens = http_json(f"http://127.0.0.1:{emu_port}/_emulator/reply_tokens", {"users": per_event_users})["tokens"]
        http_json(f"http://127.0.0.1:{emu_port}/_emulator/config", {"reply_token_ttl": 3600})

        print(f"{args.events} events, {args.concurrency} concurrent, gunicorn.conf.py "
              f"{args.workers or conf.workers} workers x {args.threads or conf.threads} threads "
              f"({conf.worker_class.__name__}), database {url.split('://')[0]}", flush=True)
        bare = gunicorn("bench.bare_app:create_app()", bare_port, env, workers=args.workers, threads=args.threads)
        procs.append(bare)
        wait_port(bare_port)
        asyncio.run(load(bare_port, build_bodies(200, users, None), args.concurrency))  # warm-up
        base = report("bare flask", *asyncio.run(load(bare_port, build_bodies(args.events, users, None), args.concurrency)))
        bare.terminate()
        bare.wait()

        bot = gunicorn("bot.app:create_app()", bot_port, env, workers=args.workers, threads=args.threads)
        procs.append(bot)
        def start_worker() -> None:
            procs.extend(kyodo_workers(env, args.worker_processes))

        if args.dispatch_mode == "worker" and not args.worker_after_acks:
            start_worker()
        wait_port(bot_port)
        # Same warm-up as the baseline (connections, imports); these events count in the checks below.
        warm = build_bodies(200, users, http_json(f"http://127.0.0.1:{emu_port}/_emulator/reply_tokens",
                                                  {"users": users[:200]})["tokens"])
        asyncio.run(load(bot_port, warm, args.concurrency))
        bodies = build_bodies(args.events, users, tokens)
        kyodo = report("kyodo", *asyncio.run(load(bot_port, bodies, args.concurrency)))
        print(f"ratio      {kyodo['events_per_s'] / base['events_per_s']:.2f} of bare throughput, "
              f"p99 {kyodo['p99_ms'] / base['p99_ms']:.1f}x", flush=True)

        if args.dispatch_mode == "worker" and args.worker_after_acks:
            start_worker()
        total = args.events + len(warm)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        t0 = time.monotonic()
        while True:
            with engine.connect() as c:
                done = c.execute(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == DONE)).scalar()
            if done >= total or time.monotonic() - t0 > args.process_timeout:
                break
            time.sleep(0.5)
        drain = time.monotonic() - t0
        time.sleep(1.0)
        with engine.connect() as c:
            rows = c.execute(select(func.count()).select_from(WebhookEvent)).scalar()
            done = c.execute(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == DONE)).scalar()
            msgs = c.execute(select(func.count()).select_from(OutboxMessage)).scalar()
            by_kind = dict(c.execute(select(OutboxBatch.kind, func.count()).where(OutboxBatch.status == "sent")
                                     .group_by(OutboxBatch.kind)).all())
        sent = http_json(f"http://127.0.0.1:{emu_port}/_emulator/sent?limit=1000000")["records"]
        per_token = {}
        for r in sent:
            per_token[r.get("reply_token")] = per_token.get(r.get("reply_token"), 0) + 1
        dup = sum(1 for k, v in per_token.items() if k and v > 1)
        print(f"processing finished {drain:.1f}s after the last ack; stored {rows}, done {done}, outbox {msgs}, "
              f"sent batches {by_kind}, emulator received {len(sent)}, duplicate replies {dup}")
        ok = rows == done == msgs == len(sent) == total and dup == 0 and kyodo["errors"] == 0
        print("exactly once: " + ("OK" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        stop(procs)

if __name__ == "__main__":
    sys.exit(main())
