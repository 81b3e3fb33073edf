"""find_places on real SQL (SQLite and PostgreSQL): every filter, their combinations, nearest first with known
coordinates, the day filters with holidays and rows across midnight, and paging."""
from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest

from bot.clock import TOKYO
from bot.geo import EARTH_RADIUS_KM, bbox, haversine_km
from bot.place_search import find_places
from models.places import DRAFT, WITHDRAWN
from tests.listings_support import found, module_data
from tests.places_support import add_place

NOON = datetime(2026, 6, 3, 12, 0, tzinfo=TOKYO)  # a Wednesday, the month's first (第1水曜)
KOZU_STATION = (35.2775, 139.2020)
HAKONE = (35.2327, 139.1067)  # outside the city, ~5 km west of 緑's places


def fill(db) -> None:
    """The module's places, shared by its tests."""
    now = NOON
    add_place(db, now, "国府津こども食堂", district="kozu", kind="shokudo", cost_kind="free", age_min=0, age_max=18,
              lat=35.2785, lon=139.2025, rows=[(2, "17:00", "19:00")], address="小田原市国府津4丁目 国府津公民館")
    add_place(db, now, "国府津学習室", district="kozu", kind="study", cost_kind="amount", cost_yen=500,
              age_min=6, age_max=12, lat=35.2800, lon=139.2050, rows=[(5, "10:00", "12:00")])
    add_place(db, now, "前羽ひろば", district="maeba", kind="hiroba", cost_kind="free", age_min=0, age_max=6,
              lat=35.2835, lon=139.2290, rows=[(2, "10:00", "11:30"), (3, "10:00", "12:00")])
    add_place(db, now, "緑の放課後クラブ", district="midori", kind="afterschool", cost_kind="per_meal",
              cost_yen=200, age_min=6, age_max=12, lat=35.2590, lon=139.1570,
              rows=[(wd, "11:00", "18:00") for wd in range(5)], description="宿題のあとは_みんなで100%あそぶ")
    add_place(db, now, "緑あそび場", district="midori", kind="play", cost_kind="free",
              rows=[(5, "09:00", "17:00"), (6, "09:00", "17:00")])
    add_place(db, now, "中学生の学習会", district="kozu", kind="study", cost_kind="free", age_min=12, age_max=15,
              lat=35.2770, lon=139.2100, rows=[(2, "18:00", "20:00", 0b10)], organiser_name="国府津まなび隊")
    add_place(db, now, "夜の居場所", district="midori", kind="other", cost_kind="free", age_min=13, age_max=18,
              lat=35.2600, lon=139.1600, rows=[(1, "20:00", "26:00")])
    add_place(db, now, "祝日も開く広場", district="fujimi", kind="hiroba", cost_kind="free",
              closed_on_holidays=False, rows=[(0, "09:00", "10:00")])
    add_place(db, now, "特別開館の部屋", district="fujimi", kind="other", cost_kind="free",
              extra_dates=[{"date": "2026-06-06", "open": "13:00", "close": "15:00"}])
    add_place(db, now, "下書きの食堂", district="kozu", kind="shokudo", cost_kind="free", status=DRAFT,
              lat=35.2776, lon=139.2021, rows=[(2, "12:00", "13:00")])
    add_place(db, now, "終了した食堂", district="kozu", kind="shokudo", cost_kind="free", status=WITHDRAWN,
              lat=35.2776, lon=139.2021, rows=[(2, "12:00", "13:00")])


@pytest.fixture(scope="module")
def rt(live_bot):
    return module_data(live_bot, fill)


def names(rt, now=NOON, **kw) -> list[str]:
    return found(rt, find_places, lambda h: h.place.name, now=now, **kw)


ALL_SOONEST = ["緑の放課後クラブ",   # open now (11:00-18:00)
               "国府津こども食堂",   # today 17:00
               "中学生の学習会",     # today 18:00 (第1水曜)
               "前羽ひろば",         # today's 10:00-11:30 is over: Thursday 10:00
               "緑あそび場",         # Saturday 9:00
               "国府津学習室",       # Saturday 10:00
               "特別開館の部屋",     # Saturday 13:00 (an extra date only)
               "祝日も開く広場",     # Monday 9:00
               "夜の居場所"]         # Tuesday 20:00


def test_published_only_open_soonest_first(rt):
    assert names(rt) == ALL_SOONEST
    with rt.sessions() as db:
        [first] = find_places(db, now=NOON, limit=1)
        assert first.opening.start <= NOON < first.opening.end and first.km is None
        assert [h.place.hours[0].weekday for h in find_places(db, now=NOON, limit=2)] == [0, 2]  # hours loaded


