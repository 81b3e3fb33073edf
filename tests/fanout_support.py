"""Residents on fixed data and the emulator's record, for the publication tests (test_publish, test_fanout)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert

from bot.clock import TOKYO
from bot.fanout import Fanout
from emulator import new_user_id
from models.subscriptions import Preference, SubscribedDistrict, SubscribedTopic
from models.users import User

NEWS = [{"type": "text", "text": "小田原市からのお知らせです。"}]
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)  # a Monday, outside the default quiet hours


def residents(rt, n: int, *, quiet: tuple[int | None, int | None] | None = (None, None), frequency: str = "now",
              districts: tuple[str, ...] = (), topics: tuple[str, ...] | None = None) -> list[tuple[int, str]]:
    """n following residents as (users.id, LINE id). `quiet`: their quiet hours (None, None = off; None
    = no preferences row, so the defaults 21:00-8:00 apply). `topics`: chosen topics (None = never chose)."""
    now = rt.now()
    with rt.engine.begin() as c:
        rows = c.execute(insert(User).returning(User.id, User.line_user_id, sort_by_parameter_order=True),
                         [{"line_user_id": new_user_id(), "active": True, "created_at": now, "followed_at": now}
                          for _ in range(n)]).all()
        ids = [r[0] for r in rows]
        if quiet is not None or frequency != "now" or topics is not None:
            q = quiet if quiet is not None else (21 * 60, 8 * 60)
            c.execute(insert(Preference), [{"user_id": i, "frequency": frequency, "quiet_start": q[0],
                                            "quiet_end": q[1], "topics_chosen": topics is not None,
                                            "updated_at": now} for i in ids])
        if districts:
            c.execute(insert(SubscribedDistrict), [{"user_id": i, "district": d} for i in ids for d in districts])
        if topics:
            c.execute(insert(SubscribedTopic), [{"user_id": i, "topic": t} for i in ids for t in topics])
    return [(r[0], r[1]) for r in rows]


def received(emulator) -> Counter:
    """How many pushes/multicasts the emulator accepted per LINE id (its record: one entry per accepted call)."""
    got: Counter = Counter()
    for r in emulator.sent():
        if r["kind"] in ("push", "multicast"):
            got.update(r["to"])
    return got


@pytest.fixture
def fan(bot):
    """A delivery loop in this process (4 sender threads, no pacing), the clock at NOON."""
    bot.clock.set(NOON)
    f = Fanout(bot.rt, threads=4, rate=0).start()
    yield f
    f.shutdown()


def audience(db, pub) -> list[int]:
    """Who the delivery would reach now (the query `kyodo deliver` expands a publication with)."""
    from bot.segments import Segment, recipients

    seg = Segment.from_json(pub.segment)
    return [row[0] for row in db.execute(recipients(seg, topic=pub.topic, frequencies=tuple(pub.frequencies)))]


def bubbles_of(pub) -> list[dict]:
    """The Flex bubbles of a publication whose first message is its text and the rest bubbles or carousels."""
    out = []
    for m in pub.messages[1:]:
        c = m["contents"]
        out += c["contents"] if c["type"] == "carousel" else [c]
    return out
