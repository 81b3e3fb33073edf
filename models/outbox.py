"""The only road to LINE for anything we send: a message and its recipient batches are written
first, then delivered; each batch carries its X-Line-Retry-Key from the moment it is written."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, BigId
from models.privacy import deletion_hook

# batch states
PENDING, SENDING, SENT, FAILED, UNCERTAIN, CANCELLED = "pending", "sending", "sent", "failed", "uncertain", "cancelled"
REPLY, PUSH, MULTICAST = "reply", "push", "multicast"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # What produced it: "reply", later "announcement", "reminder", "digest"...
    purpose: Mapped[str] = mapped_column(String(32))
    # LINE message objects as JSON (validated by the SDK models when sent).
    messages: Mapped[list]
    # A webhook event yields at most one reply message: processing twice cannot answer twice.
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    batches: Mapped[list["OutboxBatch"]] = relationship(back_populates="message", cascade="all, delete-orphan")


class OutboxBatch(Base):
    __tablename__ = "outbox_batches"
    __table_args__ = (Index("ix_outbox_batches_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # LINE user ids; cleared once sent (only the count is kept).
    recipients: Mapped[list | None]
    recipient_count: Mapped[int] = mapped_column(default=0)
    reply_token: Mapped[str | None] = mapped_column(String(255))
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    message: Mapped[OutboxMessage] = relationship(back_populates="batches")


@deletion_hook("outbox", order=30)
def drop_user_from_pending(db: Session, user) -> None:
    """Unsent batches must not reach a deleted user; done in SQL, without loading the pending batches.
    Sent batches hold no ids any more. A publication's batches hold none either: they read their
    recipients from publication_recipients, whose rows went with the user (models/publications.py)."""
    from sqlalchemy import String, cast, select, update

    unsent = OutboxBatch.status.in_((PENDING, SENDING, UNCERTAIN, FAILED))
    # A reply or a push goes to one resident: cancelled by one UPDATE.
    db.execute(update(OutboxBatch)
               .where(unsent, OutboxBatch.kind.in_((REPLY, PUSH)),
                      OutboxBatch.recipients[0].as_string() == user.line_user_id)
               .values(recipients=[], recipient_count=0, status=CANCELLED)
               .execution_options(synchronize_session=False))
    # A multicast written with its ids (enqueue_push): the database finds the few that name the user
    # (a LINE id is fixed-format, so its quoted form matches nothing else); only those are rewritten.
    rows = db.scalars(select(OutboxBatch).where(unsent, OutboxBatch.kind == MULTICAST,
                                                cast(OutboxBatch.recipients, String).like(f'%"{user.line_user_id}"%')))
    for b in rows:
        b.recipients = [r for r in b.recipients or [] if r != user.line_user_id]
        b.recipient_count = len(b.recipients)
        if not b.recipients:
            b.status = CANCELLED
