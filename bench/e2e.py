#!/usr/bin/env python3
"""End to end: from a resident's message to the answer reaching LINE, kyodo side by side with the SDK example.

    .venv/bin/python bench/e2e.py                 # the full run (a few minutes)
    .venv/bin/python bench/e2e.py --quick         # a small smoke run
    .venv/bin/python bench/e2e.py --bots kyodo --latency-ms 100 --modes paced --rate 500

Bots, each started fresh for every run, on loopback:
  kyodo        the Procfile layout: `gunicorn -c gunicorn.conf.py` (KYODO_DISPATCH_MODE=worker) plus
               2 `kyodo worker` processes, a scratch PostgreSQL database with the city plan loaded;
  sdk-sync     bench/baseline_sdk_example.py (the line-bot-sdk's Flask echo example: reply inside the
               request), gunicorn 2 sync workers;
  sdk-gthread  the same, 2 workers x 8 threads.
LINE is bench/fake_line.py (not the project's emulator, which validates every body against the OpenAPI
file and would be the bottleneck): it answers after 0 or 100 ms and records when each reply or push
arrived; its own capacity is measured first and printed.

Load: N signed text events (realistic Japanese texts that hit real intents) from U residents, each with
its own reply token, sent (burst) as fast as `--concurrency` keep-alive connections allow, or (paced) at
a fixed offered rate, open loop: an event's send time is its scheduled time, so queueing in front of a
slow bot counts in its latency. A run stops sending after --max-send-s (the slow baselines at 100 ms
would take minutes); what was not sent by then is reported, not hidden.

Per bot and mode: acks/s and ack p99; answers/s reaching LINE (from the first send to the last answer);
answers by reply and by push; answer latency (event sent -> reply or push arrives at LINE; matched by
reply token, pushes by user in order) p50/p95/p99/max, over every offered event, an unanswered one
counting as infinitely late; CPU ms per event of the bot's processes plus its PostgreSQL backends
(/proc utime+stime, before/after); exactly once (every event answered once, no reply token used twice).
Prints Markdown to stdout, progress to stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (BIN, PG_ADMIN, ROOT, Connection, bot_env, free_port, gunicorn, http_json,  # noqa: E402
                           kyodo_workers, stop, wait_port, webhook_headers)
from bench.fake_line import measure_capacity  # noqa: E402

# What residents type (tests/data/utterances.tsv has hundreds more); each hits a real intent.
TEXTS = ["プロジェクト", "ヘルプ", "ケアタウンって何？", "協働プロジェクト一覧", "どんな取り組みがあるの？",
         "使い方を教えてください", "こんにちは", "地域循環共生圏ってなに", "環境の取り組み知りたい",
         "プロジェクト1", "高齢者の見守り", "今年度の取り組みを教えてください", "イベント", "近くの避難所",
         "介護や福祉の取り組みについて教えてください", "メニュー", "プロジェクト3", "ありがとうございました"]
BOTS = ("kyodo", "sdk-sync", "sdk-gthread")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- CPU from /proc ------------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from `state` on; comm may contain spaces


def descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (f := _stat(int(d.name))):
            children.setdefault(int(f[1]), []).append(int(d.name))
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        if f := _stat(pid):
            out[pid] = int(f[11]) + int(f[12])  # utime + stime
    return out


def cpu_delta_s(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / CLK_TCK


# -- the bots ------------------------------------------------------------------------------------------------

class Bot:
    """One bot under test: start() on a port, its pids for CPU accounting, stop()."""

    def __init__(self, name: str, line_port: int, worker_processes: int) -> None:
        self.name, self.line_port, self.worker_processes = name, line_port, worker_processes
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.stack = contextlib.ExitStack()
        self.url: str | None = None
        self.engine = None

    def start(self) -> None:
        if self.name == "kyodo":
            from sqlalchemy import create_engine

            from bot.db import scratch_postgres
            from bot.migrate import upgrade

            self.url = self.stack.enter_context(scratch_postgres(PG_ADMIN, prefix="kyodo_e2e"))
            upgrade(self.url)
            env = bot_env(dict(os.environ), self.url, self.line_port, "worker")
            subprocess.run([str(BIN / "kyodo"), "plan", "load"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            self.procs.append(gunicorn("bot.app:create_app()", self.port, env))  # the Procfile's web line
            self.procs.extend(kyodo_workers(env, self.worker_processes))  # its worker line
            self.engine = create_engine(self.url)
            self.stack.callback(self.engine.dispose)
        else:
            env = bot_env(dict(os.environ), "sqlite://", self.line_port)
            sizes = {"workers": 2, "threads": 1, "worker_class": "sync"} if self.name == "sdk-sync" else \
                {"workers": 2, "threads": 8, "worker_class": "gthread"}
            self.procs.append(gunicorn("bench.baseline_sdk_example:create_app()", self.port, env, **sizes))
        wait_port(self.port, timeout=60)

    def pids(self) -> list[int]:
        return descendants([p.pid for p in self.procs])

    def pg_pids(self) -> list[int]:
        if self.engine is None:
            return []
        from sqlalchemy import text
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]

    def stored_done(self) -> tuple[int, int] | None:
        if self.engine is None:
            return None
        from sqlalchemy import func, select

        from models.webhook import DONE, WebhookEvent
        with self.engine.connect() as c:
            rows = c.execute(select(func.count()).select_from(WebhookEvent)).scalar()
            done = c.execute(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == DONE)).scalar()
        return rows, done

    def stop(self) -> None:
        stop(self.procs, signal.SIGINT)  # the measurement is over: no graceful drain needed
        self.procs = []
        self.stack.close()


# -- load ----------------------------------------------------------------------------------------------------

@dataclass
class Load:
    users: list[str]
    tokens: list[str]
    texts: list[str]
    send_t: list[float | None] = field(default_factory=list)  # monotonic; the scheduled time when paced
    ack_t: list[float | None] = field(default_factory=list)
    status: list[int] = field(default_factory=list)

    @classmethod
    def make(cls, n: int, n_users: int, rng: random.Random) -> "Load":
        users = [f"U{uuid.uuid4().hex}" for _ in range(n_users)]
        ld = cls(users=[users[i % n_users] for i in range(n)], tokens=[uuid.uuid4().hex for _ in range(n)],
                 texts=[rng.choice(TEXTS) for _ in range(n)])
        ld.send_t, ld.ack_t, ld.status = [None] * n, [None] * n, [0] * n
        return ld

    def body(self, i: int) -> bytes:
        """Built at send time, so the event's timestamp is when it was sent (kyodo checks token age by it)."""
        ev = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
              "source": {"type": "user", "userId": self.users[i]},
              "webhookEventId": uuid.uuid4().hex[:26].upper(), "deliveryContext": {"isRedelivery": False},
              "replyToken": self.tokens[i],
              "message": {"id": str(10**12 + i), "type": "text", "text": self.texts[i], "quoteToken": "q"}}
        return json.dumps({"destination": "Ubench", "events": [ev]}, ensure_ascii=False).encode()

    async def _send(self, conn: Connection, i: int, t_send: float | None = None) -> None:
        body = self.body(i)
        self.send_t[i] = t_send if t_send is not None else time.monotonic()
        try:
            self.status[i] = await conn.post("/callback", body, webhook_headers(body))
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
            self.status[i] = -1
        self.ack_t[i] = time.monotonic()

    async def burst(self, port: int, concurrency: int, max_s: float) -> None:
        it = iter(range(len(self.tokens)))
        deadline = time.monotonic() + max_s

        async def worker() -> None:
            conn = await Connection.open(port)
            for i in it:
                await self._send(conn, i)
                if time.monotonic() > deadline:
                    break
            conn.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def paced(self, port: int, rate: float, max_conns: int, max_s: float) -> None:
        """Open loop: event i is due at t0 + i/rate whatever happened to the others. A due event takes an
        idle connection or opens one (up to max_conns, then it waits: that wait is part of its latency)."""
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        opened = 0
        t0 = time.monotonic() + 0.05
        deadline = t0 + max_s

        async def one(i: int, due: float) -> None:
            nonlocal opened
            if idle.empty() and opened < max_conns:
                opened += 1
                conn = Connection(port)
            else:
                conn = await idle.get()
            if time.monotonic() > deadline:
                self.send_t[i] = due  # offered, never sent: counts as unanswered
                idle.put_nowait(conn)
                return
            await self._send(conn, i, due)
            idle.put_nowait(conn)

        tasks = []
        for i in range(len(self.tokens)):
            due = t0 + i / rate
            if due > deadline:
                break
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        while not idle.empty():
            idle.get_nowait().close()


