"""Follows and blocks (unfollow events) per day (Asia/Tokyo), for the admin's follows dashboard.

users.followed_at / unfollowed_at keep only the latest of each and vanish with a deleted resident, so the
history is counted here, in the same transaction as the event. Counts only: no user ids. Each day has a few
`slot` rows, picked at random per event, so concurrent worker transactions rarely wait on the same row
lock; readers add the slots up.
"""
from __future__ import annotations

import random
from datetime import date, datetime

from sqlalchemy import Date
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

SLOTS = 8


class FollowDay(Base):
    __tablename__ = "follow_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    follows: Mapped[int] = mapped_column(default=0)
    unfollows: Mapped[int] = mapped_column(default=0)


FOLLOW, UNFOLLOW = "follows", "unfollows"


def count_event(db: Session, now: datetime, kind: str) -> None:
    """+1 follow or unfollow for today (Tokyo), inside the event's own transaction."""
    from bot.clock import to_tokyo

    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    column = FollowDay.__table__.c[kind]
    stmt = insert(FollowDay).values(day=to_tokyo(now).date(), slot=random.randrange(SLOTS),
                                    follows=int(kind == FOLLOW), unfollows=int(kind == UNFOLLOW))
    db.execute(stmt.on_conflict_do_update(index_elements=["day", "slot"], set_={kind: column + 1}))
