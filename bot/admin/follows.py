"""The follows/blocks dashboard's figures: follows and blocks (unfollow events) per day, and per push
how many of its recipients blocked the account within 24 hours. Counts only, never who.

Days come from models/follow_log.py (counted when each event is handled), pushes from the publications'
delivery reports (bot/publish.py). A city judges its LINE account by the block rate; segmented pushes
are how it brings that rate down, so each push's rate is shown beside its reach.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.admin.dashboard import Bar, bar_chart
from bot.clock import to_tokyo
from models.follow_log import FollowDay

DAYS = 30
PUSHES = 20
HIDDEN_PURPOSES = ("test",)  # テスト配信 goes to one staff phone: not a push to residents


@dataclass(frozen=True)
class Day:
    day: date
    follows: int
    unfollows: int

    @property
    def label(self) -> str:
        return f"{self.day.month}/{self.day.day}"


@dataclass(frozen=True)
class Push:
    id: int
    title: str
    purpose: str
    sent_at: datetime | None
    reached: int
    blocked: int

    @property
    def rate(self) -> float | None:
        return self.blocked / self.reached if self.reached else None


def daily(db: Session, now: datetime, days: int = DAYS) -> list[Day]:
    """The last `days` days (Tokyo) up to today, oldest first; a day without events is 0."""
    today = to_tokyo(now).date()
    first = today - timedelta(days=days - 1)
    rows = db.execute(select(FollowDay.day, func.sum(FollowDay.follows), func.sum(FollowDay.unfollows))
                      .where(FollowDay.day >= first, FollowDay.day <= today).group_by(FollowDay.day)).all()
    counted = {d: (int(f or 0), int(u or 0)) for d, f, u in rows}
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        f, u = counted.get(d, (0, 0))
        out.append(Day(d, f, u))
    return out


def pushes(db: Session, limit: int = PUSHES) -> list[Push]:
    """The latest pushes that started sending, newest first, with their 24-hour blocks."""
    try:
        from bot.publish import report
        from models.publications import Publication
    except ImportError:  # publications arrive with the fan-out (helper B); until then there is nothing to list
        return []
    stmt = (select(Publication.id).where(Publication.started_at.is_not(None),
                                         Publication.purpose.not_in(HIDDEN_PURPOSES))
            .order_by(Publication.started_at.desc(), Publication.id.desc()).limit(limit))
    out = []
    for pub_id in db.scalars(stmt).all():
        r = report(db, pub_id)
        out.append(Push(r["id"], r.get("title") or "（題名なし）", r.get("purpose") or "", r.get("sent_at"),
                        int(r.get("reached") or 0), int(r.get("blocked_within_24h") or 0)))
    return out


def charts(days: list[Day]) -> tuple[list[Bar], list[Bar]]:
    """Bar geometry for the two inline SVG charts (follows, blocks), one bar per day."""
    return (bar_chart([(d.label, d.follows) for d in days], width=600),
            bar_chart([(d.label, d.unfollows) for d in days], width=600))
