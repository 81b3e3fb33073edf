"""Support for the announcement tests: residents with fixed choices, and a spy around bot.publish (a small
stand-in while helper B's module is not in the repository; the real one as soon as it is)."""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from models.subscriptions import Preference, SubscribedDistrict, SubscribedProject, SubscribedTopic
from models.users import User

# (districts, projects, topics or None = never chose, frequency, following)
RESIDENTS = [
    (("kozu",), (3,), None, "now", True),                 # 0: 国府津, project 3, defaults (city)
    (("kozu", "soga"), (), ("events", "city"), "now", True),  # 1
    (("soga",), (3, 5), ("events",), "now", True),        # 2: chose events only: no city announcements
    ((), (5,), ("city",), "now", True),                   # 3
    (("kozu",), (3,), ("city",), "off", True),            # 4: stopped everything
    (("kozu",), (3,), None, "now", False),                # 5: blocked the account
]


def add_residents(db, now) -> list[int]:
    ids = []
    for i, (districts, projects, topics, frequency, active) in enumerate(RESIDENTS):
        u = User(line_user_id=f"Uann{i:029d}", active=active, created_at=now - timedelta(days=30),
                 followed_at=now - timedelta(days=30))
        db.add(u)
        db.flush()
        db.add(Preference(user_id=u.id, frequency=frequency, topics_chosen=topics is not None, updated_at=now))
        db.add_all([SubscribedDistrict(user_id=u.id, district=d) for d in districts])
        db.add_all([SubscribedProject(user_id=u.id, project=p) for p in projects])
        db.add_all([SubscribedTopic(user_id=u.id, topic=t) for t in topics or ()])
        ids.append(u.id)
    db.commit()
    return ids


@dataclass
class FakePublication:
    id: int
    ref: str | None
    kw: dict
    status: str = "scheduled"


class _StandIn:
    """bot.publish's three functions as spec6.md describes them, kept in memory."""

    def __init__(self) -> None:
        self.pubs: dict[int, FakePublication] = {}

    def publish(self, db, *, messages, segment=None, user_ids=None, when=None, purpose="announcement", ref=None,
                topic=None, urgent=False, frequencies=("now",), title=None):
        for p in self.pubs.values():
            if ref is not None and p.ref == ref:
                return p
        pub = FakePublication(len(self.pubs) + 1, ref, dict(messages=messages, segment=segment, when=when))
        self.pubs[pub.id] = pub
        return pub

    def cancel(self, db, pub_id):
        pub = self.pubs[pub_id]
        if pub.status == "scheduled":
            pub.status = "cancelled"
        return pub.status == "cancelled"

    def report(self, db, pub_id):
        return {"status": self.pubs[pub_id].status, "reached": 0, "skipped_unfollowed": 0, "skipped_opted_out": 0,
                "skipped_deleted": 0, "delayed_quiet": 0, "skipped_capped": 0, "failed": 0, "failed_batches": [],
                "pending": 0, "blocked_within_24h": 0, "sent_at": None}


@dataclass
class Spy:
    real: object
    calls: list = field(default_factory=list)

    def module(self) -> types.ModuleType:
        m = types.ModuleType("bot.publish")
        for name in ("publish", "cancel", "report"):
            setattr(m, name, self._wrap(name))
        return m

    def _wrap(self, name):
        target = getattr(self.real, name)

        def call(*a, **kw):
            self.calls.append((name, kw if name == "publish" else a[1:]))
            return target(*a, **kw)

        if name == "publish":  # keep the real signature visible (announce_flow looks at it)
            import functools

            call = functools.wraps(target)(call)
        return call

    def published(self) -> list[dict]:
        return [kw for name, kw in self.calls if name == "publish"]


@pytest.fixture
def publisher(monkeypatch) -> Spy:
    try:
        import bot.publish as real
    except ImportError:
        real = _StandIn()
    spy = Spy(real)
    monkeypatch.setitem(sys.modules, "bot.publish", spy.module())
    return spy


def stub_module(monkeypatch, name: str, **attrs) -> None:
    """Stand in for another helper's module (bot.admin.staff_link, bot.quota) with just what is called."""
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    monkeypatch.setitem(sys.modules, name, m)
