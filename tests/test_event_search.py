"""find_events on real SQL (SQLite and PostgreSQL): every filter and their combinations, each event once (its
first matching occurrence), 中止 kept, ended/draft/pending left out, Tokyo date ranges, nearest first with
known coordinates, LIKE metacharacters taken literally, paging, and one query per search (no N+1)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import event as sa_event

from bot.clock import TOKYO, to_tokyo
from bot.event_search import day_range, find_events, this_week, this_weekend
from bot.geo import haversine_km
from tests.events_support import add_event
from tests.listings_support import found, module_data

NOON = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)  # a Wednesday
KOZU_STATION = (35.2775, 139.2020)


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def fill(db) -> None:
    """The module's events, shared by its tests."""
    now = NOON
    add_event(db, now, "写真展", starts=at(1, 10), hours=24 * 9 + 7, district="aratama", cost_kind="free")
    add_event(db, now, "午前の体操", starts=at(3, 10), hours=3, district="kozu", cost_kind="free",
              age_min=60, lat=35.2755, lon=139.1995)
    add_event(db, now, "国府津こども将棋", starts=at(3, 15), district="kozu", project=3, cost_kind="free",
              age_min=6, age_max=12, lat=35.2780, lon=139.2030, tags=["将棋"])
    add_event(db, now, "朝市", starts=at(4, 8), district="kozu", cost_kind="free", rrule="FREQ=WEEKLY;BYDAY=TH",
              lat=35.2790, lon=139.2040, tags=["食"])
    add_event(db, now, "親子で味噌づくり", starts=at(6, 10), district="midori", project=5, cost_kind="amount",
              cost_yen=500, lat=35.2590, lon=139.1570, tags=["食"])
    add_event(db, now, "夏祭り", starts=at(6, 17), district="midori", status="cancelled", cost_kind="free",
              cancel_reason="雨天のため", lat=35.2600, lon=139.1580)
    add_event(db, now, "まちづくり講演会", starts=at(7, 14), district="aratama", project=7, cost_kind="free",
              age_min=18, description="地域の未来を語る、100%参加型の会です。")
    add_event(db, now, "中学生の科学教室", starts=at(13, 10), district="fujimi", project=3, cost_kind="amount",
              cost_yen=300, age_min=12, age_max=15)
    add_event(db, now, "高校生の自習室", starts=at(20, 13), district="aratama", cost_kind="free",
              age_min=15, age_max=18, description="静かに勉強できます_自由参加")
    add_event(db, now, "夏の工作", starts=at(27, 10), district="midori", cost_kind="amount", cost_yen=100,
              tags=["こども", "工作"])
    add_event(db, now, "音楽会", starts=at(10, 18, month=7), district="maeba", project=6, cost_kind="amount",
              cost_yen=1000, lat=35.2835, lon=139.2290)
    # Never shown: over, a draft, waiting for approval.
    add_event(db, now, "終わった講座", starts=at(3, 9), hours=2, district="kozu", cost_kind="free")
    add_event(db, now, "下書きの講座", starts=at(5, 9), district="kozu", status="draft", cost_kind="free")
    add_event(db, now, "承認待ちの講座", starts=at(5, 9), district="kozu", status="pending", cost_kind="free")


@pytest.fixture(scope="module")
def rt(live_bot):
    return module_data(live_bot, fill)


def titles(rt, now=NOON, **kw) -> list[str]:
    return found(rt, find_events, lambda h: h.event.title, now=now, **kw)


ALL_SOONEST = ["写真展",            # on since 6/1 until 6/10
               "午前の体操",        # on now (10:00-13:00)
               "国府津こども将棋",  # today 15:00
               "朝市",              # Thursday 8:00 (weekly: once, its next date)
               "親子で味噌づくり",  # Saturday 10:00
               "夏祭り",            # Saturday 17:00, 中止: still listed
               "まちづくり講演会",  # Sunday
               "中学生の科学教室", "高校生の自習室", "夏の工作", "音楽会"]


def test_visible_not_ended_soonest_first_each_event_once(rt):
    assert titles(rt) == ALL_SOONEST
    with rt.sessions() as db:
        hits = find_events(db, now=NOON, limit=50)
        by = {h.event.title: h for h in hits}
        assert to_tokyo(by["朝市"].occurrence.starts_at) == at(4, 8)
        assert by["夏祭り"].event.status == "cancelled"
        assert all(h.km is None for h in hits)


