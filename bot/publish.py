"""The one entry point for a push to many residents: publish() writes a Publication inside the
caller's transaction (nothing is sent before the caller commits); `kyodo deliver` (bot/fanout.py)
sends it. cancel() stops one that has not started sending; report() says what happened to it.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import system_clock, utc
from bot.segments import Segment
from models.outbox import FAILED as B_FAILED, OutboxBatch
from models.publications import (CANCELLED, EXPANDING, R_BATCHED, R_CAPPED, R_DELAYED, R_FAILED, R_OPTED_OUT,
                                 R_PENDING, R_SENT, R_UNFOLLOWED, SCHEDULED, Publication, PublicationRecipient)
from models.subscriptions import NOW, TOPICS
from models.users import User

MAX_MESSAGES = 5  # LINE's limit per push


def publish(db: Session, *, messages: list[dict], segment: Segment | None = None,
            user_ids: Iterable[int] | None = None, when: datetime | None = None, purpose: str = "announcement",
            ref: str | None = None, topic: str | None = None, urgent: bool = False,
            frequencies: tuple[str, ...] = (NOW,), title: str | None = None,
            created_by: str | None = None, now: datetime | None = None,
            guard_registration_id: int | None = None) -> Publication:
    """Queue `messages` for the residents of `segment` (or exactly `user_ids`, still checked for
    following / notifications / topic at send time), not before `when` (aware; None = now).
    Publishing an existing `ref` again returns the first publication and creates nothing.
    `now`: the caller's clock (a runtime's, frozen in tests); default the system clock."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES \
            or not all(isinstance(m, dict) and m.get("type") for m in messages):
        raise ValueError(f"messages: 1 to {MAX_MESSAGES} LINE message objects")
    if topic is not None and topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if when is not None and when.tzinfo is None:
        raise ValueError("when must be an aware datetime")
    if ref is not None:
        existing = db.scalar(select(Publication).where(Publication.ref == ref))
        if existing is not None:
            return existing
    seg = segment or Segment()
    if user_ids is not None:
        ids = tuple(sorted({int(u) for u in user_ids}))
        seg = replace(seg, user_ids=ids)
        if not ids:
            seg = Segment(user_ids=(0,))  # an empty explicit list reaches nobody (not everyone)
    now = utc(now) if now else system_clock()
    pub = Publication(purpose=purpose, ref=ref, title=title, messages=messages, segment=json.loads(seg.to_json()),
                      topic=topic, urgent=bool(urgent), frequencies=list(frequencies),
                      not_before=utc(when) if when else now, status=SCHEDULED, expanded_to=0, skipped_deleted=0,
                      created_by=created_by[:64] if created_by else None, created_at=now,
                      guard_registration_id=guard_registration_id)
    if ref is None or db.get_bind().dialect.name != "postgresql":
        db.add(pub)
        db.flush()
        return pub
    try:  # two callers publishing the same ref at once: the second gets the first's publication
        with db.begin_nested():
            db.add(pub)
            db.flush()
    except IntegrityError:
        return db.scalar(select(Publication).where(Publication.ref == ref))  # type: ignore[return-value]
    return pub


def cancel(db: Session, pub_id: int) -> bool:
    """Cancel a publication that has not started sending; True if it was cancelled (or already was)."""
    n = db.execute(update(Publication).where(Publication.id == pub_id,
                                             Publication.status.in_((SCHEDULED, EXPANDING)))
                   .values(status=CANCELLED, finished_at=system_clock())
                   .execution_options(synchronize_session=False)).rowcount
    if n:
        return True
    return db.scalar(select(Publication.status).where(Publication.id == pub_id)) == CANCELLED


# The counts report() takes from the recipient rows; stored on the publication (Publication.summary) when
# scheduler/retention.py deletes those rows, so a report reads the same before and after.
SUMMARY_KEYS = ("reached", "skipped_unfollowed", "skipped_opted_out", "delayed_quiet", "skipped_capped",
                "failed", "pending", "blocked_within_24h")


