"""Public plan pages: /plan, /plan/<project>, /plan/actions/<no>; readable on a phone, no login."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.clock import TOKYO
from bot.plan_loader import default_plan_path, load
from tests.test_plan_bot import ACTIONS, PLAN, SEED_PROJECT_NAMES


@pytest.fixture
def client(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    bot.clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))
    return bot.app.test_client()


def page(client, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, path
    html = resp.get_data(as_text=True)
    if status == 200:
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert '<html lang="ja"' in html
    return html


def test_index_lists_vision_and_every_project(client):
    html = page(client, "/plan")
    assert PLAN["vision"] in html and "今年度は" in html and "令和8年度（2026年度）" in html
    for p in PLAN["pillars"] + PLAN["forces"]:
        assert p["name"] in html
    for no, name in enumerate(SEED_PROJECT_NAMES, 1):
        assert f'href="/plan/{no}">{name}</a>' in html


def test_project_page_has_goal_actions_and_this_year(client):
    html = page(client, "/plan/1")
    assert "ケアタウンの実現" in html and PLAN["projects"][0]["goal"] in html
    for no in (101, 102, 103, 104):
        assert f'href="/plan/actions/{no}"' in html
    headings = re.sub(r"<[^>]+>", "", html)  # the year label is wrapped so it stays on one line on a phone
    assert "▶ 今年度　令和8年度（2026年度）" in headings and "市民意識調査 第5期計画策定" in html
    assert "来年度　令和9年度（2027年度）" in headings
    assert "年度ごとの予定（線表）は、計画に示されていません" in page(client, "/plan/2")
    assert client.get("/plan/caretown").headers["Location"].endswith("/plan/1")
    page(client, "/plan/99", 404)
    page(client, "/plan/nothing", 404)


def test_action_pages_show_details_note_and_roadmap(client):
    for no, a in ACTIONS.items():
        html = page(client, f"/plan/actions/{no}")
        assert a["name"].replace("“", "&#8220;")[:10] in html or a["name"][:10] in html
        for d in a.get("details", []):
            assert d.replace("'", "&#39;").replace('"', "&#34;") in html or d in html
        for item in a["roadmap"]:
            assert item["text"] in html
    html = page(client, "/plan/actions/103")
    assert "102と104に分けて" in html and 'href="/plan/actions/102"' in html
    html = page(client, "/plan/actions/101")
    assert "▶ 今年度は令和8年度（2026年度）" in html
    # The current year's column: one heading cell marked, and one bar cell per item in that column.
    assert len(re.findall(r'<span class="cur" title="令和8年度（2026年度）">R8</span>', html)) == 1
    assert html.count('class="on cur"') == 1  # only 市民意識調査 runs in 2026 for 101
    page(client, "/plan/actions/999", 404)


def test_before_the_plan_is_loaded_the_page_says_so(bot):
    resp = bot.app.test_client().get("/plan")
    assert resp.status_code == 503 and "準備しています" in resp.get_data(as_text=True)