def pct(sorted_vals: list[float], q: float) -> float:
    return sorted_vals[min(len(sorted_vals) - 1, max(0, int(q * len(sorted_vals) + 0.5) - 1))] if sorted_vals else float("nan")


def analyse(ld: Load, records: list[list]) -> dict:
    """Match what reached LINE to the events: replies by token, pushes by user in send order."""
    index = {tok: i for i, tok in enumerate(ld.tokens)}
    answer_t: dict[int, float] = {}
    by_reply = by_push = reused_tokens = extra = conflicts = 0
    pushes: dict[str, list[float]] = {}
    for t, kind, who, _key, status in records:
        if kind == "reply":
            i = index.get(who)
            if i is None:
                continue
            if status != 200:
                reused_tokens += 1
            elif i in answer_t:
                extra += 1
            else:
                answer_t[i], by_reply = t, by_reply + 1
        elif kind == "push" and status == 200:
            pushes.setdefault(who, []).append(t)
        elif status == 409:
            conflicts += 1
    if pushes:
        per_user: dict[str, list[int]] = {}
        for i, u in enumerate(ld.users):
            if ld.send_t[i] is not None and i not in answer_t:
                per_user.setdefault(u, []).append(i)
        for u, times in pushes.items():
            waiting = sorted(per_user.get(u, []), key=lambda i: ld.send_t[i])
            for t, i in zip(sorted(times), waiting):
                answer_t[i], by_push = t, by_push + 1
            extra += max(0, len(times) - len(waiting))
    offered = [i for i, t in enumerate(ld.send_t) if t is not None]
    sent = [i for i in offered if ld.ack_t[i] is not None]
    acked = [i for i in sent if ld.status[i] == 200]
    first = min(ld.send_t[i] for i in offered)
    lat = sorted((answer_t[i] - ld.send_t[i]) if i in answer_t else float("inf") for i in offered)
    ack_lat = sorted(ld.ack_t[i] - ld.send_t[i] for i in acked)
    last_ack = max((ld.ack_t[i] for i in acked), default=first)
    last_answer = max(answer_t.values(), default=first)
    return {"offered": len(offered), "sent": len(sent), "acked": len(acked), "answered": len(answer_t),
            "acks_per_s": len(acked) / max(1e-9, last_ack - first), "ack_p99_ms": pct(ack_lat, 0.99) * 1000,
            "answers_per_s": len(answer_t) / max(1e-9, last_answer - first), "by_reply": by_reply, "by_push": by_push,
            "p50": pct(lat, 0.50), "p95": pct(lat, 0.95), "p99": pct(lat, 0.99), "max": lat[-1] if lat else float("nan"),
            "reused_tokens": reused_tokens, "extra": extra, "conflicts": conflicts,
            "missing": len(offered) - len(answer_t), "span_s": last_answer - first}


