"""Follows and blocks (unfollow events) per day (Asia/Tokyo), for the admin's follows dashboard.

users.followed_at / unfollowed_at keep only the latest of each and vanish with a deleted resident, so the
history is counted here, in the same transaction as the event. Counts only: no user ids. Each day has a few
`slot` rows, picked at random per event, so concurrent worker transactions rarely wait on the same row
lock; readers add the slots up.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

SLOTS = 8


class FollowDay(Base):
    __tablename__ = "follow_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    follows: Mapped[int] = mapped_column(default=0)
    unfollows: Mapped[int] = mapped_column(default=0)
