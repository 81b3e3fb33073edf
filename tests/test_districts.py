"""The 26 地区 of cities/odawara/districts.yaml, as `kyodo plan load` stores them: names, aliases and centres."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from bot.db import make_engine, make_sessions
from bot.plan_loader import default_plan_path, load
from models import plan as P
from tests.conftest import wipe

DISTRICTS_FILE = default_plan_path("odawara").with_name("districts.yaml")
# Odawara's extent with a little margin: 35.18-35.33 N, 139.07-139.24 E.
LAT, LON = (35.18, 35.33), (139.07, 139.24)


@pytest.fixture
def districts(database_url):
    from types import SimpleNamespace

    engine = make_engine(database_url, pool_size=1)
    wipe(SimpleNamespace(engine=engine))
    sessions = make_sessions(engine)
    load(sessions, default_plan_path("odawara"), datetime(2026, 4, 1, tzinfo=timezone.utc))
    with sessions() as db:
        rows = P.districts(db)
        db.expunge_all()
    yield rows
    engine.dispose()


def test_the_26_districts_are_the_federation_s_26(districts):
    names = [d.name for d in districts]
    assert len(districts) == 26
    assert "富士見" in names            # split from 下府中 in 2013
    assert "南鴨宮" not in names        # a town name, not a 地区 with a 自治会連合会
    assert "前羽" in names and "橘南" not in names
    maeba = next(d for d in districts if d.name == "前羽")
    assert (maeba.kana, maeba.aliases) == ("まえば", ["橘南"])
    assert len({d.key for d in districts}) == 26 and len(set(names)) == 26
    aliases = [a for d in districts for a in d.aliases]
    assert not set(aliases) & set(names) and len(aliases) == len(set(aliases))


def test_every_district_has_a_centre_inside_the_city_and_estimates_are_marked(districts):
    for d in districts:
        assert d.lat is not None and d.lon is not None, d.name
        assert LAT[0] <= d.lat <= LAT[1] and LON[0] <= d.lon <= LON[1], (d.name, d.lat, d.lon)
    centres = {(d.lat, d.lon) for d in districts}
    assert len(centres) == 26  # no two districts share a point
    estimated = {d.name for d in districts if d.center_estimated}
    assert {"新玉", "万年", "幸", "十字", "芦子", "二川", "富士見", "前羽"} <= estimated
    assert {d.name for d in districts} - estimated == {"早川", "片浦", "国府津", "下曽我"}  # on known stations


def test_the_file_says_where_its_names_come_from_and_what_to_check():
    text = DISTRICTS_FILE.read_text("utf-8")
    assert "CHECK BEFORE RELEASE" in text and "前羽地区自治会連合会" in text and "平成25年4月" in text
    for d in yaml.safe_load(text)["districts"]:
        if (d.get("center") or {}).get("estimated"):
            line = next(ln for ln in text.splitlines() if f"lat: {d['center']['lat']:.3f}" in ln)
            assert "#" in line, d["name"]  # every estimate says what it was placed on