# -- one run -------------------------------------------------------------------------------------------------

async def wait_answers(line: str, want: int, timeout: float, stall: float) -> None:
    t0 = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - t0 < timeout and time.monotonic() - last_change < stall:
        n = http_json(line + "/_fake/stats")["answers"]
        if n >= want:
            return
        if n != seen:
            seen, last_change = n, time.monotonic()
        await asyncio.sleep(0.25)


def run_one(args, bot_name: str, latency_ms: float, mode: str, line: str, line_port: int, rng: random.Random) -> dict:
    http_json(line + "/_fake/config", {"latency_ms": latency_ms})
    http_json(line + "/_fake/reset", {})
    bot = Bot(bot_name, line_port, args.worker_processes)
    t_run = time.monotonic()
    try:
        bot.start()
        warm = Load.make(args.warmup, min(args.warmup, 50), rng)  # imports, pools, first queries
        asyncio.run(warm.burst(bot.port, 10, 60))
        asyncio.run(wait_answers(line, args.warmup, 60, 30))
        time.sleep(0.5)
        if bot.url and not args.no_analyze:
            # Statistics as a database that has been running has them: taken with the queue empty. A
            # fresh database has none until autovacuum's first visit, which lands mid-run or not at all,
            # and the plans differ (this is how a claim plan that read every pending row went unseen).
            from sqlalchemy import create_engine, text
            eng = create_engine(bot.url, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(text("ANALYZE"))
            eng.dispose()
        http_json(line + "/_fake/reset", {})
        t_ready = time.monotonic()

        ld = Load.make(args.events, args.users, rng)
        pids = bot.pids()
        pg_before, cpu_before = cpu_ticks(bot.pg_pids()), cpu_ticks(pids)
        line_before = http_json(line + "/_fake/stats")["cpu_s"]
        me_before = sum(os.times()[:2])
        t0 = time.monotonic()
        if mode == "burst":
            asyncio.run(ld.burst(bot.port, args.concurrency, args.max_send_s))
        else:
            asyncio.run(ld.paced(bot.port, args.rate, args.paced_connections, args.max_send_s))
        send_s = time.monotonic() - t0
        me_cpu = sum(os.times()[:2]) - me_before
        acked = sum(1 for s in ld.status if s == 200)
        asyncio.run(wait_answers(line, acked, args.drain_timeout, args.stall_s))
        time.sleep(1.0)  # a late duplicate would show up here
        cpu_bot = cpu_delta_s(cpu_before, cpu_ticks(pids))
        pg_after = cpu_ticks(bot.pg_pids())
        cpu_pg = cpu_delta_s(pg_before, pg_after)
        line_stats = http_json(line + "/_fake/stats")
        records = http_json(line + "/_fake/records")
        r = analyse(ld, records)
        r.update(bot=bot_name, latency_ms=latency_ms, mode=mode, cpu_bot_ms=cpu_bot * 1000 / max(1, r["sent"]),
                 cpu_pg_ms=cpu_pg * 1000 / max(1, r["sent"]), stored_done=bot.stored_done(),
                 line_busy=(line_stats["cpu_s"] - line_before) / max(1e-9, r["span_s"]),
                 client_busy=me_cpu / max(1e-9, send_s))
        sd = r["stored_done"]
        r["exactly_once"] = (r["missing"] == 0 and r["extra"] == 0 and r["reused_tokens"] == 0
                             and r["acked"] == r["offered"] and (sd is None or sd[0] == sd[1] == r["acked"] + args.warmup))
        log(f"  {bot_name:<11} LINE {latency_ms:>3.0f} ms {mode:<5}: sent {r['sent']}/{args.events}, "
            f"{r['answers_per_s']:.0f} answers/s, p99 {fmt_s(r['p99'])}, missing {r['missing']}, "
            f"LINE stand-in busy {r['line_busy']:.0%}, load client busy {r['client_busy']:.0%}; "
            f"start+warm-up {t_ready - t_run:.1f} s, run {time.monotonic() - t_ready:.1f} s")
        return r
    finally:
        bot.stop()


# -- report --------------------------------------------------------------------------------------------------

def fmt_s(v: float) -> str:
    if v != v:
        return "-"
    if v == float("inf"):
        return "unanswered"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"


def ratio(a: float, b: float) -> str:
    if b == 0 or a != a or b != b:
        return "-"
    if a == float("inf") or b == float("inf"):
        return "-"
    return f"{a / b:.2f}x"


def once(r: dict, args) -> str:
    if r["bot"] != "kyodo" and (r["offered"] < args.events or r["sent"] < r["offered"]):
        return "not all sent"
    return "OK" if r["exactly_once"] else "FAIL"


def table(results: list[dict], args) -> str:
    out = ["| LINE | mode | bot | events sent | acks/s | ack p99 | answers/s | by reply / push | answer p50 | p95 | p99 | max "
           "| CPU ms/event (bot + PostgreSQL) | exactly once |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        mode = "burst" if r["mode"] == "burst" else f"{args.rate:g}/s"
        sent = f"{r['sent']:,}" + (f" of {args.events:,}" if r["offered"] < args.events or r["sent"] < r["offered"] else "")
        out.append(f"| {r['latency_ms']:g} ms | {mode} | {r['bot']} | {sent} | {r['acks_per_s']:,.0f} | {r['ack_p99_ms']:,.0f} ms "
                   f"| {r['answers_per_s']:,.0f} | {r['by_reply']:,} / {r['by_push']:,} | {fmt_s(r['p50'])} | {fmt_s(r['p95'])} "
                   f"| {fmt_s(r['p99'])} | {fmt_s(r['max'])} | {r['cpu_bot_ms'] + r['cpu_pg_ms']:.1f} "
                   f"({r['cpu_bot_ms']:.1f} + {r['cpu_pg_ms']:.1f}) | {once(r, args)} |")
    ky = {(r["latency_ms"], r["mode"]): r for r in results if r["bot"] == "kyodo"}
    base = [r for r in results if r["bot"] != "kyodo" and (r["latency_ms"], r["mode"]) in ky]
    if base:
        out += ["", "kyodo / baseline (answers/s: above 1 is better; latency and CPU: below 1 is better)", "",
                "| LINE | mode | baseline | answers/s | answer p50 | answer p99 | CPU per event |", "|---|---|---|---|---|---|---|"]
        for b in base:
            k = ky[(b["latency_ms"], b["mode"])]
            mode = "burst" if b["mode"] == "burst" else f"{args.rate:g}/s"
            out.append(f"| {b['latency_ms']:g} ms | {mode} | {b['bot']} | {ratio(k['answers_per_s'], b['answers_per_s'])} "
                       f"| {ratio(k['p50'], b['p50'])} | {ratio(k['p99'], b['p99'])} "
                       f"| {ratio(k['cpu_bot_ms'] + k['cpu_pg_ms'], b['cpu_bot_ms'] + b['cpu_pg_ms'])} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    full = {"events": 5000, "users": 1000, "rate": 300.0, "latency_ms": "0,100", "modes": "burst,paced", "warmup": 100}
    quick = {"events": 200, "users": 50, "rate": 100.0, "latency_ms": "0", "modes": "burst", "warmup": 20}
    ap.add_argument("--events", type=int, help=f"events per run (default {full['events']})")
    ap.add_argument("--users", type=int, help=f"distinct residents sending them (default {full['users']})")
    ap.add_argument("--rate", type=float, help=f"offered events/s in paced mode (default {full['rate']:g})")
    ap.add_argument("--latency-ms", help=f"fake LINE's answer delays, comma-separated (default {full['latency_ms']})")
    ap.add_argument("--modes", help=f"burst and/or paced (default {full['modes']})")
    ap.add_argument("--bots", default=",".join(BOTS))
    ap.add_argument("--concurrency", type=int, default=50, help="keep-alive connections in burst mode")
    ap.add_argument("--paced-connections", type=int, default=200, help="most connections open in paced mode")
    ap.add_argument("--worker-processes", type=int, default=2, help="kyodo worker processes (the Procfile's worker line)")
    ap.add_argument("--warmup", type=int, help=f"events sent and answered before measuring (default {full['warmup']})")
    ap.add_argument("--max-send-s", type=float, default=25, help="a run stops sending after this long")
    ap.add_argument("--drain-timeout", type=float, default=240, help="longest wait for the answers after sending")
    ap.add_argument("--stall-s", type=float, default=30, help="stop waiting when no answer arrived for this long")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--no-analyze", action="store_true",
                    help="leave kyodo's scratch database without statistics after the warm-up")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: " + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in quick.items()))
    args = ap.parse_args()
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:  # what is given explicitly wins over --quick
            setattr(args, k, v)
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    if bad := [m for m in modes if m not in ("burst", "paced")] + [b for b in bots if b not in BOTS]:
        ap.error(f"unknown: {', '.join(bad)}")

    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    line_port = free_port()
    line = f"http://127.0.0.1:{line_port}"
    fake = subprocess.Popen([sys.executable, str(ROOT / "bench" / "fake_line.py"), "--port", str(line_port)], cwd=ROOT)
    results = []
    t_start = time.monotonic()
    try:
        wait_port(line_port)
        cap = asyncio.run(measure_capacity(line_port, seconds=1.0 if args.quick else 3.0))
        log(f"fake LINE: {cap['client_rps']:,.0f} answers/s to a 32-connection client, "
            f"{cap['server_cpu_us']:.0f} µs CPU per answer")
        for latency in latencies:
            for mode in modes:
                for b in bots:
                    results.append(run_one(args, b, latency, mode, line, line_port, rng))
    finally:
        stop([fake])
    wall = time.monotonic() - t_start

    print(f"## End to end: {args.events:,} events from {args.users:,} residents, PostgreSQL, {os.cpu_count()} cores\n")
    print(table(results, args))
    busiest = max(r["line_busy"] for r in results)
    print(f"\n- LINE is bench/fake_line.py (not the emulator): alone it answered {cap['client_rps']:,.0f} requests/s to a "
          f"32-connection Python client, using {cap['server_cpu_us']:.0f} µs of CPU per answer (one core: "
          f"~{cap['server_ceiling_rps']:,.0f}/s); during the runs it was at most {busiest:.0%} busy.")
    print(f"- kyodo: Procfile layout (gunicorn -c gunicorn.conf.py, KYODO_DISPATCH_MODE=worker, "
          f"{args.worker_processes} `kyodo worker`); sdk-*: bench/baseline_sdk_example.py, gunicorn 2 sync workers "
          f"or 2 x 8 gthread. Each bot started fresh per run; {args.warmup} warm-up events first"
          + ("." if args.no_analyze else
             ", then kyodo's database ANALYZEd (statistics taken with the queue empty, as in production)."))
    print(f"- burst: {args.concurrency} keep-alive connections; paced: {args.rate:g} events/s open loop (latency from the "
          f"scheduled send). Sending stops after {args.max_send_s:g} s. Latency percentiles count unanswered events as "
          f"infinitely late. CPU: utime+stime of the bot's processes and of its PostgreSQL backends, per event sent.")
    print(f"- load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}; total {wall:.0f} s.")
    print("\nexactly once (kyodo): " + ("OK" if all(r["exactly_once"] for r in results if r["bot"] == "kyodo") else "FAIL"))
    return 0 if all(r["exactly_once"] for r in results if r["bot"] == "kyodo") else 1


if __name__ == "__main__":
    sys.exit(main())
