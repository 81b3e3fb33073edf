"""The public pages on a phone-sized screen (390x844) in a real Chromium: headings wrap between phrases and
balanced (no lone last character, no 「2026年 / 度」), nothing scrolls sideways, the home page's 友だち追加
button is on the first screen, the plan pages link back to the home page, and the site's icon loads."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from bot.clock import FrozenClock
from bot.plan_loader import default_plan_path, load
from tests.admin_support import T0
from tests.conftest import make_config, wipe

pytestmark = pytest.mark.browser
FRIEND_URL = "https://line.me/R/ti/p/@kyodo-test"
PAGES = ("/", "/plan", "/plan/1", "/plan/2", "/plan/actions/101", "/no-such-page")

# The text of each rendered line of an element, measured character by character.
LINES_JS = """el => {
  const r = document.createRange(), lines = [];
  let last = null;
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    for (let i = 0; i < n.length; i++) {
      r.setStart(n, i); r.setEnd(n, i + 1);
      const rect = r.getClientRects()[0];
      if (!rect || !rect.width) continue;
      if (last === null || Math.abs(rect.top - last) > rect.height / 2) { lines.push(''); last = rect.top; }
      lines[lines.length - 1] += n.data[i];
    }
  }
  return lines.map(s => s.trim()).filter(s => s);
}"""


@pytest.fixture
def site(database_url):
    from bot.app import create_app
    from bot.runtime import build_runtime

    cfg = make_config(database_url, "http://127.0.0.1:9", line_add_friend_url=FRIEND_URL)
    rt = build_runtime(cfg, clock=FrozenClock(T0))
    wipe(rt)
    load(rt.sessions, default_plan_path(cfg.city), rt.now())
    server = make_server("127.0.0.1", 0, create_app(cfg, runtime=rt, start_workers=False), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    rt.close()


def test_headings_wrap_cleanly_on_a_phone(site, browser_context):
    page = browser_context(viewport={"width": 390, "height": 844}).new_page()
    checked = 0
    for path in PAGES:
        page.goto(site + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        for h in page.locator("h1, h2, h3").all():
            lines = h.evaluate(LINES_JS)
            checked += len(lines) > 1
            assert all(len(line) > 2 for line in lines[1:]), (path, lines)  # no lone 「ト」 or 「ん」
            for a, b in zip(lines, lines[1:]):
                assert not (a.endswith("年") and b.startswith("度")), (path, lines)
    assert checked  # some headings do wrap at this width: the check above looked at real breaks


def test_home_puts_the_friend_button_first_and_plan_pages_lead_home(site, browser_context):
    page = browser_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(site + "/")
    button = page.locator(f'a[href="{FRIEND_URL}"]').first
    box = button.bounding_box()
    assert box and box["y"] + box["height"] <= 844  # on the first screen, no scrolling
    assert "アカウントです。 " not in page.locator("main").inner_text()
    for path in ("/plan", "/plan/1", "/plan/actions/101"):
        page.goto(site + path)
        page.locator('header a[href="/"]').first.click()
        page.wait_for_url(site + "/")


def test_the_site_icon_loads(site, browser_context):
    page = browser_context(viewport={"width": 390, "height": 844}).new_page()
    for path in ("/", "/plan/1", "/no-such-page", "/admin/login"):
        page.goto(site + path)
        href = page.evaluate("document.querySelector('link[rel=icon]')?.href")
        assert href, path
        assert page.request.get(href).status == 200, path
    assert page.request.get(site + "/favicon.ico").status == 200