def test_date_ranges_in_tokyo(rt):
    week = ["写真展", "午前の体操", "国府津こども将棋", "朝市", "親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    assert titles(rt, start=this_week(NOON)[0], end=this_week(NOON)[1]) == week
    lo, hi = this_weekend(NOON)
    assert (to_tokyo(lo), to_tokyo(hi)) == (at(6, 0), at(8, 0))
    assert titles(rt, start=lo, end=hi) == ["写真展", "親子で味噌づくり", "夏祭り", "まちづくり講演会"]
    # A day: dates are whole Tokyo days (end inclusive); an aware range is [start, end).
    assert titles(rt, start=date(2026, 6, 6), end=date(2026, 6, 6)) == ["写真展", "親子で味噌づくり", "夏祭り"]
    assert titles(rt, start=day_range(date(2026, 6, 6))[0], end=day_range(date(2026, 6, 6))[1]) == \
        ["写真展", "親子で味噌づくり", "夏祭り"]
    # Next week's Thursday: the weekly 朝市 shows that date's occurrence.
    with rt.sessions() as db:
        [hit] = [h for h in find_events(db, now=NOON, start=date(2026, 6, 8), end=date(2026, 6, 14))
                 if h.event.title == "朝市"]
        assert to_tokyo(hit.occurrence.starts_at) == at(11, 8)
    # 23:30 on Sunday in Tokyo is Sunday's (14:30 UTC); 00:30 on Monday is not.
    assert "まちづくり講演会" in titles(rt, start=date(2026, 6, 7), end=date(2026, 6, 7))
    assert titles(rt, start=datetime(2026, 6, 7, 15, 30, tzinfo=timezone.utc),  # Monday 00:30 Tokyo
                  end=date(2026, 6, 8)) == ["写真展"]
    assert titles(rt, start=date(2026, 6, 9), end=date(2026, 6, 8)) == []
    with pytest.raises(ValueError):
        titles(rt, start=datetime(2026, 6, 1))  # naive


def test_this_week_and_weekend_on_a_weekend_day():
    sunday = at(7, 9)
    assert this_week(sunday) == (sunday.astimezone(timezone.utc), at(8, 0))
    assert this_weekend(sunday)[0] == sunday.astimezone(timezone.utc)
    assert this_weekend(sunday)[1] == at(8, 0)
    saturday = at(6, 20)
    assert this_weekend(saturday) == (saturday.astimezone(timezone.utc), at(8, 0))


def test_districts_projects_free(rt):
    assert titles(rt, districts=["kozu"]) == ["午前の体操", "国府津こども将棋", "朝市"]
    assert titles(rt, districts=["kozu", "maeba"]) == ["午前の体操", "国府津こども将棋", "朝市", "音楽会"]
    assert titles(rt, districts=["nowhere"]) == []
    assert titles(rt, projects=[3]) == ["国府津こども将棋", "中学生の科学教室"]
    assert titles(rt, projects=[3, 7]) == ["国府津こども将棋", "まちづくり講演会", "中学生の科学教室"]
    assert titles(rt, free=True) == ["写真展", "午前の体操", "国府津こども将棋", "朝市", "夏祭り", "まちづくり講演会",
                                     "高校生の自習室"]


def test_children_by_age_title_or_tag(rt):
    # 将棋 and 科学 by their upper age; 味噌 by 親子 in its title; 工作 by its tag (stored as JSON).
    assert titles(rt, children=True) == ["国府津こども将棋", "親子で味噌づくり", "中学生の科学教室", "夏の工作"]


def test_age_overlap(rt):
    # Blank ages match any age; a range matches by overlap.
    no_ages = ["写真展", "朝市", "親子で味噌づくり", "夏祭り", "夏の工作", "音楽会"]
    assert titles(rt, age=7) == [t for t in ALL_SOONEST if t in no_ages or t == "国府津こども将棋"]
    assert titles(rt, age=(13, 15)) == [t for t in ALL_SOONEST if t in no_ages or t in ("中学生の科学教室", "高校生の自習室")]
    assert titles(rt, age=70) == [t for t in ALL_SOONEST if t in no_ages or t in ("午前の体操", "まちづくり講演会")]


def test_text_in_title_or_description_literally(rt):
    assert titles(rt, text="将棋") == ["国府津こども将棋"]
    assert titles(rt, text="未来") == ["まちづくり講演会"]          # description
    assert titles(rt, text="100%") == ["まちづくり講演会"]
    assert titles(rt, text="%") == ["まちづくり講演会"]            # a literal percent sign, not "anything"
    assert titles(rt, text="_") == ["高校生の自習室"]
    assert titles(rt, text="!") == []
    assert titles(rt, text="まちづくり 未来") == ["まちづくり講演会"]  # every word
    assert titles(rt, text="まちづくり 将棋") == []
    assert titles(rt, text=["国府津", "将棋"]) == ["国府津こども将棋"]
    assert titles(rt, text="  ") == ALL_SOONEST


def test_near_nearest_first_with_distances(rt):
    with rt.sessions() as db:
        hits = find_events(db, now=NOON, near=KOZU_STATION, limit=50)
    assert [h.event.title for h in hits] == ["国府津こども将棋", "朝市", "午前の体操", "音楽会", "夏祭り",
                                             "親子で味噌づくり"]
    kms = [h.km for h in hits]
    assert kms == sorted(kms)
    for h in hits:
        assert h.km == pytest.approx(haversine_km(*KOZU_STATION, h.event.lat, h.event.lon))
    assert 0.05 < hits[0].km < 0.2 and 4 < hits[-1].km < 6
    assert titles(rt, near=KOZU_STATION, within_km=1) == ["国府津こども将棋", "朝市", "午前の体操"]
    assert titles(rt, near=(35.0, 139.0)) == []  # far from every event
    assert titles(rt, near=(float("nan"), 139.2)) == []


def test_combinations(rt):
    lo, hi = this_weekend(NOON)
    assert titles(rt, start=lo, end=hi, children=True) == ["親子で味噌づくり"]
    assert titles(rt, start=lo, end=hi, free=True) == ["写真展", "夏祭り", "まちづくり講演会"]
    wk = this_week(NOON)
    assert titles(rt, start=wk[0], end=wk[1], districts=["kozu"], free=True) == ["午前の体操", "国府津こども将棋", "朝市"]
    assert titles(rt, districts=["kozu"], children=True, free=True, age=8) == ["国府津こども将棋"]
    assert titles(rt, near=KOZU_STATION, children=True) == ["国府津こども将棋", "親子で味噌づくり"]
    assert titles(rt, near=KOZU_STATION, within_km=2, free=True, start=date(2026, 6, 4), end=date(2026, 6, 4)) == ["朝市"]
    assert titles(rt, projects=[3], children=True, districts=["fujimi"], text="科学") == ["中学生の科学教室"]
    assert titles(rt, projects=[3], free=True, districts=["fujimi"]) == []


def test_paging_gives_consecutive_slices(rt):
    pages = [titles(rt, limit=4, offset=o) for o in (0, 4, 8, 12)]
    assert pages[0] + pages[1] + pages[2] == ALL_SOONEST and pages[3] == []
    near = titles(rt, near=KOZU_STATION)
    assert titles(rt, near=KOZU_STATION, limit=2, offset=0) + titles(rt, near=KOZU_STATION, limit=2, offset=2) + \
        titles(rt, near=KOZU_STATION, limit=2, offset=4) == near
    assert titles(rt, limit=0) == []


def test_later_now_drops_what_ended(rt):
    evening = at(3, 18)
    assert titles(rt, now=evening)[:3] == ["写真展", "朝市", "親子で味噌づくり"]
    assert titles(rt, now=at(11, 0, month=7)) == ["朝市"]  # weekly, with no end


def test_one_query_per_search_no_n_plus_one(rt):
    statements: list[str] = []

    def count(conn, cursor, statement, *a):
        statements.append(statement)

    def selects(**kw) -> int:
        statements.clear()
        with rt.sessions() as db:
            hits = find_events(db, now=NOON, **kw)
            seen = [(h.event.title, h.event.lat, h.occurrence.starts_at) for h in hits]  # nothing loads lazily
        assert seen
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    sa_event.listen(rt.engine, "before_cursor_execute", count)
    try:
        assert selects(limit=50) == 1
        assert selects(limit=50, children=True, text="将棋", districts=["kozu"]) == 1
        assert selects(limit=50, projects=[3], free=True) == 1
        # Near: a 1 km box first, which holds the two nearest; a page reaching farther widens it (3, then 10 km).
        assert selects(near=KOZU_STATION, limit=2) == 1
        assert selects(near=KOZU_STATION, limit=50) == 3
    finally:
        sa_event.remove(rt.engine, "before_cursor_execute", count)


def test_near_widening_gives_the_same_pages_as_one_big_box(rt):
    """Pages found through the small boxes are the ones a single city-wide box gives."""
    import bot.event_search as S

    wide = titles(rt, near=KOZU_STATION)
    for limit in (1, 2, 3, 4):
        paged = []
        for offset in range(0, 8, limit):
            paged += titles(rt, near=KOZU_STATION, limit=limit, offset=offset)
        assert paged == wide
    old = S.WIDENING_KM
    S.WIDENING_KM = ()
    try:
        assert titles(rt, near=KOZU_STATION) == wide
        assert titles(rt, near=KOZU_STATION, limit=2, offset=2) == wide[2:4]
    finally:
        S.WIDENING_KM = old
