"""Inbound webhook events: stored before the 200, processed once (unique webhookEventId)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook

PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
# Stored but never processed: a shape LINE may send in future (unknown type, a field of another type).
SKIPPED = "skipped"
STATUSES = (PENDING, PROCESSING, DONE, FAILED, SKIPPED)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_user_queue", "user_key", "status", "event_ts", "id"),
                      # The worker's claim walks only pending rows, in arrival order (bot/event_batch.py).
                      Index("ix_webhook_events_pending", "id", postgresql_where=text("status = 'pending'"),
                            sqlite_where=text("status = 'pending'")),
                      CheckConstraint(f"status IN {STATUSES}", name="status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Keyed hash of the source user: orders a user's events without storing the id in clear.
    user_key: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    event_ts: Mapped[int] = mapped_column(BigInteger)
    redelivered: Mapped[bool] = mapped_column(default=False)
    # The raw event; cleared once processed so message text is not kept.
    body: Mapped[dict | None]
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)  # claims so far; bounded by Config.event_max_attempts
    claim_token: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    # Why it failed or was skipped: exception type and code location, or the shape problem; never input.
    error: Mapped[str | None] = mapped_column(Text)


@deletion_hook("webhook_events", order=10)
def unlink_events(db: Session, user) -> None:
    # Bodies are cleared after processing; this drops the last link (the keyed hash), including
    # on the event being processed right now (the confirmation itself).
    from bot.logsafe import user_key

    db.execute(
        update(WebhookEvent)
        .where(WebhookEvent.user_key == user_key(user.line_user_id), WebhookEvent.status.in_((DONE, FAILED, PROCESSING, SKIPPED)))
        .values(user_key="deleted", body=None)
    )