@pytest.mark.parametrize("kw, want", [
    (dict(districts=["kozu"]), ["国府津こども食堂", "中学生の学習会", "国府津学習室"]),
    (dict(districts=["kozu", "maeba"]), ["国府津こども食堂", "中学生の学習会", "前羽ひろば", "国府津学習室"]),
    (dict(districts=["nowhere"]), []),
    (dict(kinds=["study"]), ["中学生の学習会", "国府津学習室"]),
    (dict(kinds=["hiroba", "play"]), ["前羽ひろば", "緑あそび場", "祝日も開く広場"]),
    (dict(free=True), ["国府津こども食堂", "中学生の学習会", "前羽ひろば", "緑あそび場", "特別開館の部屋",
                       "祝日も開く広場", "夜の居場所"]),
    # Ages overlap: a place without bounds takes everyone.
    (dict(age=10), ["緑の放課後クラブ", "国府津こども食堂", "緑あそび場", "国府津学習室", "特別開館の部屋", "祝日も開く広場"]),
    (dict(age=(6, 12)), ["緑の放課後クラブ", "国府津こども食堂", "中学生の学習会", "前羽ひろば", "緑あそび場",
                         "国府津学習室", "特別開館の部屋", "祝日も開く広場"]),  # 0-6 and 12-15 touch 6-12
    (dict(age=(0, 6)), ["緑の放課後クラブ", "国府津こども食堂", "前羽ひろば", "緑あそび場", "国府津学習室",
                        "特別開館の部屋", "祝日も開く広場"]),  # ages are inclusive: 6-12 shares 6
    (dict(age=16), ["国府津こども食堂", "緑あそび場", "特別開館の部屋", "祝日も開く広場", "夜の居場所"]),
    (dict(text="学習"), ["中学生の学習会", "国府津学習室"]),
    (dict(text="公民館"), ["国府津こども食堂"]),            # the address
    (dict(text="まなび隊"), ["中学生の学習会"]),            # the organisation
    (dict(text="国府津 学習"), ["中学生の学習会", "国府津学習室"]),  # every word must be found
    (dict(text=["緑", "宿題"]), ["緑の放課後クラブ"]),
    (dict(text="%"), ["緑の放課後クラブ"]),                 # LIKE's wildcards are literal characters
    (dict(text="_"), ["緑の放課後クラブ"]),
    (dict(text="存在しない名前"), []),
    # Combinations.
    (dict(districts=["kozu"], free=True), ["国府津こども食堂", "中学生の学習会"]),
    (dict(districts=["kozu"], kinds=["study"], age=(6, 12)), ["中学生の学習会", "国府津学習室"]),
    (dict(districts=["kozu"], kinds=["study"], age=8), ["国府津学習室"]),
    (dict(free=True, age=(0, 6), kinds=["hiroba"]), ["前羽ひろば", "祝日も開く広場"]),
    (dict(free=True, open_today=True), ["国府津こども食堂", "中学生の学習会"]),
    (dict(districts=["midori"], open_on=date(2026, 6, 6)), ["緑あそび場"]),
])
def test_each_filter_and_combinations(rt, kw, want):
    assert names(rt, **kw) == want


def test_open_today_means_not_over_yet_and_includes_a_night_that_began_yesterday(rt):
    # Wednesday noon: 前羽ひろば's 10:00-11:30 is over; 夜の居場所 opened Tuesday night and closed at 02:00.
    assert names(rt, open_today=True) == ["緑の放課後クラブ", "国府津こども食堂", "中学生の学習会"]
    one_am = datetime(2026, 6, 3, 1, 0, tzinfo=TOKYO)
    assert names(rt, now=one_am, open_today=True) == ["夜の居場所", "前羽ひろば", "緑の放課後クラブ",
                                                      "国府津こども食堂", "中学生の学習会"]
    with rt.sessions() as db:
        [night] = find_places(db, now=one_am, open_today=True, limit=1)
        assert night.opening.start == datetime(2026, 6, 2, 20, 0, tzinfo=TOKYO)
    # Closing time is the boundary: 19:00 closes 国府津こども食堂 (17:00-19:00) and the 第1水曜 study group
    # (18:00-20:00) stays; at 20:00 nothing is left today.
    assert "国府津こども食堂" in names(rt, now=datetime(2026, 6, 3, 18, 59, tzinfo=TOKYO), open_today=True)
    assert names(rt, now=datetime(2026, 6, 3, 19, 0, tzinfo=TOKYO), open_today=True) == ["中学生の学習会"]
    assert names(rt, now=datetime(2026, 6, 3, 20, 0, tzinfo=TOKYO), open_today=True) == []
    # The same instant given in UTC (Tuesday 16:00 UTC) is Wednesday in Tokyo.
    assert names(rt, now=datetime(2026, 6, 2, 16, 0, tzinfo=timezone.utc), open_today=True)[0] == "夜の居場所"


