"""Job bodies. Each is safe to run in two processes at once (claims are conditional UPDATEs)."""
from __future__ import annotations

import logging

from bot import dispatcher, outbox

log = logging.getLogger("kyodo.jobs")


def sweep_webhooks(rt) -> None:
    n = dispatcher.sweep(rt, older_than_s=10.0, inline=True)
    if n:
        log.info("sweeper: processed events of %d users left behind", n)


def sweep_outbox(rt) -> None:
    n = outbox.sweep(rt)
    if n:
        log.info("sweeper: delivered %d outbox batches", n)


def prune_publications(rt) -> None:
    from scheduler import retention  # reads publications: imported when the job runs

    retention.run(rt)


def event_reminders(rt) -> None:
    from scheduler import event_reminders as reminders  # publishes: imported by the scheduler only

    reminders.run(rt)


def extend_event_series(rt) -> None:
    from bot.event_occurrences import extend_all

    with rt.sessions() as db:
        extend_all(db, now=rt.now())
        db.commit()


def volunteer(rt) -> None:
    from scheduler import volunteer_jobs  # publishes: imported by the scheduler only

    volunteer_jobs.run(rt)


def surveys(rt) -> None:
    from scheduler import survey_jobs  # publishes: imported by the scheduler only

    survey_jobs.run(rt)


def faq(rt) -> None:
    from scheduler import faq_jobs

    faq_jobs.run(rt)


# (id, function, seconds between runs)
JOBS = [
    ("sweep_webhooks", sweep_webhooks, 30),
    ("sweep_outbox", sweep_outbox, 15),
    ("prune_publications", prune_publications, 24 * 3600),  # scheduler/retention.py
    ("event_reminders", event_reminders, 300),  # scheduler/event_reminders.py
    ("extend_event_series", extend_event_series, 24 * 3600),  # bot/event_occurrences.py
    ("volunteer", volunteer, 120),  # scheduler/volunteer_jobs.py: offers that timed out, reminders, thanks
    ("surveys", surveys, 300),  # scheduler/survey_jobs.py: closing, the one reminder
    ("faq", faq, 24 * 3600),  # scheduler/faq_jobs.py: not-understood texts unseen for 90 days are deleted
]


def cron_jobs(config) -> list:
    """Calendar jobs (scheduler/lease.py: CronJob): each slot runs once, claimed in job_runs; slots missed
    while no scheduler ran run once, as the latest, when one starts."""
    from scheduler import digest, fiscal_year  # they publish: imported by the scheduler only

    jobs = [fiscal_year.JOB]
    weekly = digest.job(config.digest_at)
    if weekly is not None:
        jobs.append(weekly)
    return jobs
