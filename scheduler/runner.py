"""`kyodo scheduler`: APScheduler 3 running the jobs in one process.

Only the holder of the database lease (scheduler/lease.py) runs jobs: a second scheduler started by
mistake stands by, and takes over if the first one dies. When a scheduler takes the lease (at start, or
taking over) it sweeps once and runs each calendar job's latest slot if that slot never ran: runs missed
during downtime run once, not once per missed interval.
"""
from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.logsafe import describe_exception
from bot.runtime import build_runtime
from scheduler.jobs import JOBS, cron_jobs
from scheduler.lease import CronJob, Lease, holder_id, run_slot

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


def _gated(fn, lease: Lease | None):
    """`fn` runs only while this process holds the lease (renewed in the database just before)."""
    if lease is None:
        return fn

    def run(*args):
        if lease.confirm():
            return fn(*args)
        return None

    run.__name__ = getattr(fn, "__name__", "job")
    return run


def _cron(job: CronJob, holder: str):
    def run(rt) -> None:
        run_slot(rt, job, holder)

    run.__name__ = job.id
    return run


def on_lease_taken(rt, jobs, cron: list[CronJob], holder: str) -> None:
    """Pick up what a crash or an outage left: one sweep of each kind, each calendar job's missed slot once."""
    steps = [(job_id, fn) for job_id, fn, _every in jobs] + [(job.id, _cron(job, holder)) for job in cron]
    for job_id, fn in steps:
        try:  # one failing step must not keep the others from running
            fn(rt)
        except Exception as e:
            log.error("%s failed at start: %s", job_id, describe_exception(e))


def build_scheduler(rt, jobs=None, *, lease: Lease | None = None, cron: list[CronJob] | tuple = (),
                    background: bool = False) -> BaseScheduler:
    quiet_apscheduler()
    jobs = jobs or JOBS
    sched = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Tokyo")
    for job_id, fn, every in jobs:
        # coalesce + max_instances=1: after downtime a job runs once, never piled up.
        sched.add_job(_gated(fn, lease), "interval", seconds=every, args=[rt], id=job_id, coalesce=True,
                      max_instances=1)
    holder = lease.holder if lease is not None else holder_id()
    for job in cron:
        # The slot's claim in job_runs makes a fire that comes late, or twice, run once.
        sched.add_job(_gated(_cron(job, holder), lease), job.trigger, args=[rt], id=job.id, coalesce=True,
                      max_instances=1, misfire_grace_time=int(job.grace.total_seconds()))
    if lease is not None:
        lease.on_acquired = lambda: sched.add_job(
            _gated(on_lease_taken, lease), "date", args=[rt, jobs, list(cron), holder], id="lease_taken",
            replace_existing=True, misfire_grace_time=None)
    return sched


def run(config, *, once: bool = False) -> int:
    rt = build_runtime(config)
    cron = cron_jobs(config)
    lease = Lease(rt.engine, rt.now, ttl_s=config.scheduler_lease_s)
    if once:
        if not lease.confirm():
            log.warning("another scheduler holds the lease: nothing run")
            return 1
        try:
            on_lease_taken(rt, JOBS, cron, lease.holder)
        finally:
            lease.stop()
        return 0
    sched = build_scheduler(rt, lease=lease, cron=cron)
    # Once: a group SIGTERM (timeout, a process manager) is followed by the demo's own while this process exits.
    signal.signal(signal.SIGTERM, lambda *_: sched.running and sched.shutdown(wait=False))
    lease.start()  # takes the lease (on_acquired queues the start-up sweep and catch-up) or stands by
    log.info("scheduler running %d jobs%s", len(JOBS) + len(cron),
             "" if lease.held() else " once it holds the lease (another scheduler has it)")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lease.stop()
    return 0
