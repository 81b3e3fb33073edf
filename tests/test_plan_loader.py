"""Loading cities/<city>/plan.yaml, districts.yaml and glossary.yaml: validation with line numbers, idempotency,
stable ids."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from bot.db import make_engine, make_sessions
from bot.plan_loader import PlanFileError, default_plan_path, load
from models.plan import Action, District, GlossaryTerm, PlanInfo, Project, RoadmapItem
from tests.conftest import wipe

ODAWARA = default_plan_path("odawara")
T0 = datetime(2026, 4, 1, tzinfo=timezone.utc)
TABLES = (PlanInfo, Project, Action, RoadmapItem, District, GlossaryTerm)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url, pool_size=2)
    wipe(SimpleNamespace(engine=engine))
    yield make_sessions(engine)
    engine.dispose()


@pytest.fixture
def city(tmp_path):
    """A copy of the Odawara folder the test may edit."""
    for name in ("plan.yaml", "districts.yaml", "glossary.yaml"):
        shutil.copy(ODAWARA.with_name(name), tmp_path / name)
    return tmp_path


def snapshot(sessions) -> dict:
    with sessions() as db:
        out = {}
        for model in TABLES:
            for row in db.scalars(select(model)):
                key = (getattr(row, "number", None) or getattr(row, "key", None) or getattr(row, "term", None)
                       or row.id)
                if model is RoadmapItem:
                    key = (row.action_id, row.position)
                out[(model.__tablename__, key)] = (row.id, row.updated_at)
        return out


def counts(sessions) -> dict:
    with sessions() as db:
        return {m.__tablename__: db.scalar(select(func.count()).select_from(m)) for m in TABLES}


def test_odawara_loads_completely(sessions):
    report = load(sessions, ODAWARA, T0)
    assert counts(sessions) == {"plan_info": 1, "plan_projects": 7, "plan_actions": 21, "plan_roadmap_items": 98,
                                "districts": 26, "plan_glossary": 10}
    assert report.inserted["plan_projects"] == 7
    # In words a city employee uses, not table names (`kyodo plan load` and `make demo` print it).
    assert report.summary() == ("added 7 projects, 21 actions, 98 roadmap items, 26 districts, 10 glossary terms, "
                                "5 pillars, 5 forces, 2 periods, the city name and vision")
    with sessions() as db:
        a103 = db.scalar(select(Action).where(Action.number == 103))
        assert a103.merged_into == [102, 104] and "102と104" in a103.note and a103.roadmap == []
        item = db.scalar(select(RoadmapItem).join(Action).where(Action.number == 101, RoadmapItem.position == 1))
        assert (item.from_fy, item.to_fy, item.period, item.text) == (2027, 2029, 1, "第5期計画の進捗管理")
        kataura = db.scalar(select(District).where(District.key == "kataura"))
        assert (kataura.name, kataura.kana, kataura.organisation) == ("片浦", "かたうら", None)
        assert (kataura.lat, kataura.lon, kataura.center_estimated, kataura.aliases) == (35.2, 139.138, False, [])
        aratama = db.scalar(select(District).where(District.key == "aratama"))
        assert (aratama.lat, aratama.lon, aratama.center_estimated) == (35.251, 139.164, True)
        maeba = db.scalar(select(District).where(District.key == "maeba"))
        assert (maeba.name, maeba.kana, maeba.aliases) == ("前羽", "まえば", ["橘南"])
        terms = {g.term: g for g in db.scalars(select(GlossaryTerm))}
        assert terms["UDCOD"].confirmed and terms["UDCOD"].gloss.startswith("アーバンデザインセンター小田原")
        assert not terms["おだタク"].confirmed and terms["おだタク"].gloss is None


def test_loading_twice_changes_nothing(sessions, database_url):
    load(sessions, ODAWARA, T0)
    before, n_before = snapshot(sessions), counts(sessions)
    engine = sessions.kw["bind"]
    writes: list[str] = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        report = load(sessions, ODAWARA, T0 + timedelta(days=1))
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert not report.changed and report.summary() == "no changes"
    assert writes == []
    assert snapshot(sessions) == before and counts(sessions) == n_before


def test_a_changed_file_updates_in_place_and_keeps_ids(sessions, city):
    load(sessions, city / "plan.yaml", T0)
    before = snapshot(sessions)
    text = (city / "plan.yaml").read_text("utf-8")
    text = text.replace("name: 地域福祉計画の策定と推進", "name: 地域福祉計画の策定と推進（改）")
    text = text.replace('text: "第5期計画の進捗管理"', 'text: "第5期計画の進捗管理（改）"')
    # Drop action 702 (the last block of the file) and add a roadmap item to 103.
    text = text[: text.index('      - "no": 702')]
    text = text.replace("        roadmap: []\n      - \"no\": 104",
                        "        roadmap:\n          - {from_fy: 2026, to_fy: 2026, period: 1, text: \"新しい項目\"}\n"
                        "      - \"no\": 104", 1)
    (city / "plan.yaml").write_text(text, "utf-8")
    (city / "districts.yaml").write_text(
        (city / "districts.yaml").read_text("utf-8").replace("kana: かたうら", "kana: かたうら（テスト）"), "utf-8")
    t1 = T0 + timedelta(days=1)
    report = load(sessions, city / "plan.yaml", t1)
    assert report.updated == {"plan_actions": 1, "plan_roadmap_items": 1, "districts": 1}
    assert report.deleted == {"plan_actions": 1} and report.inserted == {"plan_roadmap_items": 1}
    after = snapshot(sessions)
    changed = {k for k in after if k in before and after[k][1] != before[k][1]}
    with sessions() as db:
        a101 = db.scalar(select(Action).where(Action.number == 101))
        a103 = db.scalar(select(Action).where(Action.number == 103))
        kataura_id = db.scalar(select(District.id).where(District.key == "kataura"))
    assert changed == {("plan_actions", 101), ("plan_roadmap_items", (a101.id, 1)), ("districts", "kataura")}
    # Every surviving row kept its id; only changed rows got a new updated_at.
    for k, (row_id, _) in before.items():
        if k in after:
            assert after[k][0] == row_id
    assert ("plan_actions", 702) not in after
    assert ("plan_roadmap_items", (a103.id, 0)) in after
    assert after[("districts", "kataura")][0] == kataura_id


def _expect_refused(sessions, path: Path, *fragments: str) -> list[str]:
    before, n = snapshot(sessions), counts(sessions)
    with pytest.raises(PlanFileError) as info:
        load(sessions, path, T0 + timedelta(days=2))
    assert snapshot(sessions) == before and counts(sessions) == n  # the database was left as it was
    text = str(info.value)
    for f in fragments:
        assert f in text, text
    return info.value.problems


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line)


def test_a_bad_file_is_refused_with_line_and_field(sessions, city):
    load(sessions, ODAWARA, T0)
    plan = city / "plan.yaml"
    text = plan.read_text("utf-8")
    text = text.replace('{from_fy: 2027, to_fy: 2029, period: 1, text: "第5期計画の進捗管理"}',
                        '{from_fy: 2027, to_fy: "2029年", period: 1, text: "第5期計画の進捗管理"}')
    text = text.replace('      - "no": 302', "      - no: 302")
    text = text.replace("    name: 人と地域のつながり創出", "    title: 人と地域のつながり創出")
    plan.write_text(text, "utf-8")
    problems = _expect_refused(sessions, plan)
    line_fy = _line(plan, '"2029年"')
    line_no = _line(plan, "- no: 302")
    line_title = _line(plan, "title: 人と地域")
    assert any(p.startswith(f"plan.yaml:{line_fy}: projects[0].actions[0].roadmap[1].to_fy:") for p in problems)
    assert any(p.startswith(f"plan.yaml:{line_no}: key no is read as true/false") for p in problems)
    assert any(p.startswith(f"plan.yaml:{line_title}: projects[3].title: Extra inputs") for p in problems)
    assert any("projects[3].name: Field required" in p for p in problems)


def test_cross_checks_and_yaml_syntax_errors_name_the_line(sessions, city):
    load(sessions, ODAWARA, T0)
    plan = city / "plan.yaml"
    good = plan.read_text("utf-8")
    plan.write_text(good.replace('      - "no": 202', '      - "no": 201', 1)
                    .replace("merged_into: [102, 104]", "merged_into: [102, 105]"), "utf-8")
    problems = _expect_refused(sessions, plan, "duplicate action number 201", "no other action numbered 105")
    assert any(p.startswith(f"plan.yaml:{_line(plan, 'merged_into: [102, 105]')}:") for p in problems)
    plan.write_text(good.replace("vision: 誰もが", "vision: [誰もが", 1), "utf-8")
    _expect_refused(sessions, plan, "YAML syntax", f"on line {_line(plan, 'vision: [')})")
    # A bad districts file refuses the plan too: one load, all or nothing.
    plan.write_text(good.replace("vision: 誰もが笑顔で", "vision: 変更されたビジョン", 1), "utf-8")
    d = city / "districts.yaml"
    d.write_text(d.read_text("utf-8").replace("center: {lat: 35.200, lon: 139.138}", "center: {lat: 135.2}"), "utf-8")
    _expect_refused(sessions, plan, "districts.yaml:", "districts[11].center.lat",
                    "districts[11].center.lon: Field required")
    with sessions() as db:
        assert db.get(PlanInfo, 1).vision.startswith("誰もが笑顔で")


def test_glossary_and_district_mistakes_are_refused_with_their_line(sessions, city):
    load(sessions, ODAWARA, T0)
    plan, glossary, districts = city / "plan.yaml", city / "glossary.yaml", city / "districts.yaml"
    good_glossary, good_districts = glossary.read_text("utf-8"), districts.read_text("utf-8")
    glossary.write_text(good_glossary.replace("    gloss: 宣伝\n", ""), "utf-8")
    problems = _expect_refused(sessions, plan, "PR: write a gloss, or mark the term `check: true`")
    assert problems[0].startswith(f"glossary.yaml:{_line(glossary, 'term: PR')}: terms[7]:")
    glossary.write_text(good_glossary + "  - {term: CSW, gloss: もう一度}\n", "utf-8")
    _expect_refused(sessions, plan, "duplicate term 'CSW'")
    # A term the plan never uses is loaded, with a note naming its line (a typo would never be shown).
    glossary.write_text(good_glossary.replace("  - term: UDCOD", "  - term: UDCDO"), "utf-8")
    report = load(sessions, plan, T0)
    assert report.warnings == [f"glossary.yaml:{_line(glossary, 'term: UDCDO')}: terms[2].term: "
                               "'UDCDO' does not appear in plan.yaml, so it is never shown"]
    glossary.write_text(good_glossary, "utf-8")
    districts.write_text(good_districts.replace("lon: 139.205}", "lon: 139.205, estimated: maybe}"), "utf-8")
    _expect_refused(sessions, plan, "districts[14].center.estimated: Input should be a valid boolean")
    districts.write_text(good_districts.replace("aliases: [橘南]", "aliases: [国府津]"), "utf-8")
    problems = _expect_refused(sessions, plan, "alias '国府津' is the name of a district")
    assert problems[0].startswith(f"districts.yaml:{_line(districts, 'aliases: [国府津]')}: districts[24].aliases[0]")


TINY_PLAN = """\
city: 架空市
vision: みんなのまち
periods:
  - {key: 1, name: 第1期, from_fy: 2027, to_fy: 2029}
