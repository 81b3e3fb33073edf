"""`kyodo scheduler`: APScheduler 3 running the jobs in one process."""
from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from bot.runtime import build_runtime
from scheduler.jobs import JOBS

log = logging.getLogger("kyodo.scheduler")


def run(config, *, once: bool = False) -> int:
    rt = build_runtime(config)
    if once:
        for _id, fn, _every in JOBS:
            fn(rt)
        return 0
    sched = BlockingScheduler(timezone="Asia/Tokyo")
    for job_id, fn, every in JOBS:
        # coalesce + max_instances=1: after downtime a job runs once, never piled up.
        sched.add_job(fn, "interval", seconds=every, args=[rt], id=job_id, coalesce=True, max_instances=1)
        fn(rt)  # once at start: picks up whatever a crash left behind
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    log.info("scheduler running %d jobs", len(JOBS))
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
