"""Exactly one scheduler, and each scheduled run once: the scheduler's lease and the cron jobs' last runs.

`scheduler_leases` has one row per lease (name "scheduler"): the process that holds it, until when. A
`kyodo scheduler` runs jobs only while its row is unexpired; a second one started by mistake waits, and
takes over when the holder stops renewing (crashed, or stopped).

`job_runs` has one row per cron job: the scheduled time (slot) it last ran for. A run claims its slot with
a conditional UPDATE/INSERT in the same transaction as the job's effects, so a slot runs once even if two
processes try, and a crash mid-run leaves the slot unclaimed for the next start.
Nothing here is personal data (a holder is host:pid), so there is no deletion hook.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SchedulerLease(Base):
    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]   # when the current holder took it over
    renewed_at: Mapped[datetime]


class JobRun(Base):
    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot_at: Mapped[datetime]       # the scheduled time the last run was for (not when it ran)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    holder: Mapped[str] = mapped_column(String(128))