def recipient_counts(db: Session, pub_id: int) -> dict:
    """SUMMARY_KEYS counted from the publication's recipient rows (all zero once they are gone)."""
    pr = PublicationRecipient
    counts = dict(db.execute(select(pr.status, func.count()).where(pr.publication_id == pub_id)
                             .group_by(pr.status)).all())
    delayed = db.scalar(select(func.count()).select_from(pr)
                        .where(pr.publication_id == pub_id, pr.delayed_until.is_not(None))) or 0
    # Blocks within a day of the push: the city's measure of a push that annoyed.
    blocked = 0
    if counts.get(R_SENT):
        day = timedelta(hours=24)
        rows = db.execute(select(pr.sent_at, User.unfollowed_at).join(User, User.id == pr.user_id)
                          .where(pr.publication_id == pub_id, pr.status == R_SENT, User.active.is_(False),
                                 User.unfollowed_at.is_not(None))).all()
        blocked = sum(1 for sent_at, gone in rows if sent_at and utc(sent_at) <= utc(gone) <= utc(sent_at) + day)
    return {
        "reached": counts.get(R_SENT, 0),
        "skipped_unfollowed": counts.get(R_UNFOLLOWED, 0),
        "skipped_opted_out": counts.get(R_OPTED_OUT, 0),
        "delayed_quiet": delayed,
        "skipped_capped": counts.get(R_CAPPED, 0),
        "failed": counts.get(R_FAILED, 0),
        "pending": counts.get(R_PENDING, 0) + counts.get(R_DELAYED, 0) + counts.get(R_BATCHED, 0),
        "blocked_within_24h": blocked,
    }


def report(db: Session, pub_id: int) -> dict:
    """What happened to a publication. Counts of residents: reached (LINE accepted), skipped_unfollowed,
    skipped_opted_out, skipped_deleted, delayed_quiet (pushed back by quiet hours, sent or not yet),
    skipped_capped, failed, pending (not yet sent), blocked_within_24h (reached, then unfollowed within a
    day). failed_batches: one entry per batch LINE refused for good, with LINE's message and request id.
    A publication finished days ago has no recipient rows any more (scheduler/retention.py): its counts
    are the ones stored then (`summary`); the failed batches still come from outbox_batches."""
    pub = db.get(Publication, pub_id)
    if pub is None:
        raise LookupError(f"no publication {pub_id}")
    counts = {k: int(pub.summary.get(k, 0)) for k in SUMMARY_KEYS} if pub.summary is not None \
        else recipient_counts(db, pub_id)
    # A publication's batches all point at its one outbox message (bot/fanout.py: _expand).
    failed_batches = [
        {"batch_id": b.id, "recipients": b.recipient_count, "message": b.last_error, "request_id": b.request_id}
        for b in db.scalars(select(OutboxBatch).where(OutboxBatch.message_id == pub.message_id,
                                                      OutboxBatch.status == B_FAILED)
                            .order_by(OutboxBatch.id))] if pub.message_id is not None else []
    return {
        "id": pub.id, "status": pub.status, "title": pub.title, "purpose": pub.purpose,
        "reached": counts["reached"],
        "skipped_unfollowed": counts["skipped_unfollowed"],
        "skipped_opted_out": counts["skipped_opted_out"],
        "skipped_deleted": pub.skipped_deleted,
        "delayed_quiet": counts["delayed_quiet"],
        "skipped_capped": counts["skipped_capped"],
        "failed": counts["failed"],
        "failed_batches": failed_batches,
        "pending": counts["pending"],
        "blocked_within_24h": counts["blocked_within_24h"],
        "sent_at": pub.started_at,
        "finished_at": pub.finished_at,
    }


__all__ = ["SUMMARY_KEYS", "cancel", "publish", "recipient_counts", "report"]
