"""`kyodo scheduler`: APScheduler 3 running the jobs in one process."""
from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from bot.runtime import build_runtime
from scheduler.jobs import JOBS

log = logging.getLogger("kyodo.scheduler")


class _SkipStillRunning(logging.Filter):
    """A sweep still busy when its next turn comes is skipped by design (max_instances=1): not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


def quiet_apscheduler() -> None:
    """APScheduler logs every run at INFO ("Running job ...", "... executed successfully"), i.e. a line every
    few seconds with nothing to do. The jobs log themselves when a sweep did something; APScheduler's
    other warnings and errors (missed runs, a job that raised) still show."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    sched_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkipStillRunning) for f in sched_log.filters):
        sched_log.addFilter(_SkipStillRunning())


def build_scheduler(rt, jobs=None) -> BlockingScheduler:
    quiet_apscheduler()
    sched = BlockingScheduler(timezone="Asia/Tokyo")
    for job_id, fn, every in jobs or JOBS:
        # coalesce + max_instances=1: after downtime a job runs once, never piled up.
        sched.add_job(fn, "interval", seconds=every, args=[rt], id=job_id, coalesce=True, max_instances=1)
    return sched


def run(config, *, once: bool = False) -> int:
    rt = build_runtime(config)
    if once:
        for _id, fn, _every in JOBS:
            fn(rt)
        return 0
    sched = build_scheduler(rt)
    for _id, fn, _every in JOBS:
        fn(rt)  # once at start: picks up whatever a crash left behind
    # Once: a group SIGTERM (timeout, a process manager) is followed by the demo's own while this process exits.
    signal.signal(signal.SIGTERM, lambda *_: sched.running and sched.shutdown(wait=False))
    log.info("scheduler running %d jobs", len(JOBS))
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
