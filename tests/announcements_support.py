"""Support for the announcement tests: residents with fixed choices, and a spy on bot.publish (the real
functions run; the spy only records how announce_flow called them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

import bot.publish
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
        # A well-formed LINE id (U + 32 hex digits): the emulator refuses any other, as LINE does.
        u = User(line_user_id=f"U{0xa11:03x}{i:029x}", active=active, created_at=now - timedelta(days=30),
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
class Spy:
    calls: list = field(default_factory=list)

    def published(self) -> list[dict]:
        return [kw for name, kw in self.calls if name == "publish"]


@pytest.fixture
def publisher(monkeypatch) -> Spy:
    """Records each call of bot.publish's publish/cancel/report (announce_flow calls them through the module)."""
    spy = Spy()
    for name in ("publish", "cancel", "report"):
        real = getattr(bot.publish, name)

        def call(*a, _name=name, _real=real, **kw):
            spy.calls.append((_name, kw if _name == "publish" else a[1:]))
            return _real(*a, **kw)

        monkeypatch.setattr(bot.publish, name, call)
    return spy
