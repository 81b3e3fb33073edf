"""Keep publication_recipients rows only as long as they are needed (a daily scheduler job).

A publication's recipient rows say which resident got which push: `kyodo deliver` needs them while it
sends, report() counts them, and the 24-hour block count (bot/admin/follows.py) needs a day after the
last push. Two days after a publication finished its counts are final: they are stored on the
publication (`Publication.summary`, what report() then returns) and its rows are deleted. Kept, they
would only grow (20,000 residents x a few pushes a week is millions of rows a year) and hold, for every
resident, a list of what the city sent them and when: personal data nobody needs any more. Deleting it
is a privacy gain as much as a saving; what stays is counts, never who.

Also deletes the daily cap's counts (push_counts) of days before yesterday.

Each publication is pruned in short transactions (the summary, then one users.id range of rows at a
time), every step conditional or idempotent, so a crash, a restart or two schedulers at once leave
nothing half done that the next run does not finish.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from bot.fanout import jst_day
from bot.publish import recipient_counts
from models.publications import CANCELLED, DONE, Publication, PublicationRecipient, PushCount

log = logging.getLogger("kyodo.jobs")

KEEP = timedelta(days=2)  # after the publication finished: the 24-hour block count is final by then
SPAN = 25_000             # users.id range per DELETE transaction (a short lock, a bounded WAL burst)
EVERY_S = 24 * 3600       # scheduler/jobs.py: once a day (and once when a scheduler takes the lease)

PR = PublicationRecipient


def due(db, now: datetime) -> list[int]:
    """Publications finished more than KEEP ago whose rows are not yet pruned (or not all of them)."""
    left = select(PR.publication_id).where(PR.publication_id == Publication.id).exists()
    return list(db.scalars(select(Publication.id).where(
        Publication.status.in_((DONE, CANCELLED)), Publication.finished_at < now - KEEP,
        Publication.summary.is_(None) | left).order_by(Publication.id)))


def prune_publication(rt, pid: int) -> int:
    """Store the publication's counts, then delete its recipient rows; returns the rows deleted."""
    with rt.sessions() as db:
        if db.scalar(select(Publication.summary).where(Publication.id == pid)) is None:
            summary = recipient_counts(db, pid)
            # Conditional: a second scheduler that got here first has stored the same counts.
            db.execute(update(Publication).where(Publication.id == pid, Publication.summary.is_(None))
                       .values(summary=summary).execution_options(synchronize_session=False))
            db.commit()
        lo, top = db.execute(select(func.min(PR.user_id), func.max(PR.user_id))
                             .where(PR.publication_id == pid)).one()
    if lo is None:
        return 0
    gone, lo = 0, lo - 1
    while lo < top:
        with rt.sessions() as db:
            gone += db.execute(delete(PR).where(PR.publication_id == pid, PR.user_id > lo, PR.user_id <= lo + SPAN)
                               .execution_options(synchronize_session=False)).rowcount or 0
            db.commit()
        lo += SPAN
    return gone


def prune_push_counts(rt, now: datetime) -> int:
    """Daily cap counts of days before yesterday (yesterday stays: a day in Tokyo is not a UTC day)."""
    with rt.sessions() as db:
        n = db.execute(delete(PushCount).where(PushCount.jst_day < jst_day(now) - timedelta(days=1))
                       .execution_options(synchronize_session=False)).rowcount or 0
        db.commit()
    return n


def run(rt, now: datetime | None = None) -> tuple[int, int]:
    """The job: (publications pruned, recipient rows deleted). Push counts are pruned too."""
    now = now or rt.now()
    with rt.sessions() as db:
        pids = due(db, now)
    rows = sum(prune_publication(rt, pid) for pid in pids)
    counts = prune_push_counts(rt, now)
    if pids or counts:
        log.info("retention: %d publications summarised, %d recipient rows and %d daily counts deleted",
                 len(pids), rows, counts)
    return len(pids), rows


__all__ = ["KEEP", "due", "prune_publication", "prune_push_counts", "run"]
