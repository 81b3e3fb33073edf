"""Something new in the plan (bot/plan_news.py): after `kyodo plan load` adds an action, or a roadmap item for
this or next fiscal year, to an already-loaded plan, the residents who follow that project, or a 地区 the new
item names, hear about it once: one publication per project, topic 計画の進み具合, at once for "now" residents,
in the weekly digest for "weekly" ones. A first load, a reload, a rewording and a deletion send nothing.
The city's real plan file, copied and edited; frozen clock (June 2026: 令和8年度); both databases."""
from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot import plan_news
from bot.clock import TOKYO
from bot.fanout import Fanout
from bot.plan_loader import default_plan_path, load
from bot.publish import report
from bot.segments import Segment
from models.publications import Publication
from scheduler import digest
from tests.fanout_support import NOON, audience, bubbles_of, received
from tests.test_fiscal_year_push import resident

ODAWARA = default_plan_path("odawara")
DIGEST_SLOT = datetime(2026, 6, 5, 18, 0, tzinfo=TOKYO)   # the Friday after NOON (Monday 1 June)

NEW_ACTION = '''\
      - "no": 305
        name: こども食堂のネットワークづくり
        details:
          - 国府津地区で、こども食堂を運営する団体が情報を交換する場を試行する
        roadmap:
          - {from_fy: 2026, to_fy: 2027, period: 1, text: "ネットワーク会議の試行"}
'''
FESTIVAL = '"子育て支援フェスティバルの開催"}  # judgement: lone cell → all 7 years\n'
NEW_ITEM_301 = '          - {from_fy: 2027, to_fy: 2028, period: 1, text: "子育て支援団体の合同説明会"}\n'
FIRST_101 = '          - {from_fy: 2026, to_fy: 2026, period: 1, text: "市民意識調査 第5期計画策定"}\n'
NEW_ITEM_101 = '          - {from_fy: 2026, to_fy: 2027, period: 1, text: "地域福祉の出張相談会"}\n'
FAR_ITEM_101 = '          - {from_fy: 2031, to_fy: 2032, period: 2, text: "遠い先の新しい項目"}\n'
LAST_101 = '"第6期計画の進捗管理"}\n'


def edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text("utf-8")
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, "utf-8")


@pytest.fixture
def city(tmp_path):
    """A copy of the Odawara folder (original/) and one with additions (added/)."""
    for name in ("original", "added"):
        (tmp_path / name).mkdir()
        for f in ("plan.yaml", "districts.yaml", "glossary.yaml"):
            shutil.copy(ODAWARA.with_name(f), tmp_path / name / f)
    edit(tmp_path / "added" / "plan.yaml",
         # a new action in project 3, naming 国府津地区
         ("\n  # ------------------------------------------------------------------ 4\n",
          NEW_ACTION + "\n  # ------------------------------------------------------------------ 4\n"),
         # a roadmap item added at the end of 301 (next year)
         (FESTIVAL, FESTIVAL + NEW_ITEM_301),
         # one inserted in the middle of 101 (this year), one far ahead at its end (not news)
         (FIRST_101, FIRST_101 + NEW_ITEM_101),
         (LAST_101, LAST_101 + FAR_ITEM_101))
    return SimpleNamespace(original=tmp_path / "original" / "plan.yaml", added=tmp_path / "added" / "plan.yaml")


def news_pubs(db) -> dict[str, Publication]:
    return {p.ref: p for p in db.scalars(select(Publication).where(Publication.purpose == plan_news.PURPOSE))}


def n_pubs(rt) -> int:
    with rt.sessions() as db:
        return db.scalar(select(func.count()).select_from(Publication))


def people(rt) -> dict:
    with rt.sessions() as db:
        out = dict(
            p3_now=resident(db, projects=(3,), topics=("progress",)),
            p3_weekly=resident(db, projects=(3,), topics=("progress",), frequency="weekly"),
            p3_events=resident(db, projects=(3,), topics=("events",)),
            p3_defaults=resident(db, projects=(3,)),   # never chose topics: only 市からのお知らせ
            p3_off=resident(db, projects=(3,), topics=("progress",), frequency="off"),
            p3_gone=resident(db, projects=(3,), topics=("progress",), active=False),
            kozu_now=resident(db, districts=("kozu",), topics=("progress",)),
            kataura_now=resident(db, districts=("kataura",), topics=("progress",)),
            p1_now=resident(db, projects=(1,), topics=("progress",)),
            p1_3_kozu=resident(db, projects=(1, 3), districts=("kozu",), topics=("progress",)),
            p2_now=resident(db, projects=(2,), topics=("progress",)),
        )
        db.commit()
        return {k: (u.id, u.line_user_id) for k, u in out.items()}


