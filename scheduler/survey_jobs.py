"""Surveys' scheduled work, every 300 s (scheduler/jobs.py):

1. open surveys whose closing time has passed become closed (one conditional UPDATE), and their invitation or
   reminder not yet sending is cancelled (bot/survey_notices.on_closed);
2. the one reminder of a live survey whose remind_at has come: to the residents of its segment who hear about
   surveys and have not submitted (an anonymous survey stores no user ids: each candidate's respondent key is
   compared with the submitted rows), read in chunks so memory does not grow with the city.

Safe to run twice at once: closing is conditional on status, the reminder's ref makes publish() return the
first publication, and the survey takes its reminder_publication_id by a conditional UPDATE.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import survey_notices as N
from bot.clock import utc
from bot.segments import Segment, stream
from bot.survey_logic import respondent_key
from models.surveys import CLOSED, OPEN, SUBMITTED, Survey, SurveyResponse

log = logging.getLogger("kyodo.jobs")
CHUNK = 500


def close_due(db: Session, *, now: datetime) -> list[int]:
    """Close every open survey whose window has ended; returns their ids."""
    now = utc(now)
    ids = list(db.scalars(update(Survey).where(Survey.status == OPEN, Survey.closes_at <= now)
                          .values(status=CLOSED, updated_at=now).returning(Survey.id)
                          .execution_options(synchronize_session=False)))
    for survey in db.scalars(select(Survey).where(Survey.id.in_(ids))) if ids else ():
        N.on_closed(db, survey)
    return sorted(ids)


def not_submitted(db: Session, survey: Survey, *, chunk: int = CHUNK) -> list[int]:
    """users.id of the segment's residents who hear about surveys and have not submitted this survey (in
    progress or not started), in id order."""
    out: list[int] = []
    R = SurveyResponse
    for rows in stream(db, Segment.from_json(survey.segment or {}), topic=N.TOPIC, chunk=chunk):
        if survey.anonymous:
            keys = {respondent_key(survey.id, line_id): uid for uid, line_id in rows}
            done = set(db.scalars(select(R.respondent).where(R.survey_id == survey.id, R.status == SUBMITTED,
                                                             R.respondent.in_(list(keys)))))
            out += [uid for key, uid in keys.items() if key not in done]
        else:
            ids = [uid for uid, _ in rows]
            done = set(db.scalars(select(R.user_id).where(R.survey_id == survey.id, R.status == SUBMITTED,
                                                          R.user_id.in_(ids))))
            out += [uid for uid in ids if uid not in done]
    return sorted(out)


def due_reminders(db: Session, *, now: datetime) -> list[Survey]:
    """Live surveys whose reminder time has come and that have none yet. A reminder time before the survey was
    opened (it would arrive with the invitation) is not used."""
    now = utc(now)
    invited = func.coalesce(Survey.opened_at, Survey.opens_at)
    return list(db.scalars(select(Survey).where(
        Survey.status == OPEN, Survey.opens_at <= now, Survey.closes_at > now, Survey.remind_at.is_not(None),
        Survey.remind_at <= now, Survey.reminder_publication_id.is_(None), Survey.source != "sample",
        Survey.remind_at > invited).order_by(Survey.id)))


def remind(db: Session, *, now: datetime, chunk: int = CHUNK) -> int:
    """Queue each due survey's one reminder; returns how many were queued."""
    n = 0
    for survey in due_reminders(db, now=now):
        pub = N.queue_reminder(db, survey, not_submitted(db, survey, chunk=chunk), now=now)
        took = db.execute(update(Survey).where(Survey.id == survey.id, Survey.reminder_publication_id.is_(None))
                          .values(reminder_publication_id=pub.id)
                          .execution_options(synchronize_session=False)).rowcount
        n += bool(took)
    return n


def run(rt) -> dict:
    now = rt.now()
    with rt.sessions() as db:
        closed = close_due(db, now=now)
        db.commit()
    with rt.sessions() as db:
        reminded = remind(db, now=now)
        db.commit()
    if closed or reminded:
        log.info("surveys: %d closed, %d reminders queued", len(closed), reminded)
    return {"closed": len(closed), "reminded": reminded}