def test_open_on_a_day_uses_that_days_opening_and_respects_holidays(rt):
    saturday = date(2026, 6, 6)
    with rt.sessions() as db:
        hits = find_places(db, now=NOON, open_on=saturday, limit=50)
    assert [h.place.name for h in hits] == ["緑あそび場", "国府津学習室", "特別開館の部屋"]
    assert all(h.opening.start.date() == saturday for h in hits)
    # 2026-07-20 is 海の日 (a Monday): the Monday-Friday club closes on holidays, the other place does not.
    assert names(rt, open_on=date(2026, 7, 20)) == ["祝日も開く広場"]
    assert names(rt, open_on=date(2026, 7, 27)) == ["祝日も開く広場", "緑の放課後クラブ"]
    # 第1水曜 only: the next Wednesday (6/10) has no 中学生の学習会.
    assert "中学生の学習会" not in names(rt, open_on=date(2026, 6, 10))
    assert "中学生の学習会" in names(rt, open_on=date(2026, 7, 1))
    # Several days (週末): the first matching day's opening; a past day matches nothing.
    with rt.sessions() as db:
        hits = find_places(db, now=NOON, open_on=[date(2026, 6, 7), date(2026, 6, 6)], limit=50)
        assert [(h.place.name, h.opening.start.day) for h in hits] == [
            ("緑あそび場", 6), ("国府津学習室", 6), ("特別開館の部屋", 6)]
        sunday_only = find_places(db, now=NOON, open_on=[date(2026, 6, 7)], limit=50)
        assert [h.place.name for h in sunday_only] == ["緑あそび場"]
    assert names(rt, open_on=date(2026, 6, 2)) == [] and names(rt, open_on=[]) == ALL_SOONEST
    # 12/30 is within the year-end closure for everyone.
    assert names(rt, open_on=date(2026, 12, 30)) == []


def test_nearest_first_with_distances(rt):
    with rt.sessions() as db:
        hits = find_places(db, now=NOON, near=KOZU_STATION, limit=50)
    got = [(h.place.name, round(h.km, 2)) for h in hits]
    want = sorted(((n, round(haversine_km(*KOZU_STATION, lat, lon), 2)) for n, lat, lon in [
        ("国府津こども食堂", 35.2785, 139.2025), ("国府津学習室", 35.2800, 139.2050), ("前羽ひろば", 35.2835, 139.2290),
        ("緑の放課後クラブ", 35.2590, 139.1570), ("中学生の学習会", 35.2770, 139.2100),
        ("夜の居場所", 35.2600, 139.1600)]), key=lambda x: x[1])
    assert got == want  # places without a point (緑あそび場 ...) cannot be ordered by distance: left out
    assert got[0] == ("国府津こども食堂", 0.12) and got[-1][0] == "緑の放課後クラブ"
    # Each hit carries its next opening even when sorted by distance.
    assert hits[0].opening.start == datetime(2026, 6, 3, 17, 0, tzinfo=TOKYO)
    # Far from everything the search widens until it has enough: 緑's two places, nearest first.
    assert names(rt, near=HAKONE, limit=2) == ["緑の放課後クラブ", "夜の居場所"]
    assert names(rt, near=(34.9, 139.5), limit=1) == ["前羽ひろば"]  # out at sea, 45 km south-east
    # Combined with filters.
    assert names(rt, near=KOZU_STATION, kinds=["shokudo"]) == ["国府津こども食堂"]
    assert names(rt, near=KOZU_STATION, open_on=date(2026, 6, 6)) == ["国府津学習室"]
    assert names(rt, near=KOZU_STATION, free=True, age=(12, 15)) == ["国府津こども食堂", "中学生の学習会", "夜の居場所"]


def test_paging_gives_every_hit_once_in_order(rt):
    for kw in ({}, {"near": KOZU_STATION}, {"free": True}):
        whole = names(rt, **kw)
        pages = [names(rt, limit=2, offset=o, **kw) for o in range(0, len(whole) + 2, 2)]
        assert [n for p in pages for n in p] == whole
        assert pages[-1] == []
    assert names(rt, limit=0) == []


@pytest.mark.parametrize("km", [0.5, 2.0, 5.0, 15.0, 50.0])
def test_the_search_box_holds_every_point_within_its_radius(km):
    """The box narrows in SQL and the haversine decides after it: a point inside the radius that the box left
    out would be missed. Points on the circle, every 5 degrees of bearing, around 国府津 station."""
    south, north, west, east = bbox(*KOZU_STATION, km)
    lat0, lon0 = map(math.radians, KOZU_STATION)
    d = km * 0.9999 / EARTH_RADIUS_KM
    for bearing in map(math.radians, range(0, 360, 5)):
        lat = math.asin(math.sin(lat0) * math.cos(d) + math.cos(lat0) * math.sin(d) * math.cos(bearing))
        lon = lon0 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(lat0),
                                math.cos(d) - math.sin(lat0) * math.sin(lat))
        point = (math.degrees(lat), math.degrees(lon))
        assert haversine_km(*KOZU_STATION, *point) < km
        assert south <= point[0] <= north and west <= point[1] <= east, (km, math.degrees(bearing))
