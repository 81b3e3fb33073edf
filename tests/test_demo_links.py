"""`kyodo demo --port N`: the web links in the bot's messages (「Webページで見る」, calendar files) point at the demo's
own web app on port N, not at the default port 5000; a public base URL that is configured still wins. Runs the real
demo (--no-setup, the plan loaded beforehand) and asks the bot for the plan's project list through the emulator."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
from bot.config import Config
from bot.plan_loader import load_default
from bot.postback import encode
from tests.chat_support import actions_in
from tests.test_demo import READY, Demo

USER = "U" + "d3" * 16


@pytest.fixture
def demo_with_plan(tmp_path):
    from bot.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    upgrade(url)
    load_default(Config(database_url=url))
    started: list[Demo] = []

    def start(**env: str) -> Demo:
        started.append(Demo(tmp_path, setup=False, **env))  # upgrading again is a no-op
        return started[-1]

    yield start
    for d in started:
        d.cleanup()


def web_links(d: Demo, timeout: float = 20.0) -> list[str]:
    """The URIs in what the bot sends for the plan's project list."""
    emu = f"http://127.0.0.1:{d.emulator_port}/_emulator"
    body = json.dumps({"user": USER, "type": "postback", "data": encode("plan.list")}).encode()
    request = urllib.request.Request(f"{emu}/send", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert json.load(r)["status"] == 200
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{emu}/sent?user={USER}", timeout=10) as r:
            records = json.load(r)["records"]
        uris = [a["uri"] for a in actions_in([m for rec in records for m in rec["messages"]]) if a["type"] == "uri"]
        if uris:
            return uris
        time.sleep(0.1)
    raise AssertionError("the bot sent no web link")


def test_links_point_at_the_demo_port(demo_with_plan):
    d = demo_with_plan(KYODO_PUBLIC_BASE_URL="")  # none configured (an empty value counts as none)
    d.wait_for(READY)
    uris = web_links(d)
    assert all(u.startswith(f"http://127.0.0.1:{d.port}/") for u in uris), (d.port, uris)
    assert f"http://127.0.0.1:{d.port}/plan" in uris


def test_a_configured_public_base_url_wins(demo_with_plan):
    d = demo_with_plan(KYODO_PUBLIC_BASE_URL="https://kyodo-demo.example.jp/")
    d.wait_for(READY)
    uris = web_links(d)
    assert all(u.startswith("https://kyodo-demo.example.jp/") for u in uris), uris
    assert "https://kyodo-demo.example.jp/plan" in uris
