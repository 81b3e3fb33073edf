"""The public home page at /: in Japanese, what the account does (and what is still coming), how to add it as a
friend with a QR code drawn on the server, and links to the plan pages that work. The city's name comes from
the loaded plan."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import update

from bot.clock import FrozenClock
from bot.config import add_friend_url, from_env
from models.plan import PlanInfo
from tests.admin_support import T0, fresh_env

FRIEND_URL = "https://line.me/R/ti/p/@kyodo-test"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def links(html: str) -> list[str]:
    p = Links()
    p.feed(html)
    return p.hrefs


@pytest.fixture
def home_app(database_url):
    from bot.app import create_app
    from bot.runtime import build_runtime
    from tests.conftest import make_config

    def make(**kw):
        cfg = make_config(database_url, "http://127.0.0.1:9", **kw)
        rt = build_runtime(cfg, clock=FrozenClock(T0))
        made.append(rt)
        return create_app(cfg, runtime=rt, start_workers=False), rt

    made: list = []
    yield make
    for rt in made:
        rt.close()


def load_plan(rt) -> None:
    from bot.plan_loader import default_plan_path, load

    load(rt.sessions, default_plan_path(rt.config.city), rt.now())


def test_home_page_explains_the_account_with_a_qr_code_and_plan_links(home_app):
    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    load_plan(rt)
    c = app.test_client()
    r = c.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    assert '<html lang="ja"' in html
    with rt.sessions() as db:
        city = db.get(PlanInfo, 1).city_name
    assert f"<h1>{city}の協働プロジェクト</h1>" in html
    for words in ("LINE公式アカウント", "いまできること", "協働プロジェクトを見る",
                  "こどもの居場所", "イベント", "ボランティア", "アンケート", "お知らせを選ぶ", "友だち追加"):
        assert words in html, words
    assert "準備中のこと" not in html  # every menu area works (step 9)
    # The QR code: an inline SVG drawn on the server (no image request, no script), and the same link as a button.
    svg = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", html, re.S)
    assert svg and "<path" in svg.group(0) and 'd="M' in svg.group(0)
    assert f'href="{FRIEND_URL}"' in html
    # Every link on the page works (inside the site) or is the add-friend link.
    hrefs = links(html)
    assert {"/plan", "/plan/"} & set(hrefs) and "/plan/1" in hrefs
    for href in hrefs:
        if href == FRIEND_URL:
            continue
        assert href.startswith("/"), href
        assert c.get(href).status_code == 200, href


def test_the_qr_code_encodes_the_configured_url(home_app):
    import segno

    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    html = app.test_client().get("/").get_data(as_text=True)
    expected = segno.make(FRIEND_URL, error="m").svg_inline(scale=5, border=2, svgclass="qr", lineclass="qr-line",
                                                           title="友だち追加用のQRコード")
    assert expected in html
    other = segno.make("https://line.me/R/ti/p/@someone-else", error="m")
    assert re.search(r'd="([^"]+)"', expected).group(1) != re.search(r'd="([^"]+)"', other.svg_inline()).group(1)


def test_city_name_comes_from_the_loaded_plan(home_app):
    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    load_plan(rt)
    with rt.sessions() as db:
        original = db.get(PlanInfo, 1).city_name
        db.execute(update(PlanInfo).values(city_name="テスト市"))
        db.commit()
    html = app.test_client().get("/").get_data(as_text=True)
    assert "<h1>テスト市の協働プロジェクト</h1>" in html and original not in html


def test_without_a_plan_or_a_friend_url_the_page_still_helps(home_app):
    app, rt = home_app()
    fresh_env(app, rt, FrozenClock(T0))
    r = app.test_client().get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<h1>協働プロジェクト</h1>" in html  # no city name, no stray "の"
    assert "友だち追加のご案内は準備中です。" in html and 'class="qr"' not in html
    assert "プロジェクトの情報を準備しています" in html and re.search(r'href="/plan/?"', html)


def test_add_friend_url_from_the_environment():
    assert add_friend_url("", "@abc1234") == "https://line.me/R/ti/p/@abc1234"
    assert add_friend_url("", "abc1234") == "https://line.me/R/ti/p/@abc1234"
    assert add_friend_url("https://lin.ee/xyz", "@abc1234") == "https://lin.ee/xyz"
    assert add_friend_url("", "") == ""
    assert from_env({"LINE_BASIC_ID": "@odawara"}).line_add_friend_url == "https://line.me/R/ti/p/@odawara"
    # The demo points the QR code at the emulator's chat page.
    demo = from_env({"KYODO_DEMO": "1", "LINE_API_BASE_URL": "http://127.0.0.1:8081"})
    assert demo.line_add_friend_url == "http://127.0.0.1:8081/"


def test_home_page_reads_cleanly_and_offers_the_friend_button_first(home_app):
    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    load_plan(rt)
    html = app.test_client().get("/").get_data(as_text=True)
    # A line break inside a Japanese paragraph shows as a stray space between sentences.
    intro = re.search(r"<p>市民のみなさんと.*?</p>", html, re.S).group(0)
    assert not re.search(r"。\s", intro), intro
    # The add-friend button comes before the feature lists (a phone's first screen).
    assert html.index(f'href="{FRIEND_URL}"') < html.index("いまできること")


def test_plan_pages_link_back_to_the_home_page(home_app):
    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    load_plan(rt)
    c = app.test_client()
    for path in ("/plan", "/plan/1", "/plan/actions/101"):
        assert "/" in links(c.get(path).get_data(as_text=True)), path


def test_every_page_has_an_icon_and_favicon_ico_answers(home_app):
    from bot.security_headers import HEADERS

    app, rt = home_app(line_add_friend_url=FRIEND_URL)
    fresh_env(app, rt, FrozenClock(T0))
    load_plan(rt)
    c = app.test_client()
    for path in ("/", "/plan/1", "/no-such-page", "/admin/login"):
        icon = re.search(r'<link rel="icon" href="([^"]+)"', c.get(path).get_data(as_text=True))
        assert icon, path
        r = c.get(icon.group(1))
        assert r.status_code == 200 and r.content_type.startswith("image/svg+xml") and b"<svg" in r.data
    r = c.get("/favicon.ico")
    assert r.status_code == 200 and r.content_type.startswith("image/") and r.data[:4] == b"\0\0\1\0"  # an .ico
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, name
