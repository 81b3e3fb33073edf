"""What the dashboard shows each role: items needing attention, a few figures, and a small bar chart drawn
as inline SVG on the server (no JavaScript, no external service)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.admin.policy import ANNOUNCEMENTS_DRAFT, ANNOUNCEMENTS_SEND, CONTENT_ALL, SURVEYS_MANAGE, has, scope
from bot.clock import to_tokyo
from models.accounts import ADMIN, ORGANISATION, Account
from models.announcements import DRAFT, PENDING, SCHEDULED, Announcement
from models.users import User

@dataclass(frozen=True)
class Item:
    label: str
    value: int | None  # None: not counted ("—")
    endpoint: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def published_listings(db: Session, account: Account) -> int:
    """Events, children's places and volunteer opportunities of this account's organisation that residents see
    now (content:all: every organisation's)."""
    from models.events import Event
    from models.places import Place
    from models.volunteer import Opportunity

    return sum(db.scalar(scope(select(func.count()).select_from(m).where(m.status == "published"), m, account)) or 0
               for m in (Event, Place, Opportunity))


def open_registrations(db: Session) -> int:
    """Places held or waited for in events and volunteer shifts (every organisation's)."""
    from models.registrations import CONFIRMED, OFFERED, WAITLISTED, Registration

    return db.scalar(select(func.count()).select_from(Registration)
                     .where(Registration.status.in_((CONFIRMED, WAITLISTED, OFFERED)))) or 0


def open_surveys(db: Session, account: Account, now: datetime) -> int:
    """Surveys residents can answer now, of this account's team (content:all: every one)."""
    from models.surveys import OPEN, Survey

    stmt = select(func.count()).select_from(Survey).where(Survey.status == OPEN, Survey.opens_at <= now,
                                                          Survey.closes_at > now)
    return db.scalar(scope(stmt, Survey, account)) or 0


def survey_responses(db: Session, account: Account) -> int:
    """Submitted responses to this account's team's surveys (content:all: every one)."""
    from models.surveys import SUBMITTED, Survey, SurveyResponse

    stmt = (select(func.count()).select_from(SurveyResponse).join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(SurveyResponse.status == SUBMITTED))
    return db.scalar(scope(stmt, Survey, account)) or 0


def attention(db: Session, account: Account, now: datetime) -> list[Item]:
    items: list[Item] = []
    if has(account, ANNOUNCEMENTS_DRAFT):
        def announcements(status: str) -> int:
            stmt = select(func.count()).select_from(Announcement).where(Announcement.status == status)
            return db.scalar(scope(stmt, Announcement, account)) or 0

        label = "お知らせ下書き（全団体）" if has(account, CONTENT_ALL) else "お知らせ下書き"
        items.append(Item(label, announcements(DRAFT), "admin.announcements"))
        if has(account, ANNOUNCEMENTS_SEND):
            items.append(Item("承認待ちのお知らせ", announcements(PENDING), "admin.announcements"))
            items.append(Item("配信予約中のお知らせ", announcements(SCHEDULED), "admin.announcements"))
    if account.role == ADMIN:
        locked = db.scalar(select(func.count()).select_from(Account).where(Account.locked_until > now)) or 0
        items.append(Item("ロック中のアカウント", locked, "admin.accounts"))
    if has(account, SURVEYS_MANAGE):
        items.append(Item("回答受付中のアンケート", open_surveys(db, account, now), "admin.surveys"))
    if account.role == ORGANISATION:
        items.append(Item("掲載中のイベント・居場所・ボランティア", published_listings(db, account), "admin.events"))
    return items


def figures(db: Session, now: datetime, account: Account) -> list[Item]:
    """Counts only: no resident is identifiable from the dashboard. アンケート回答数 is the account's own
    team's (content:all: every team's); shown only to accounts that manage surveys."""
    followers = db.scalar(select(func.count()).select_from(User).where(User.active.is_(True))) or 0
    active = db.scalar(select(func.count()).select_from(User)
                       .where(User.active.is_(True), User.last_seen_at >= now - timedelta(days=7))) or 0
    items = [
        Item("友だち（ブロック中を除く）", followers),
        Item("今週の利用者（7日以内に利用）", active),
    ]
    if has(account, CONTENT_ALL):
        items.append(Item("受付中の申込（イベント・ボランティア）", open_registrations(db)))
    if has(account, SURVEYS_MANAGE):
        items.append(Item("アンケート回答数", survey_responses(db, account)))
    return items


def weekly_follows(db: Session, now: datetime, weeks: int = 8) -> list[tuple[str, int]]:
    """New friends per 7-day window, oldest first, labelled with the window's first day (Tokyo)."""
    since = func.coalesce(User.followed_at, User.created_at)
    out = []
    for i in range(weeks, 0, -1):
        start, end = now - timedelta(days=7 * i), now - timedelta(days=7 * (i - 1))
        n = db.scalar(select(func.count()).select_from(User).where(and_(since >= start, since < end))) or 0
        d = to_tokyo(start)
        out.append((f"{d.month}/{d.day}", n))
    return out


def bar_chart(points: list[tuple[str, int]], *, width: int = 480, height: int = 160, pad: int = 24) -> list[Bar]:
    """Bar geometry for the SVG template; the tallest bar fills the plot height."""
    if not points:
        return []
    top = max(v for _, v in points) or 1
    plot_h = height - 2 * pad
    step = (width - pad) / len(points)
    bars = []
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        bars.append(Bar(label, value, x=pad / 2 + i * step + step * 0.15, y=pad + plot_h - h, width=step * 0.7, height=h))
    return bars

