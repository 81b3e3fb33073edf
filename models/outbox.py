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
    # Sent batches hold no ids any more; unsent ones must not reach a deleted user.
    from sqlalchemy import select

    rows = db.scalars(
        select(OutboxBatch).where(OutboxBatch.status.in_((PENDING, SENDING, UNCERTAIN, FAILED)), OutboxBatch.recipients.is_not(None))
    )
    for b in rows:
        if user.line_user_id in (b.recipients or []):
            b.recipients = [r for r in b.recipients if r != user.line_user_id]
            b.recipient_count = len(b.recipients)
            if not b.recipients:
                b.status = CANCELLED
