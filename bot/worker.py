"""`kyodo worker`: runs stored webhook events outside the web processes.

With KYODO_DISPATCH_MODE=worker the web processes only verify, store and ack; this process polls
for pending events and runs them through the same Dispatcher (per-user order, claims, outbox).
It lowers its own CPU priority so that, on a small machine, acks always win the CPU.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from bot import dispatcher as dsp
from bot import outbox
from bot.runtime import build_runtime

log = logging.getLogger("kyodo.worker")


def run(config, *, poll_s: float = 0.1, nice: int = 5, stop: threading.Event | None = None) -> int:
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    rt = build_runtime(config)
    rt.dispatcher = dsp.Dispatcher(rt, config.dispatch_workers)
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set()) if threading.current_thread() is threading.main_thread() else None
    log.info("worker started (%d threads)", config.dispatch_workers)
    last_sweep = 0.0
    try:
        while not stop.is_set():
            keys = dsp.pending_user_keys(rt, older_than_s=0)
            if keys:
                rt.dispatcher.submit(keys)
            if time.monotonic() - last_sweep > config.sweep_interval_s:
                dsp.requeue_stale(rt)
                outbox.sweep(rt)
                last_sweep = time.monotonic()
            # With work queued, poll again once the pool has drained; otherwise sleep briefly.
            if keys:
                rt.dispatcher.wait_idle(timeout=1.0)
            else:
                stop.wait(poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()
    return 0
