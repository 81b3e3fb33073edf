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
import threading
import time

from bot import dispatcher as dsp
from bot import event_batch as eb
from bot import outbox
from bot.logsafe import describe_exception
from bot.runtime import build_runtime

log = logging.getLogger("kyodo.worker")


def run(config, *, poll_s: float = 0.1, nice: int = 5, stop: threading.Event | None = None) -> int:
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    rt = build_runtime(config)
    pool = eb.DeliveryPool(rt, config.delivery_threads)
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set()) if threading.current_thread() is threading.main_thread() else None
    log.info("worker started (batches of %d, %d delivery threads)", config.worker_batch_size, config.delivery_threads)
    last_sweep = 0.0
    try:
        while not stop.is_set():
            try:
                claims = eb.claim_batch(rt, config.worker_batch_size, exclude_keys=pool.busy_keys())
                if claims:
                    pool.send(eb.run_batch(rt, claims))
                retry = eb.claim_batch(rt, 1, exclude_keys=pool.busy_keys(), retries=True)
                if retry:
                    eb.run_batch(rt, retry)  # alone, delivered inline
                    claims += retry
                if time.monotonic() - last_sweep > config.sweep_interval_s:
                    dsp.requeue_stale(rt)
                    outbox.sweep(rt)
                    last_sweep = time.monotonic()
            except Exception as e:  # the database is away: try again shortly; claims time out and are swept
                log.error("worker: %s", describe_exception(e))
                claims = []
                stop.wait(1.0)
            if not claims:
                # Nothing to claim (or only residents whose answer is still being sent): a short nap.
                stop.wait(poll_s / 5 if pool.busy() else poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        pool.shutdown()
        rt.close()
    return 0
