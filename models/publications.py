"""Publications: one push to many residents (an announcement, a digest, a reminder), and one row per
resident it goes to.

A publication is written by bot/publish.py inside the caller's transaction; `kyodo deliver`
(bot/fanout.py) expands its segment into publication_recipients in SQL, then takes the next due rows
in chunks of at most 500, checks each resident at that moment (still following, still wanting it,
quiet hours, daily cap), and writes one outbox batch per chunk. The batch holds no LINE ids of its
own: its recipients are the rows pointing at it, so a resident deleted before the call is simply
gone (their rows cascade away with the user).

push_counts keeps, per resident and Tokyo day, how many non-urgent publication pushes were batched for
them: the daily cap reads one primary-key row instead of every publication row the resident ever had.
Rows of a finished publication are deleted after a few days (scheduler/retention.py), its counts kept
on the publication (`summary`).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook

# publication states
SCHEDULED, EXPANDING, SENDING, DONE, CANCELLED = "scheduled", "expanding", "sending", "done", "cancelled"
OPEN_STATES = (SCHEDULED, EXPANDING, SENDING)

# recipient states
R_PENDING, R_DELAYED, R_BATCHED, R_SENT = "pending", "delayed", "batched", "sent"
R_UNFOLLOWED, R_OPTED_OUT, R_CAPPED, R_FAILED = "skipped_unfollowed", "skipped_opted_out", "capped", "failed"
WAITING = (R_PENDING, R_DELAYED)  # not yet in a batch
PUSHED = (R_BATCHED, R_SENT)      # counted by the daily cap

# The outbox batch state of a publication's batch while `kyodo deliver` holds it: written with its retry
# key before the call, `sent` or `failed` after. The worker's sweeps only look at pending/sending, so
# they never pick one up (its recipients are publication_recipients rows, not the batch's JSON).
BATCH_FANOUT = "fanout"


# Purposes about the resident's own registration (bot/personal_push.py): never held back by the daily cap,
# which exists for news the resident did not ask for.
PERSONAL = "registration"
UNCAPPED_PURPOSES = (PERSONAL,)

class Publication(Base):
    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(32))           # announcement, fiscal_year, digest, test...
    ref: Mapped[str | None] = mapped_column(String(120), unique=True)  # the caller's idempotency key
    # A notice about one registration (a reminder) goes only while that registration still holds a place and
    # its event or shift has not started: checked by kyodo deliver at send time (bot/fanout.py: Fanout._facts).
    # A plain id (registrations come from a sibling migration branch).
    guard_registration_id: Mapped[int | None] = mapped_column(BigId)
    title: Mapped[str | None] = mapped_column(String(200))
    messages: Mapped[list]                                     # LINE message objects
    segment: Mapped[dict]                                      # bot.segments.Segment as JSON
    topic: Mapped[str | None] = mapped_column(String(16))      # None: no topic check
    urgent: Mapped[bool] = mapped_column(default=False)        # 緊急: ignores topics, quiet hours and the cap
    frequencies: Mapped[list]                                  # e.g. ["now"]
    not_before: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    # The outbox message every batch of this publication points at (written when sending starts).
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    # Expansion cursor: users.id up to which recipients were written (a restart resumes from here).
    expanded_to: Mapped[int] = mapped_column(BigId, default=0)
    # Residents who deleted their data while still waiting for it (their rows are gone; the count stays).
    skipped_deleted: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]    # first batch written
    finished_at: Mapped[datetime | None]   # done or cancelled
    # bot.publish.report()'s counts, stored when scheduler/retention.py deletes the recipient rows
    # (None while they are kept): who got it is forgotten, how many is not.
    summary: Mapped[dict | None]


class PublicationRecipient(Base):
    __tablename__ = "publication_recipients"
    # One index besides the key, on the one column never updated: the daily cap's count and the user's
    # cascade use it, and every change of state (status, batch, times) stays a HOT update in PostgreSQL,
    # with room left in each page for it (a fan-out updates every row twice).
    __table_args__ = (Index("ix_publication_recipients_user_id", "user_id"), {"postgresql_with": {"fillfactor": 70}})

    publication_id: Mapped[int] = mapped_column(BigId, ForeignKey("publications.id", ondelete="CASCADE"),
                                                primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=R_PENDING)
    due_at: Mapped[datetime]
    # Set when quiet hours pushed it back (stays set once sent: the report counts it).
    delayed_until: Mapped[datetime | None]
    # The outbox_batches row these were sent in. No index (the sender knows its rows by publication and user
    # ids; only a restart looks them up by batch) and no foreign key: PostgreSQL would check and lock the
    # batch row once per recipient, 500 times per batch, on the fan-out's hottest statement.
    batch_id: Mapped[int | None] = mapped_column(BigId)
    sent_at: Mapped[datetime | None]  # handed to LINE (batched), then confirmed (sent)


class PushCount(Base):
    """Non-urgent publication pushes to one resident on one day in Tokyo (the daily cap's count).
    Counted when a batch is written (bot/fanout.py: Fanout._take_chunk, in the batch's transaction, as
    the batched rows always counted), given back if LINE refuses the batch for good (Fanout._record).
    Days before yesterday are deleted by scheduler/retention.py."""

    __tablename__ = "push_counts"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    jst_day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


@deletion_hook("publications", order=20)  # before the outbox hook and the users row
def drop_recipient_rows(db: Session, user) -> None:
    """In SQL: count the resident as skipped_deleted in what they were still waiting for, then delete
    their rows (a batch written but not yet sent reads its recipients from these rows, so they are gone)
    and their daily push counts."""
    waiting = select(PublicationRecipient.publication_id).where(
        PublicationRecipient.user_id == user.id, PublicationRecipient.status.in_((*WAITING, R_BATCHED)))
    db.execute(update(Publication).where(Publication.id.in_(waiting))
               .values(skipped_deleted=Publication.skipped_deleted + 1).execution_options(synchronize_session=False))
    db.execute(delete(PublicationRecipient).where(PublicationRecipient.user_id == user.id))
    db.execute(delete(PushCount).where(PushCount.user_id == user.id))
