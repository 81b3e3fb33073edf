"""The plan's text rules, on LINE and on the web alike: sentences never cut, the short goal read from its start,
no nested year brackets, one 「（令和N年度から）」 rule, and a 用語 note for every abbreviation the plan leaves
unexplained."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot.clock import TOKYO
from bot.plan_loader import default_plan_path, load
from bot.postback import encode
from handlers.plan_text import BUBBLE_CHARS, excerpt, pages_by_chars, paragraphs, sentences
from tests.test_plan_bot import Chat, bubbles, texts

ROOT = Path(__file__).resolve().parent.parent
PLAN = yaml.safe_load((ROOT / "cities/odawara/plan.yaml").read_text("utf-8"))
GLOSSARY = yaml.safe_load((ROOT / "cities/odawara/glossary.yaml").read_text("utf-8"))["terms"]
ACTIONS = [a for p in PLAN["projects"] for a in p["actions"]]
NESTED = re.compile(r"（[^（）]*（[^（）]*）[^（）]*）")   # a bracket inside a bracket


def _html_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def plan_bot(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    return bot


# -- sentences -----------------------------------------------------------------------------------------------

def test_sentences_split_after_maru_and_lose_nothing():
    assert sentences("一つ目。二つ目。三つ目") == ["一つ目。", "二つ目。", "三つ目"]
    assert sentences("「終わり。」次。") == ["「終わり。」", "次。"]
    for a in ACTIONS:
        for bullet in a.get("details", []):
            assert "".join(sentences(bullet)) == bullet.replace("\n", "")


def test_paragraphs_and_bubbles_keep_every_sentence_whole():
    for a in ACTIONS:
        details = a.get("details", [])
        paras = paragraphs(details)
        assert "".join(t for _, t in paras) == "".join(details)
        whole = set(s for d in details for s in sentences(d))
        for _, t in paras:
            # each paragraph is a run of whole sentences
            assert "".join(s for s in sentences(t)) == t and all(s in whole for s in sentences(t))
        for page in pages_by_chars(paras):
            assert len(page) == 1 or sum(len(t) for _, t in page) <= BUBBLE_CHARS


def test_the_short_goal_reads_from_the_start_in_whole_sentences():
    for p in PLAN["projects"]:
        goal = p["goal"].replace("\n", "")
        ex = excerpt(p["goal"])
        kept = ex.removesuffix("…")
        assert goal.startswith(kept), (p["no"], ex)             # never cut from the front
        assert kept.endswith("。") and sentences(kept) == sentences(goal)[:len(sentences(kept))]
        assert ex.endswith("…") == (kept != goal)                 # … exactly when something was left out
        assert len(sentences(kept)) == 1 or len(kept) <= 100
    assert excerpt(PLAN["projects"][0]["goal"]).startswith("すべての人が、年齢や障がいの有無")
    assert excerpt("一つ目の文です。二つ目。") == "一つ目の文です。二つ目。"
    assert excerpt("長い文。" + "あ" * 120 + "。") == "長い文。…"


# -- years ---------------------------------------------------------------------------------------------------

def test_this_year_is_said_without_nested_brackets_on_line_and_the_web(plan_bot, emulator, user_id):
    plan_bot.clock.set(datetime(2026, 6, 1, tzinfo=TOKYO))
    chat = Chat(plan_bot, emulator, user_id)
    said: list[str] = []
    for data in (encode("plan.year"), encode("plan.year", id=1), encode("plan.action", no=101),
                 encode("plan.list")):
        for m in chat.tap(data):
            said += [m.get("text", ""), m.get("altText", ""), *texts(m)]
    assert any(s.startswith("今年度は令和8年度（2026年度）、来年度は令和9年度（2027年度）です。") for s in said)
    assert any("今年度は令和8年度（2026年度）です" in s for s in said if s)
    assert [s for s in said if NESTED.search(s)] == []
    web = plan_bot.app.test_client()
    for path in ("/plan", "/plan/1", "/plan/actions/101"):
        page = _html_text(web.get(path).get_data(as_text=True))
        assert "今年度は令和8年度（2026年度）" in page
        assert NESTED.findall(page) == [], path
    plan_bot.clock.set(datetime(2033, 6, 1, tzinfo=TOKYO))  # after the plan: 「計画期間は…で終わりました」
    assert "計画期間は令和14年度（2032年度）で終わりました" in _html_text(
        web.get("/plan/actions/101").get_data(as_text=True))
    status = [t for m in chat.tap(encode("plan.action", no=101)) for t in texts(m) if "計画期間" in t]
    assert status and not any(NESTED.search(t) for t in status)


STARTS_TAG = re.compile(r"^(.*)（(令和\d+年度)から）$")


def _tagged_on_line(messages: list[dict]) -> set[tuple[str, str, str]]:
    """(year heading, item, year named) for items the LINE year view tags 「（令和N年度から）」."""
    out, heading = set(), ""
    for m in messages:
        for b in bubbles(m):
            for t in texts(b["body"]):
                assert "この年度" not in t, t  # ambiguous next to 今年度
                if "年度　" in t:
                    heading = t.split("　")[0].removeprefix("▶ ")
                elif tag := STARTS_TAG.match(t):
                    out.add((heading, tag.group(1).removeprefix("・"), tag.group(2)))
    return out


def _tagged_on_web(html: str) -> set[tuple[str, str, str]]:
    out, heading = set(), ""
    assert "この年度" not in html
    for m in re.finditer(r"<h3[^>]*>(.*?)</h3>|<li>(.*?)</li>", html, re.S):
        if m.group(1) is not None:
            heading = _html_text(m.group(1)).strip().split("　")[0].removeprefix("▶ ")
        elif tag := STARTS_TAG.match(m.group(2)):
            out.add((heading, tag.group(1), tag.group(2)))
    return out


@pytest.mark.parametrize("year", [2026, 2027, 2029])
def test_from_this_year_follows_one_rule_on_line_and_the_web(plan_bot, emulator, user_id, year):
    plan_bot.clock.set(datetime(year, 6, 1, tzinfo=TOKYO))
    chat, web = Chat(plan_bot, emulator, user_id), plan_bot.app.test_client()
    for p in PLAN["projects"]:
        # A span starts "this year" only when it begins after the plan's first year (2026): every row of the
        # city's 線表 opens in 2026, including work already under way.
        expected = {(title, it["text"], f"令和{fy - 2018}年度") for title, fy in (("今年度", year), ("来年度", year + 1))
                    for a in p["actions"] for it in a["roadmap"] if it["from_fy"] == fy and fy > 2026}
        on_line = _tagged_on_line(chat.tap(encode("plan.year", id=p["no"])))
        on_web = _tagged_on_web(web.get(f"/plan/{p['no']}").get_data(as_text=True))
        assert on_line == expected and on_web == expected, p["no"]
    if year == 2026:
        assert not any(t == "今年度" for t, _, _ in _tagged_on_web(web.get("/plan/1").get_data(as_text=True)))
    # The all-projects view names the same year the same way.
    overview = [t for m in chat.tap(encode("plan.year")) for t in texts(m)]
    assert not any("来年度から新たに" in t for t in overview)
    assert any(t == f"令和{year + 1 - 2018}年度から新たに始まる予定" for t in overview)


# -- glossary ------------------------------------------------------------------------------------------------

def test_every_abbreviation_in_the_plan_is_in_the_glossary():
    used = {m for a in ACTIONS for t in [a["name"], *a.get("details", []), a.get("note") or "",
                                         *(r["text"] for r in a["roadmap"])]
            for m in re.findall(r"[A-Z]{2,}", t)}
    assert used <= {g["term"] for g in GLOSSARY}, used - {g["term"] for g in GLOSSARY}
    assert {"CSW", "ESY", "UDCOD"} <= used
    for g in GLOSSARY:
        assert g.get("check") or (g["gloss"] and not NESTED.search(g["gloss"])), g


def _notes(messages: list[dict]) -> list[str]:
    """The lines under each 用語 heading, in order."""
    out = []
    for m in messages:
        for b in bubbles(m):
            body = texts(b["body"])
            for i, t in enumerate(body):
                if t == "用語":
                    out += [x for x in body[i + 1:] if "：" in x]
    return out


def test_abbreviations_get_a_note_where_they_first_appear_unexplained(plan_bot, emulator, user_id):
    plan_bot.clock.set(datetime(2026, 6, 1, tzinfo=TOKYO))
    chat, web = Chat(plan_bot, emulator, user_id), plan_bot.app.test_client()
    udcod = "UDCOD：アーバンデザインセンター小田原"

    # 701's details name UDCOD without explaining it: one note, under the 実施内容, not again under the 線表.
    a701 = chat.tap(encode("plan.action", no=701))
    assert [n.split("。")[0] for n in _notes(a701)] == [udcod]
    details, timeline = a701[0], a701[1]
    assert _notes([details]) and not _notes([timeline])
    # 104 explains CSW where it first appears (「コミュニティソーシャルワーク（CSW）」): no note at all.
    assert _notes(chat.tap(encode("plan.action", no=104))) == []
    # In the year view CSW first appears in a roadmap item, unexplained: a note there, once.
    year1 = [n.split("：")[0] for n in _notes(chat.tap(encode("plan.year", id=1)))]
    assert year1 == ["CSW"]
    # A term still to be checked is never shown.
    a702 = chat.tap(encode("plan.action", no=702))
    assert [n.split("：")[0] for n in _notes(a702)] == ["AI"]
    assert not any("おだタク：" in t or "おだチケ：" in t for m in a702 for t in texts(m))

    page = _html_text(web.get("/plan/actions/701").get_data(as_text=True))
    assert page.count("UDCOD：アーバンデザインセンター小田原") == 1
    assert page.index("UDCOD：") < page.index("今後の予定（線表）")
    assert "CSW：" not in _html_text(web.get("/plan/actions/104").get_data(as_text=True))
    assert _html_text(web.get("/plan/1").get_data(as_text=True)).count("CSW：コミュニティソーシャルワーク") == 1
