"""The Content-Security-Policy in a real Chromium: the home page, the plan pages and the admin load their
stylesheets and scripts with no policy violation, and the admin's "really delete?" question (now a script
file instead of an inline onsubmit) still asks and still stops the form when answered "no". An injected
inline script does not run."""
from __future__ import annotations

import pytest

from bot.plan_loader import default_plan_path, load
from tests.browser.test_admin_browser import ADMIN_EMAIL, ADMIN_PASSWORD, log_in, seed

pytestmark = pytest.mark.browser


def watch(page) -> list[str]:
    """Console errors (a CSP violation is reported there) and failed requests, as they happen."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    # A request the browser itself abandoned because the test navigated on (the icon, fetched lazily) is not
    # a failure of the page; a blocked or refused one is.
    page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "")
            else problems.append(f"failed: {r.url} ({r.failure})"))
    return problems


def test_pages_render_under_the_policy(bot, browser_context):
    seed(bot)
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    page = browser_context(viewport={"width": 390, "height": 844}).new_page()
    problems = watch(page)
    for path in ("/", "/plan", "/plan/1", "/plan/actions/101", "/no-such-page"):
        page.goto(bot.url + path)
        # The vendored stylesheet applied (Pico sets the body's font), not blocked by the policy.
        assert page.evaluate("getComputedStyle(document.body).fontFamily") != "", path
    page.goto(bot.url + "/plan/actions/101")
    # The timeline's grid comes from the cols-N classes in public.css now, not from a style attribute: one
    # column per year of the plan, as wide as each other.
    years = page.locator(".timeline .years span").count()
    columns = page.evaluate("getComputedStyle(document.querySelector('.timeline .years')).gridTemplateColumns")
    widths = {round(float(w.removesuffix("px"))) for w in columns.split()}
    assert years > 1 and len(columns.split()) == years and max(widths) - min(widths) <= 1, columns
    assert not [p for p in problems if "404" not in p], problems
    # And the policy is enforced: a script slipped into a page (as an XSS would) does not run, here or in the admin.
    for path in ("/", "/plan/1", "/admin/login"):
        page.goto(bot.url + path)
        try:
            page.add_script_tag(content="window.injected = true;")
        except Exception:  # noqa: BLE001 - Playwright may report the blocked script as an error
            pass
        assert page.evaluate("window.injected === undefined"), path


def test_admin_confirm_question_still_asks(bot, browser_context):
    seed(bot)
    page = browser_context(viewport={"width": 1280, "height": 900}).new_page()
    problems = watch(page)
    log_in(page, bot.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("heading", name="ダッシュボード").wait_for()
    resp = page.goto(bot.url + "/admin/announcements")
    assert "script-src 'self'" in resp.headers.get("content-security-policy", "")  # inline handlers would not run
    rows = page.locator("tr.announcement-row")
    before = rows.count()
    assert before >= 1
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    with page.expect_navigation():  # confirm.js is deferred: a click before it runs would skip the question
        rows.first.get_by_role("link").click()
    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="削除").first.click()
    page.wait_for_timeout(300)
    assert asked == ["このお知らせを削除しますか？"] and "/admin/announcements/" in page.url  # "no" keeps it
    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="削除").first.click()
    page.get_by_text("お知らせを削除しました。").wait_for()
    assert len(asked) == 2 and page.locator("tr.announcement-row").count() == before - 1
    assert not problems, problems
