"""The weekly digest (default Friday 18:00 Asia/Tokyo): residents who chose 週1回のまとめ get one message
listing what they would have heard in the past week, and nothing when there was nothing for them.

"What they would have heard" is decided by the same query a push uses (bot/segments.py): for each
publication of the week, its segment and topic, asked for residents whose frequency is weekly. Residents
with the same set of items share one publication (explicit user ids), so a week with a few announcements
makes a few digests, not one per resident; only (resident, item) pairs are streamed from the database.
A publication that already went to weekly residents (its frequencies include "weekly"), one to explicit
residents (a test send, a personal reminder; the fiscal-year message excepted, see LISTED_WHEN_EXPLICIT)
and digests themselves are not listed.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from bot.clock import to_tokyo, utc
from bot.config import ConfigError
from bot.publish import publish
from bot.segments import Segment, recipients
from handlers import ui
from handlers.flex import tail_quick
from models.publications import CANCELLED, Publication
from models.subscriptions import WEEKLY
from scheduler.lease import CronJob

log = logging.getLogger("kyodo.jobs")

PERIOD = timedelta(days=7)
PURPOSE = "digest"
NOT_LISTED = (PURPOSE, "test")   # purposes a digest never repeats
# Sent to explicit residents, weekly ones among them on purpose (delivery skips them): the digest lists it
# for those. The fiscal-year message is addressed per group of followed projects (scheduler/fiscal_year.py).
LISTED_WHEN_EXPLICIT = ("fiscal_year",)
MAX_LINES = 15                   # items listed by name; the rest are counted
TITLE_CHARS = 40
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

T = {
    "head": "{start}〜{end}のお知らせのまとめです（{n}件）。",
    "line": "・{date}　{title}",
    "more": "ほか{n}件",
    "foot": "受け取り方は、メニューの「設定」から変えられます。",
    "title": "週1回のまとめ（{start}〜{end}）",
    "date": "{m}月{d}日",
}


def trigger(at: str) -> CronTrigger | None:
    """`fri 18:00` (KYODO_DIGEST_AT) as a cron trigger in Asia/Tokyo; `off` -> None (no digest)."""
    text = (at or "").strip().lower()
    if text in ("off", "none", ""):
        return None
    try:
        day, hm = text.split()
        hour, minute = (int(x) for x in hm.split(":"))
        if day not in DAYS or not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"kyodo: KYODO_DIGEST_AT must look like 'fri 18:00' (or 'off'), not {at!r}") from None
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone="Asia/Tokyo")


def job(at: str) -> CronJob | None:
    t = trigger(at)
    # A digest missed by an outage is sent once when the scheduler is back, up to the next one.
    return CronJob("weekly_digest", run, t, PERIOD) if t is not None else None


# -- what was published ---------------------------------------------------------------------------------------

def items_of_week(db: Session, since: datetime, until: datetime) -> list[Publication]:
    """Publications due in (since, until] that a weekly resident may not have heard, in time order."""
    rows = db.scalars(select(Publication).where(Publication.not_before > utc(since), Publication.not_before <= utc(until),
                                                Publication.status != CANCELLED,
                                                Publication.purpose.not_in(NOT_LISTED))
                      .order_by(Publication.not_before, Publication.id))
    return [p for p in rows if WEEKLY not in (p.frequencies or ())
            and (p.purpose in LISTED_WHEN_EXPLICIT or not Segment.from_json(p.segment).user_ids)]


def pairs(items: list[Publication]):
    """SELECT (user id, publication id) for every weekly resident each item would have reached."""
    parts = []
    for p in items:
        r = recipients(Segment.from_json(p.segment), topic=p.topic, frequencies=(WEEKLY,), urgent=p.urgent)
        r = r.order_by(None).subquery()
        parts.append(select(r.c.id.label("user_id"), literal(p.id).label("pub_id")))
    u = union_all(*parts).subquery()
    return select(u.c.user_id, u.c.pub_id).order_by(u.c.user_id, u.c.pub_id)


def group_by_set(db: Session, pairs_stmt) -> dict[tuple[int, ...], list[int]]:
    """Residents keyed by the exact set of keys they have, from a SELECT of (user id, key) ordered by user id
    then key: streamed, one resident at a time, so only the groups are held, never the pairs. Shared with the
    fiscal-year message (scheduler/fiscal_year.py), whose keys are project numbers."""
    out: dict[tuple[int, ...], list[int]] = {}
    current, mine = None, []

    def close() -> None:
        if current is not None and mine:
            out.setdefault(tuple(mine), []).append(current)

    for user_id, key in db.execute(pairs_stmt, execution_options={"yield_per": 2000}):
        if user_id != current:
            close()
            current, mine = user_id, []
        mine.append(int(key))
    close()
    return out


def groups(db: Session, items: list[Publication]) -> dict[tuple[int, ...], list[int]]:
    """Residents keyed by the exact set of items they would have heard."""
    return group_by_set(db, pairs(items))


# -- the message ------------------------------------------------------------------------------------------------

def _date(dt: datetime) -> str:
    d = to_tokyo(dt)
    return T["date"].format(m=d.month, d=d.day)


def title_of(p: Publication) -> str:
    """The publication's one-line title, else its first text (or a Flex message's alt text), shortened."""
    text = p.title
    if not text:
        first = (p.messages or [{}])[0]
        text = first.get("text") or first.get("altText") or ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def message(items: list[Publication], since: datetime, until: datetime) -> dict:
    start, end = _date(since), _date(until)
    lines = [T["head"].format(start=start, end=end, n=len(items)), ""]
    lines += [T["line"].format(date=_date(p.not_before), title=title_of(p)) for p in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        lines.append(T["more"].format(n=len(items) - MAX_LINES))
    lines += ["", T["foot"]]
    return ui.text("\n".join(lines), tail_quick())


MAX_SPAN = 4 * PERIOD  # a digest after a long outage covers at most four weeks


def week_of(slot: datetime) -> str:
    year, week, _ = to_tokyo(slot).isocalendar()
    return f"{year}-W{week:02d}"


def key_hash(key: tuple[int, ...]) -> str:
    """A short stable name for a group's set of keys (its publication's ref)."""
    return hashlib.sha256(",".join(map(str, key)).encode()).hexdigest()[:16]


def ref(slot: datetime, key: tuple[int, ...]) -> str:
    return f"digest:{week_of(slot)}:{key_hash(key)}"


def run(rt, db: Session, slot: datetime, previous: datetime | None = None) -> int:
    """Queue the week's digests; returns how many publications (groups of residents) were written.
    After downtime the digest starts where the last one ended (`previous`, at most MAX_SPAN back), so
    the weeks the scheduler missed are not lost."""
    since = slot - PERIOD
    if previous is not None and previous < since:
        since = max(previous, slot - MAX_SPAN)
    items = items_of_week(db, since, slot)
    if not items:
        return 0
    by_id = {p.id: p for p in items}
    made = 0
    for key, users in groups(db, items).items():
        shown = [by_id[i] for i in key]
        publish(db, messages=[message(shown, since, slot)], user_ids=users, purpose=PURPOSE, ref=ref(slot, key),
                frequencies=(WEEKLY,), now=rt.now(),
                title=T["title"].format(start=_date(since), end=_date(slot)))
        made += 1
    if made:
        log.info("weekly digest %s: %d groups of residents", week_of(slot), made)
    return made
