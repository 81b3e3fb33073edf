"""A staff member's own LINE account, linked to their admin account by a one-time code they send to the bot,
so that テスト配信 reaches their phone.

- StaffLinkCode: at most one live code per account, stored as a keyed hash (bot/admin/staff_link.py),
  10 minutes, single use.
- StaffLink: account <-> LINE user (users.id), one each way.
- StaffLinkFailure: wrong codes sent by a LINE user, to limit guessing (rows, no code text).

The link and the failures go when the resident behind that LINE user deletes their data (hook below; the
foreign keys cascade too).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook


class StaffLinkCode(Base):
    __tablename__ = "staff_link_codes"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="CASCADE"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class StaffLink(Base):
    __tablename__ = "staff_links"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    linked_at: Mapped[datetime]


class StaffLinkFailure(Base):
    __tablename__ = "staff_link_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]


@deletion_hook("staff_link", order=100)
def delete_staff_link(db: Session, user) -> None:
    from bot.admin import audit  # the audit log says why a staff member's link disappeared

    for account_id in db.scalars(select(StaffLink.account_id).where(StaffLink.user_id == user.id)):
        audit.record(db, "staff_link.unlink", object_type="admin_accounts", object_id=account_id,
                     summary="LINE側でデータ削除（退会）されたため連携を解除")
    db.execute(delete(StaffLinkFailure).where(StaffLinkFailure.user_id == user.id))
    db.execute(delete(StaffLink).where(StaffLink.user_id == user.id))