def test_additions_reach_exactly_the_projects_and_districts_residents_once(bot, emulator, city):
    rt = bot.rt
    bot.clock.set(NOON)
    who = people(rt)

    first = load(rt.sessions, city.original, rt.now())
    assert first.news == [] and n_pubs(rt) == 0   # a first load: everything is new, nothing is news

    rep = load(rt.sessions, city.added, rt.now())
    assert rep.inserted == {"plan_actions": 1, "plan_roadmap_items": 4}
    with rt.sessions() as db:
        pubs = news_pubs(db)
        assert len(pubs) == 2 and n_pubs(rt) == 2    # one per project with additions (1 and 3), nothing else
        pub1, = (p for r, p in pubs.items() if r.startswith("plan:1:"))
        pub3, = (p for r, p in pubs.items() if r.startswith("plan:3:"))
        assert rep.news == [pub1.title, pub3.title]
        for p in (pub1, pub3):
            assert (p.topic, p.frequencies, p.urgent) == ("progress", ["now"], False)
            assert len(p.messages) <= 5
        # Project 3's action names 国府津地区: its subscribers hear too; project 1's items name none.
        assert Segment.from_json(pub3.segment) == Segment(projects=(3,), districts=("kozu",))
        assert Segment.from_json(pub1.segment) == Segment(projects=(1,))
        ids = {k: v[0] for k, v in who.items()}
        assert audience(db, pub3) == sorted([ids["p3_now"], ids["kozu_now"], ids["p1_3_kozu"]])
        assert audience(db, pub1) == sorted([ids["p1_now"], ids["p1_3_kozu"]])

        # What project 3's residents read: the project by name, and one bubble per new item.
        intro = pub3.messages[0]["text"]
        assert intro.startswith("プロジェクト3「こども未来共創」の計画に、新しい取組が加わりました（2件）。")
        assert "スライド" in intro
        b_action, b_item = bubbles_of(pub3)
        shown = json.dumps(b_action, ensure_ascii=False)
        assert "新しいアクション" in shown and "アクション305" in shown and "こども食堂のネットワークづくり" in shown
        assert "ネットワーク会議の試行" in shown and "令和8〜9年度（2026〜2027年度）" in shown
        shown = json.dumps(b_item, ensure_ascii=False)
        assert "子育て支援団体の合同説明会" in shown and "アクション301" in shown
        assert "令和9〜10年度（2027〜2028年度）" in shown
        assert b_action["footer"]["contents"][0]["action"]["label"] == "くわしく見る"
        assert "plan.action" in b_item["footer"]["contents"][0]["action"]["data"]
        assert pub3.title == "プロジェクト3「こども未来共創」に新しい取組（2件）"
        # Project 1: the item inserted in the middle of 101 is news; the one for 令和13年度 is not.
        (only,) = bubbles_of(pub1)
        shown = json.dumps(pub1.messages, ensure_ascii=False)
        assert "地域福祉の出張相談会" in shown and "遠い先の新しい項目" not in shown
        assert "▶ 今年度に実施" in shown
        assert pub1.messages[1]["contents"]["type"] == "bubble"   # one item: a bubble, not a carousel of one
        assert "スライド" not in pub1.messages[0]["text"]

    # The same file again: nothing new, nothing published.
    again = load(rt.sessions, city.added, rt.now())
    assert again.news == [] and n_pubs(rt) == 2
    # Removed and added back: the same additions are not announced twice (same ref).
    load(rt.sessions, city.original, rt.now())
    assert load(rt.sessions, city.added, rt.now()).news == [] and n_pubs(rt) == 2

    # End to end: `kyodo deliver` sends each publication once to its "now" residents (one push per project).
    fan = Fanout(rt, threads=2, rate=0).start()
    try:
        fan.drain()
    finally:
        fan.shutdown()
    line = {k: v[1] for k, v in who.items()}
    assert received(emulator) == {
        line["p3_now"]: 1, line["kozu_now"]: 1, line["p1_now"]: 1, line["p1_3_kozu"]: 2}
    with rt.sessions() as db:
        reports = {r: report(db, p.id) for r, p in news_pubs(db).items()}
        assert sorted(r["reached"] for r in reports.values()) == [2, 3]
        assert all(r["failed"] == 0 for r in reports.values())


