"""The not-understood list's retention (daily, scheduler/jobs.py): texts nobody has sent for 90 days are
deleted. They are residents' words; a list kept forever would also bury what is asked now."""
from __future__ import annotations

import logging
from datetime import datetime

from bot.faq import KEEP_DAYS, purge_misses

log = logging.getLogger("kyodo.jobs")


def run(rt, now: datetime | None = None) -> int:
    """Delete misses last seen more than KEEP_DAYS ago; returns how many. One DELETE: safe to run twice."""
    with rt.sessions() as db:
        n = purge_misses(db, now or rt.now(), KEEP_DAYS)
        db.commit()
    if n:
        log.info("faq: deleted %d not-understood texts older than %d days", n, KEEP_DAYS)
    return n
