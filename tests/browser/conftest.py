"""Headless Chromium (Debian's `chromium` package, installed by tests/setup_env.py) driven by Playwright.

Playwright's own browser download is never used (it cannot reach the internet here); without the Debian
package the browser tests skip with a message saying how to install it."""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("KYODO_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        from tests.setup_env import browser_skip_reason
        pytest.skip(browser_skip_reason())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """Open a fresh context (its own cookies, like another person's browser); all are closed afterwards."""
    opened = []

    def open_context(**kw):
        ctx = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", **kw)
        ctx.set_default_timeout(10_000)
        opened.append(ctx)
        return ctx

    yield open_context
    for ctx in opened:
        ctx.close()