def test_weekly_residents_find_it_in_their_digest(bot, city):
    rt = bot.rt
    bot.clock.set(NOON)
    who = people(rt)
    load(rt.sessions, city.original, rt.now())
    load(rt.sessions, city.added, rt.now())
    bot.clock.set(DIGEST_SLOT)
    with rt.sessions() as db:
        assert digest.run(rt, db, DIGEST_SLOT) == 1
        db.commit()
        pub3, = (p for r, p in news_pubs(db).items() if r.startswith("plan:3:"))
        (d,) = db.scalars(select(Publication).where(Publication.purpose == "digest"))
        # Only the weekly follower of project 3 (the other residents hear pushes at once, or not at all).
        assert list(Segment.from_json(d.segment).user_ids) == [who["p3_weekly"][0]]
        assert digest.title_of(pub3) in d.messages[0]["text"]
        assert "（1件）" in d.messages[0]["text"]


def test_rewording_deleting_and_loading_quietly_publish_nothing(bot, city):
    rt = bot.rt
    bot.clock.set(NOON)
    people(rt)
    load(rt.sessions, city.original, rt.now())
    reworded = city.original.with_name("reworded.yaml")
    shutil.copy(city.original, reworded)
    edit(reworded,
         ("name: こども・若者の活躍促進", "name: こども・若者の活躍の促進"),
         ('"子育て支援フェスティバルの開催"', '"子育て支援フェスティバル（年1回）の開催"'),
         ('{from_fy: 2026, to_fy: 2027, period: 1, text: "第1期プロジェクトの推進"}',
          '{from_fy: 2026, to_fy: 2028, period: 1, text: "第1期プロジェクトの推進"}'),
         # and one item deleted from 101
         (FIRST_101, ""))
    rep = load(rt.sessions, reworded, rt.now())
    assert rep.updated and rep.deleted and not rep.inserted.get("plan_actions")
    assert rep.news == [] and n_pubs(rt) == 0
    # The additions loaded with publishing turned off (kyodo plan load --no-publish): nothing goes out, and
    # they are not news at the next load either (they are in the plan by then).
    # (Loading the original again would bring 101's deleted item back: an addition, so it is loaded quietly.)
    load(rt.sessions, city.original, rt.now(), publish_news=False)
    assert n_pubs(rt) == 0
    quiet = load(rt.sessions, city.added, rt.now(), publish_news=False)
    assert quiet.inserted.get("plan_actions") == 1 and quiet.news == [] and n_pubs(rt) == 0
    assert load(rt.sessions, city.added, rt.now()).news == [] and n_pubs(rt) == 0


def test_the_cli_says_what_it_published_and_no_publish_skips_it(bot, city, database_url, monkeypatch, capsys):
    from bot.cli import main

    rt = bot.rt
    people(rt)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(city.original.parent)  # no .env from the repository
    assert main(["plan", "load", str(city.original)]) == 0
    assert "published" not in capsys.readouterr().out
    assert main(["plan", "load", "--no-publish", str(city.added)]) == 0
    assert "published" not in capsys.readouterr().out and n_pubs(rt) == 0
    assert main(["plan", "load", str(city.original)]) == 0
    capsys.readouterr()
    assert main(["plan", "load", str(city.added)]) == 0
    out = capsys.readouterr().out
    assert "  published to followers: プロジェクト1「ケアタウン」に新しい取組（1件）" in out
    assert "  published to followers: プロジェクト3「こども未来共創」に新しい取組（2件）" in out
    assert n_pubs(rt) == 2


def test_districts_are_named_only_as_whole_district_words(bot):
    from models import plan as P

    load(bot.rt.sessions, ODAWARA, bot.rt.now())
    with bot.rt.sessions() as db:
        ds = P.districts(db)
        assert plan_news.districts_named(["利用者数の多い片浦地区で本格運行"], ds) == ["kataura"]
        assert plan_news.districts_named(["酒匂地区と橘南地区"], ds) == ["sakawa_koyawata", "maeba"]
        # Not a 地区 of the city: parts of longer names, and bare names inside ordinary words.
        assert plan_news.districts_named(["小田原駅周辺地区", "市内各地区", "緑化と幸せ", "早川の清掃"], ds) == []


def test_added_positions_tell_additions_from_rewordings():
    a, b, c, x = (2026, 2026, "a"), (2027, 2028, "b"), (2029, 2032, "c"), (2026, 2027, "x")
    assert plan_news.added_positions([a, b, c], [a, x, b, c]) == [1]      # inserted in the middle
    assert plan_news.added_positions([a, b, c], [a, b, c, x]) == [3]      # appended
    assert plan_news.added_positions([a, b, c], [a, (2027, 2028, "b2"), c]) == []   # reworded in place
    assert plan_news.added_positions([a, b, c], [a, c]) == []             # deleted
    assert plan_news.added_positions([], [x]) == [0]
