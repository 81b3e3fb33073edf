"""The admin over real HTTP (a live server on loopback, the requests library, CSRF tokens read from the
pages like a browser form), sharing its runtime with the bot so signed webhooks from the emulator and admin
pages meet in one database. Used by the step-6 staff tool tests (images, LINE link, quota, follows)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.admin_support import PASSWORD, T0, seed
from tests.conftest import make_config, start_live_bot, wipe

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class HttpAdmin:
    def __init__(self, base: str) -> None:
        self.base, self.s = base, requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        return self.s.get(self.base + path, allow_redirects=False, timeout=10, **kw)

    def token(self, path: str = "/admin/") -> str:
        m = CSRF_RE.search(self.get(path).text)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def post(self, path: str, data: dict | None = None, *, files=None, token_from: str = "/admin/",
             csrf: bool = True) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token(token_from)
        return self.s.post(self.base + path, data=data, files=files, allow_redirects=False, timeout=30)

    def login(self, who: str) -> "HttpAdmin":
        r = self.post("/admin/login", {"email": f"{who}@example.jp", "password": PASSWORD}, token_from="/admin/login")
        assert r.status_code == 302, r.text
        return self


@pytest.fixture(scope="module")
def live_admin_bot(database_url, emulator):
    server, bot = start_live_bot(make_config(database_url, emulator.base_url,
                                             extra={"admin_login_rate": "1000 per minute"}))
    yield bot
    server.shutdown()
    bot.rt.close()


@pytest.fixture
def staff_env(live_admin_bot, emulator):
    """(bot, ids of the seeded accounts, a function giving a signed-in HttpAdmin); clock frozen at T0."""
    bot = live_admin_bot
    # Wipe first: the previous test of this module settled at its end, and rows another module left in
    # the shared database (answers nobody here will send) must not hold this one up.
    wipe(bot.rt)
    bot.settle()
    emulator.reset()
    emulator.webhook_url = bot.url + "/callback"
    bot.clock.set(T0)
    ids = seed(bot.rt, T0)
    yield bot, ids, lambda who: HttpAdmin(bot.url).login(who)
    bot.settle()
