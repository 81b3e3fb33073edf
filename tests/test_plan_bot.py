"""The plan on LINE, through signed webhooks against the emulator: tap through everything, check every message."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from bot.clock import TOKYO
from bot.plan_loader import default_plan_path, load
from bot.postback import decode, encode
from emulator.limits import check_messages
from handlers import plan_flex as F
from handlers.plan_text import sentences
from tests.chat_support import Chat, actions_in, texts, walk  # noqa: F401  (re-exported for other tests)
from tests.helpers import quick_labels

PLAN = yaml.safe_load(default_plan_path("odawara").read_text("utf-8"))
ACTIONS = {a["no"]: a for p in PLAN["projects"] for a in p["actions"]}
SEED_PROJECT_NAMES = ["ケアタウンの実現", "地域循環共生圏の構築", "こども未来共創", "人と地域のつながり創出",
                      "地産地消による地域経済循環", "小田原ならではの文化によるまちづくり", "未来を創る都市デザイン"]
SEED_ACTIONS = {101, 102, 103, 104, 201, 202, 203, 301, 302, 303, 304, 401, 402, 403, 501, 502, 503, 601, 602,
                701, 702}


@pytest.fixture
def plan_bot(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    return bot


def bubbles(message: dict) -> list[dict]:
    c = message.get("contents") or {}
    return c.get("contents", []) if c.get("type") == "carousel" else ([c] if c else [])


def assert_no_rejections(emulator) -> None:
    bad = [r for r in emulator.requests if r.get("status") and r["status"] >= 400]
    assert bad == [], bad


def test_tapping_reaches_every_project_and_action_within_limits(plan_bot, emulator, user_id):
    plan_bot.clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO))
    chat = Chat(plan_bot, emulator, user_id)

    # The carousel: exactly the seed's 7 projects, each with its three buttons and a web link.
    first = chat.tap(encode("plan.list"))
    [carousel] = [m for m in first if m["type"] == "flex"]
    project_bubbles = bubbles(carousel)
    assert [texts(b["body"])[1] for b in project_bubbles] == SEED_PROJECT_NAMES
    for no, b in enumerate(project_bubbles, 1):
        labels = [a["label"] for a in actions_in(b["footer"])]
        assert labels[:3] == ["アクション一覧", "今年度の予定", "通知を受け取る"]
        uris = [a["uri"] for a in actions_in(b) if a["type"] == "uri"]
        assert uris == [f"{plan_bot.rt.config.public_base_url}/plan/{no}"]
        goal = texts(b["body"])[-1]
        assert goal.removesuffix("…").endswith("。")  # the short goal ends on a sentence (… when more follows)
        assert PLAN["projects"][no - 1]["goal"].replace("\n", "").startswith(goal.removesuffix("…"))

    # Walk every plan postback reachable from there, breadth first.
    queue, seen, by_action, replies = [encode("plan.list")], set(), {}, {}
    while queue:
        data = queue.pop(0)
        if data in seen:
            continue
        seen.add(data)
        messages = first if data == encode("plan.list") and not replies else chat.tap(data)
        replies[data] = messages
        pb = decode(data)
        if pb.action == "plan.action":
            by_action.setdefault(int(pb.params["no"]), []).extend(messages)
        for a in actions_in(messages):
            if a["type"] == "postback" and decode(a["data"]).action.startswith("plan."):
                queue.append(a["data"])
    assert set(by_action) == SEED_ACTIONS
    assert len(seen) >= 1 + 7 * 4 + 21 + 1 + 1  # list, per project (bubble, actions, year, follow), actions, ...

    # Each action shows its own 実施内容 in full (split on sentences only), its note, and a link to its page.
    for no, messages in by_action.items():
        shown = "".join(texts(messages))
        for bullet in ACTIONS[no].get("details", []):
            for sentence in sentences(bullet):
                assert sentence in shown, (no, sentence)
        uris = {a["uri"] for a in actions_in(messages) if a["type"] == "uri"}
        assert f"{plan_bot.rt.config.public_base_url}/plan/actions/{no}" in uris
    assert "このアクションの実施内容は、102と104に分けて、それぞれ統合することとする" in "".join(texts(by_action[103]))
    assert {"102を見る", "104を見る"} <= {a.get("label") for a in actions_in(by_action[103])}

    # 今年度の予定 across all projects and per project, with both calendars.
    year_all = replies[encode("plan.year")]
    assert "今年度は令和8年度（2026年度）、来年度は令和9年度（2027年度）です。" in year_all[0]["text"]
    assert len([b for m in year_all if m["type"] == "flex" for b in bubbles(m)]) == 7
    assert any("市民意識調査 第5期計画策定" in t for t in texts(replies[encode("plan.year", id=1)]))

    # The vision, pillars and forces, with quick replies into every project.
    vision = replies[encode("plan.vision")]
    vt = texts(vision)
    assert PLAN["vision"] in vt and all(p["name"] in "".join(vt) for p in PLAN["pillars"])
    assert "自然の力・人の力・まちの力・産業の力・文化の力" in vt
    assert len([q for q in quick_labels(vision[-1]) if q[0].isdigit()]) == 7

    # 通知を受け取る subscribes to that project in one step (tests/test_settings.py has the rest).
    assert "「こども未来共創」のお知らせをお届けします" in replies[encode("plan.follow", id=3)][0]["text"]

    # The rich menu's area and typing the word lead to the same carousel.
    said = chat.say("プロジェクト")
    assert [texts(b["body"])[1] for m in said if m["type"] == "flex" for b in bubbles(m)] == SEED_PROJECT_NAMES
    assert_no_rejections(emulator)


def _timeline(messages: list[dict]) -> tuple[str, list[str], list[tuple[str, list[int]]]]:
    """(status line, year headings marked current, [(item text, years whose cell is filled)])."""
    [msg] = [m for m in messages if m["type"] == "flex" and "線表" in m["altText"]]
    status, current, spans = "", [], []
    for b in bubbles(msg):
        status = texts(b["header"])[-1]
        body = b["body"]["contents"]
        for c in body:
            cells = c.get("contents", []) if c["type"] == "box" else []
            heads = [cell["contents"][0].get("text", "") for cell in cells if cell.get("contents")]
            if heads and all(h.startswith("R") and h[1:].isdigit() for h in heads):
                current = [cell["contents"][0]["text"] for cell in cells if cell.get("backgroundColor") == F.NOW]
        for k, c in enumerate(body):
            if c["type"] == "text" and c.get("weight") == "bold" and c.get("size") == "sm":
                bar = body[k + 2]
                spans.append((c["text"], [2026 + i for i, cell in enumerate(bar["contents"])
                                          if cell["backgroundColor"] in (F.ACCENT, F.NOW)]))
    return status, current, spans


@pytest.mark.parametrize("when, fy, status", [
    (datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO), 2025, "計画は令和8年度（2026年度）から始まります"),
    (datetime(2026, 3, 31, 14, 59, tzinfo=timezone.utc), 2025, "計画は令和8年度（2026年度）から始まります"),
    (datetime(2026, 3, 31, 15, 0, tzinfo=timezone.utc), 2026, "▶ 今年度は令和8年度（2026年度）です"),
    (datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO), 2026, "▶ 今年度は令和8年度（2026年度）です"),
    (datetime(2029, 6, 1, 12, 0, tzinfo=TOKYO), 2029, "▶ 今年度は令和11年度（2029年度）です"),
])
def test_roadmap_spans_and_this_year_follow_the_clock(plan_bot, emulator, user_id, when, fy, status):
    plan_bot.clock.set(when)
    chat = Chat(plan_bot, emulator, user_id)
    for no in (101, 401, 702):
        shown_status, current, spans = _timeline(chat.tap(encode("plan.action", no=no)))
        assert shown_status == status
        assert current == ([f"R{fy - 2018}"] if 2026 <= fy <= 2032 else [])
        expected = [(item["text"], list(range(item["from_fy"], item["to_fy"] + 1)))
                    for item in ACTIONS[no]["roadmap"]]
        assert spans == expected

    year = chat.tap(encode("plan.year", id=1))
    shown = texts(year)
    this_items = [i["text"] for a in PLAN["projects"][0]["actions"] for i in a["roadmap"]
                  if i["from_fy"] <= fy <= i["to_fy"]]
    next_items = [i["text"] for a in PLAN["projects"][0]["actions"] for i in a["roadmap"]
                  if i["from_fy"] <= fy + 1 <= i["to_fy"]]
    this_bubble, next_bubble = bubbles(year[0])[:2]
    this_lines = [t.removeprefix("・") for t in texts(this_bubble)]
    next_lines = [t.removeprefix("・") for t in texts(next_bubble)]
    label = f"令和{fy - 2018}年度（{fy}年度）"
    assert f"▶ 今年度　{label}" in texts(this_bubble)
    assert f"来年度　令和{fy - 2017}年度（{fy + 1}年度）" in texts(next_bubble)
    for t in this_items:
        assert any(s.startswith(t) for s in this_lines), t
    for t in next_items:
        assert any(s.startswith(t) for s in next_lines), t
    if fy == 2029:
        assert "市民意識調査 第6期計画策定（令和12年度から）" in next_lines
        assert "第5期計画の進捗管理" in this_lines
    if fy == 2026:  # the plan's first year: nothing is flagged as new
        assert not any("年度から）" in t for t in this_lines)
        assert "第5期計画の進捗管理（令和9年度から）" in next_lines
    assert shown
    assert_no_rejections(emulator)


def test_free_text_intents_reach_the_same_views(plan_bot, emulator, user_id):
    """The NLU decides names and targets; here the router is fed them directly to pin the contract."""
    from types import SimpleNamespace

    from handlers.plan import INTENTS
    from handlers.context import Ctx

    plan_bot.clock.set(datetime(2026, 6, 1, tzinfo=TOKYO))
    with plan_bot.rt.sessions() as db:
        def run(name, target=None):
            ctx = Ctx(event={}, user=None, db=db, now=plan_bot.rt.now(), config=plan_bot.rt.config,
                      intent=SimpleNamespace(name=name, target=target))
            out = INTENTS[name](ctx)
            assert check_messages(out) == []
            return out

        assert "ケアタウンの実現" in texts(run("plan.project", "1"))
        assert "地域福祉計画の策定と推進" in texts(run("plan.action", "101"))
        assert "アクション105は見つかりませんでした" in run("plan.action", "105")[0]["text"]
        assert "プロジェクト8は見つかりませんでした" in run("plan.project", "8")[0]["text"]
        assert len(bubbles(run("plan.list")[1])) == 7
        assert any("懇談会" in t for t in texts(run("plan.year", "4")))
        assert run("plan.year")[0]["text"].startswith("今年度は令和8年度（2026年度）、")
        assert PLAN["vision"] in texts(run("plan.vision"))


def test_without_a_loaded_plan_the_answer_is_polite(bot, emulator, user_id):
    chat = Chat(bot, emulator, user_id)
    for data in (encode("plan.list"), encode("plan.action", no=101), encode("plan.year")):
        [msg] = chat.tap(data)
        assert "準備しています" in msg["text"] and "プロジェクト" in quick_labels(msg)