projects:
  - "no": 1
    key: parks
    name: 公園のある暮らし
    goal: 公園を増やします。
    actions:
      - "no": 11
        name: 公園の整備
        details: [公園を整備する。]
        roadmap:
          - {from_fy: 2027, to_fy: 2028, period: 1, text: "設計"}
"""
TINY_DISTRICTS = """\
districts:
  - {key: east, name: 東, kana: ひがし, organisation: 東地区連合会, center: {lat: 35.0, lon: 139.0}}
  - {key: west, name: 西, kana: null, organisation: null, center: null}
"""


def test_another_city_loads_its_own_folder_with_the_cli(sessions, database_url, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    load(sessions, ODAWARA, T0)
    folder = tmp_path / "kaku"
    folder.mkdir()
    (folder / "plan.yaml").write_text(TINY_PLAN, "utf-8")
    (folder / "districts.yaml").write_text(TINY_DISTRICTS, "utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    assert main(["plan", "load", str(folder / "plan.yaml")]) == 0
    # What changed, in words a city employee uses, not table names.
    assert capsys.readouterr().out == (
        f"loaded {folder / 'plan.yaml'} and districts.yaml: added 1 action, 1 roadmap item, 2 districts; "
        "changed 1 project, 1 period, the city name and vision; "
        "removed 6 projects, 21 actions, 26 districts, 5 pillars, 5 forces, 1 period\n")
    assert counts(sessions) == {"plan_info": 1, "plan_projects": 1, "plan_actions": 1, "plan_roadmap_items": 1,
                                "districts": 2, "plan_glossary": 10}  # no glossary.yaml: the old one is kept
    with sessions() as db:
        assert db.get(PlanInfo, 1).city_name == "架空市"
        east = db.scalar(select(District).where(District.key == "east"))
        assert (east.organisation, east.lat) == ("東地区連合会", 35.0)
    assert main(["plan", "load", str(folder / "plan.yaml")]) == 0
    assert "no changes" in capsys.readouterr().out
    (folder / "plan.yaml").write_text(TINY_PLAN.replace('"no": 11', "no: 11"), "utf-8")
    assert main(["plan", "load", str(folder / "plan.yaml")]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err and "plan.yaml:11: key no is read as true/false" in err
