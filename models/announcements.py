"""お知らせ (staff announcements): what the city, or an organisation through the city, tells residents on LINE.

An announcement is written in the admin (or by `kyodo announce`), possibly approved by a second person, then
handed to bot.publish, which owns delivery: `publication_id` points at that publication. No foreign key to
`publications` or `media_images`: those tables come from sibling migrations (0008, 0010) that may be applied
in any order, so the link is a plain id checked by the code that follows it.

Staff and organisation accounts write these, not residents: no resident's personal data is stored here,
hence no deletion hook. Replaces the step-2 `notice_drafts` (migration 0009 copies them in as drafts).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import Account, Organisation
from models.base import Base, BigId

# status
DRAFT = "draft"          # being written; editable
PENDING = "pending"      # submitted for approval (an organisation's, or one over the approval threshold)
APPROVED = "approved"    # a second person approved it; a staff member may now send or schedule it
SCHEDULED = "scheduled"  # handed to bot.publish with a time in the future
SENT = "sent"            # handed to bot.publish to go now (delivery itself is the publication's business)
CANCELLED = "cancelled"  # a scheduled one called off before it started
STATUSES = (DRAFT, PENDING, APPROVED, SCHEDULED, SENT, CANCELLED)
EDITABLE = (DRAFT, PENDING, APPROVED)  # editing one that was submitted or approved sends it back to draft
STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", APPROVED: "承認済み", SCHEDULED: "配信予約中",
                 SENT: "配信済み", CANCELLED: "取り消し"}


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'pending', 'approved', 'scheduled', 'sent', 'cancelled')", name="status"),
        Index("ix_announcements_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The organisation that wrote it (an 団体's announcements); None for the city's own.
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))  # for lists and reports; residents do not see it
    body: Mapped[str] = mapped_column(Text, default="")
    image_id: Mapped[int | None] = mapped_column(BigId)  # media_images.id (bot.media), no FK: see above
    link_url: Mapped[str | None] = mapped_column(String(1000))
    link_label: Mapped[str | None] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(default=False)
    segment: Mapped[dict] = mapped_column(default=dict)  # bot.segments.Segment as a dict ({} = everyone)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    # Residents it would reach, counted when it was last saved, submitted or sent (the form shows it live).
    audience: Mapped[int | None]
    scheduled_at: Mapped[datetime | None]
    publication_id: Mapped[int | None] = mapped_column(BigId)  # publications.id (bot.publish), no FK: see above

    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    submitted_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    sent_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # when it was handed to bot.publish (now or scheduled)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    created_by: Mapped[Account | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    approved_by: Mapped[Account | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def ref(self) -> str:
        """bot.publish's idempotency key: publishing the same announcement twice sends it once."""
        return f"announcement:{self.id}"
