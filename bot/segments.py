"""Who a push goes to: a segment of residents, as one SQL query.

A segment names districts, projects and topics (each a list: a resident matches a list when they chose
any of its entries) and how the lists combine: `all` (in every list given, AND) or `any` (in at least
one, OR). No lists at all means every resident. On top of the segment, every push also requires:
the resident still follows the account, has not stopped notifications (frequency), and hears about the
push's own topic (unless it is urgent, 緊急). Recipients are read in id order, in chunks (keyset), so
memory does not grow with the audience.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterator

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from models.subscriptions import (DEFAULT_TOPICS, NOW, Preference, SubscribedDistrict, SubscribedProject,
                                  SubscribedTopic)
from models.users import User

ALL, ANY = "all", "any"


@dataclass(frozen=True)
class Segment:
    districts: tuple[str, ...] = ()
    projects: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()
    match: str = ANY  # how the lists above combine: ALL (AND) or ANY (OR)
    user_ids: tuple[int, ...] = field(default=())  # explicit residents (a test send, one resident's reminder)
    # With ANY and topics: residents matched by a district or project (not by a topic) must also have kept
    # this topic. "国府津 or イベント" then reaches 国府津 residents who hear the city's news, and everyone who
    # chose イベント, but not a 国府津 resident who asked for surveys only.
    others_topic: str | None = None

    def is_everyone(self) -> bool:
        return not (self.districts or self.projects or self.topics or self.user_ids)

    def to_json(self) -> str:
        data = asdict(self)
        if data["others_topic"] is None:
            del data["others_topic"]  # most segments: keep their stored form as it was
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | dict | None) -> "Segment":
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        return cls(districts=tuple(str(d) for d in data.get("districts") or ()),
                   projects=tuple(int(p) for p in data.get("projects") or ()),
                   topics=tuple(str(t) for t in data.get("topics") or ()),
                   match=ALL if data.get("match") == ALL else ANY,
                   user_ids=tuple(int(u) for u in data.get("user_ids") or ()),
                   others_topic=str(data["others_topic"]) if data.get("others_topic") else None)


def _pref(column):
    """The resident's preferences column (None when they never saved any), as a correlated subquery."""
    return select(column).where(Preference.user_id == User.id).scalar_subquery()


def _chose_topic(topic: str, user_id=User.id, topics_chosen=None):
    chose = exists().where(SubscribedTopic.user_id == user_id, SubscribedTopic.topic == topic)
    if topic not in DEFAULT_TOPICS:
        return chose
    # Never chose topics: the defaults apply.
    chosen = _pref(Preference.topics_chosen) if topics_chosen is None else topics_chosen
    return or_(chose, func.coalesce(chosen, False).is_(False))


def _segment_clause(seg: Segment):
    parts = []
    if seg.districts:
        parts.append(exists().where(SubscribedDistrict.user_id == User.id, SubscribedDistrict.district.in_(seg.districts)))
    if seg.projects:
        parts.append(exists().where(SubscribedProject.user_id == User.id, SubscribedProject.project.in_(seg.projects)))
    by_topic = or_(*(_chose_topic(t) for t in seg.topics)) if seg.topics else None
    if seg.match == ANY and by_topic is not None and parts and seg.others_topic:
        return or_(and_(or_(*parts), _chose_topic(seg.others_topic)), by_topic)
    if by_topic is not None:
        parts.append(by_topic)
    if not parts:
        return true()
    return and_(*parts) if seg.match == ALL else or_(*parts)


def wants(*, topic: str | None, frequencies: tuple[str, ...], urgent: bool, user_id=User.id, frequency=None,
          topics_chosen=None):
    """Notifications on (frequency among `frequencies`) and the push's topic chosen (unless urgent): the one
    rule for selecting recipients and for bot/fanout.py's check at send time. `frequency` and
    `topics_chosen`: the resident's preferences columns where the caller has joined that row (None: read
    by a correlated subquery)."""
    freq = _pref(Preference.frequency) if frequency is None else frequency
    conds = [func.coalesce(freq, NOW).in_(frequencies)]
    if topic and not urgent:
        conds.append(_chose_topic(topic, user_id, topics_chosen))
    return and_(*conds)


def eligible(*, topic: str | None, frequencies: tuple[str, ...] = (NOW,), urgent: bool = False):
    """The conditions every push applies at send time: following, notifications on, topic chosen."""
    return and_(User.active == true(), wants(topic=topic, frequencies=frequencies, urgent=urgent))


def recipients(seg: Segment, *, topic: str | None, frequencies: tuple[str, ...] = (NOW,), urgent: bool = False):
    """SELECT users.id, users.line_user_id of the segment's eligible residents, in id order."""
    stmt = select(User.id, User.line_user_id).where(eligible(topic=topic, frequencies=frequencies, urgent=urgent),
                                                    _segment_clause(seg))
    if seg.user_ids:
        stmt = stmt.where(User.id.in_(seg.user_ids))
    return stmt.order_by(User.id)


def includes(db: Session, seg: Segment, user_id: int) -> bool:
    """Is this resident in the segment by what they chose (地区, projects, topics), whatever their notification
    settings? Who may answer a survey aimed at a segment (a resident who stopped pushes may still answer)."""
    if seg.is_everyone():
        return True
    if seg.user_ids and user_id not in seg.user_ids:
        return False
    return db.scalar(select(User.id).where(User.id == user_id, _segment_clause(seg))) is not None


def count(db: Session, seg: Segment, **kw) -> int:
    return db.scalar(select(func.count()).select_from(recipients(seg, **kw).order_by(None).subquery())) or 0


def stream(db: Session, seg: Segment, *, chunk: int = 500, after_id: int = 0, **kw) -> Iterator[list[tuple[int, str]]]:
    """Chunks of (user id, LINE user id), keyset-paginated by id: never more than `chunk` rows in memory."""
    base = recipients(seg, **kw)
    while True:
        rows = [tuple(r) for r in db.execute(base.where(User.id > after_id).limit(chunk)).all()]
        if not rows:
            return
        yield rows
        after_id = rows[-1][0]


__all__ = ["ALL", "ANY", "Segment", "count", "eligible", "includes", "recipients", "stream", "wants"]
