"""Residents who talk to the bot. Only what is needed to answer and push: no names, no profile."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    # False after unfollow (blocked): no pushes go to inactive users.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    followed_at: Mapped[datetime | None]
    unfollowed_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]


@deletion_hook("users", order=1000)  # last: other hooks still need the row
def delete_user_row(db: Session, user: User) -> None:
    db.execute(delete(User).where(User.id == user.id))
