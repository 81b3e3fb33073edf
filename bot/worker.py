"""`kyodo worker`: runs stored webhook events outside the web processes.

With KYODO_DISPATCH_MODE=worker the web processes only verify, store and ack; this process polls
for pending events and runs them in batches (bot/event_batch.py: per-user order, claims, outbox),
delivering the answers from a thread pool while it runs the next batch.
It lowers its own CPU priority so that, on a small machine, acks always win the CPU.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from bot import dispatcher as dsp
from bot import event_batch as eb
from bot import outbox
from bot.logsafe import describe_exception
from bot.runtime import build_runtime

log = logging.getLogger("kyodo.worker")


RETRY_POLL_S = 0.25
GATHER_S = 0.03


def run(config, *, poll_s: float = 0.1, nice: int = 15, stop: threading.Event | None = None) -> int:
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    # Many delivery threads wake on LINE's answers; a short switch interval keeps the batch loops,
    # which give up the GIL on every database round trip, from queueing 5 ms behind them each time.
    sys.setswitchinterval(0.001)
    rt = build_runtime(config)
    from bot.warmup import warm
    warm(rt)
    pool = eb.DeliveryPool(rt, config.delivery_threads)
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set()) if threading.current_thread() is threading.main_thread() else None
    log.info("worker started (%d loops, batches of %d, %d delivery threads)", config.worker_loops,
             config.worker_batch_size, config.delivery_threads)
    # KYODO_WORKER_LOOPS > 1: while one loop waits for the database, another runs its handlers. On 2 cores with
    # 2 worker processes one loop each measured faster, with lower ack latency (less claim contention).
    loops = [threading.Thread(target=_loop, args=(rt, pool, stop, poll_s, False), name=f"batch-{n}", daemon=True)
             for n in range(1, config.worker_loops)]
    for t in loops:
        t.start()
    try:
        _loop(rt, pool, stop, poll_s, True)
    except KeyboardInterrupt:
        stop.set()
    finally:
        for t in loops:
            t.join()
        pool.shutdown()
        rt.close()
    return 0


def _loop(rt, pool: eb.DeliveryPool, stop: threading.Event, poll_s: float, sweeper: bool) -> None:
    config = rt.config
    last_sweep = last_retry = 0.0
    while not stop.is_set():
        if pool.backlog() >= 2 * config.delivery_threads:
            # LINE is slow: claim no more for now. Keeps few answers claimed-but-unsent, which a crash
            # would leave `sending` (a reply then cannot be resent safely).
            stop.wait(0.005)
            continue
        claims, retry = [], []
        try:
            claims = eb.claim_batch(rt, config.worker_batch_size, exclude_keys=pool.busy_keys())
            if claims:
                pool.send(eb.run_batch(rt, claims))
            if time.monotonic() - last_retry > RETRY_POLL_S:  # retries are rare: look now and then
                retry = eb.claim_batch(rt, 1, exclude_keys=pool.busy_keys(), retries=True)
                if retry:
                    eb.run_batch(rt, retry)  # alone, delivered inline
                else:
                    last_retry = time.monotonic()
            if sweeper and time.monotonic() - last_sweep > config.sweep_interval_s:
                dsp.requeue_stale(rt)
                outbox.sweep(rt, settle_s=10.0)
                last_sweep = time.monotonic()
        except Exception as e:  # the database is away: try again shortly; claims time out and are swept
            log.error("worker: %s", describe_exception(e))
            claims, retry = [], []
            stop.wait(1.0)
        if retry:
            continue
        if not claims:
            # Nothing to claim (or only residents whose answer is still being sent): a short nap.
            stop.wait(poll_s / 5 if pool.busy() else poll_s)
        elif len(claims) < config.worker_batch_size // 4:
            # A trickle: let a few more events arrive, so each batch's fixed costs (claims, the plan
            # reads, the commit) are shared by more of them. Adds at most this to an answer's wait.
            stop.wait(GATHER_S)
