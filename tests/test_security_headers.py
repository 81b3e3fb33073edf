"""Every page Flask serves (each GET route, anonymous and signed in, error pages, a path that does not exist)
carries one set of security headers, with a Content-Security-Policy that needs no inline script or style,
and the pages indeed have none. HSTS only over https, which behind a proxy counts only when
KYODO_TRUSTED_PROXIES says the proxy may be believed.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.admin_support import T0, build_app
from tests.test_web_odd_input import build_path, get_rules, sample_args


def policy(resp) -> dict[str, str]:
    """The CSP as {directive: sources}."""
    csp = resp.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


def assert_headers(resp, what: str) -> None:
    csp = policy(resp)
    assert csp, f"{what}: no Content-Security-Policy"
    assert csp.get("frame-ancestors") == "'none'", what
    assert csp.get("script-src") == "'self'", what  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert csp.get("style-src") == "'self'", what
    assert csp.get("object-src") == "'none'" and csp.get("base-uri") == "'none'", what
    assert "unsafe" not in resp.headers["Content-Security-Policy"], what
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", what
    assert resp.headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), what
    assert resp.headers.get("X-Frame-Options") == "DENY", what
    assert "Strict-Transport-Security" not in resp.headers, f"{what}: HSTS over plain http"


class InlineFinder(HTMLParser):
    """Anything a strict CSP would block: inline <script>, <style>, style="", on*="" handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def assert_no_inline(resp, what: str) -> None:
    if not resp.content_type.startswith("text/html"):
        return
    finder = InlineFinder()
    finder.feed(resp.get_data(as_text=True))
    assert not finder.found, f"{what}: {finder.found}"


def pages(env) -> list[str]:
    return [build_path(r, sample_args(r, env)) for r in get_rules(env.app)]


@pytest.fixture
def env_with_plan(admin_env):
    from bot.plan_loader import default_plan_path, load

    load(admin_env.rt.sessions, default_plan_path(admin_env.rt.config.city), admin_env.rt.now())
    return admin_env


@pytest.mark.parametrize("who", ["anonymous", "admin", "orga"])
def test_every_page_carries_the_set(env_with_plan, who):
    env = env_with_plan
    c = env.client() if who == "anonymous" else env.signed_in(who)
    paths = pages(env)
    assert "/" in paths and "/plan" in paths and "/admin/" in paths
    statuses = set()
    for path in paths:
        resp = c.get(path)
        statuses.add(resp.status_code)
        assert_headers(resp, f"{who} GET {path} ({resp.status_code})")
        assert_no_inline(resp, f"{who} GET {path}")
    assert 200 in statuses


def test_error_pages_and_unknown_paths_carry_the_set(env_with_plan):
    env = env_with_plan
    anon, orga = env.client(), env.signed_in("orga")
    cases = [
        (anon.c.get("/no-such-page"), 404),
        (anon.c.get("/plan/99"), 404),
        (anon.c.get("/admin/no-such-page"), 404),
        (anon.c.get("/plan/%00"), 400),
        (anon.c.post("/plan"), 405),
        (anon.c.post("/admin/login", data={"email": "x"}), 400),  # no CSRF token
        (anon.c.post("/admin/login", data={"x": "a" * (2 * 1024 * 1024)}), 413),
        (orga.get("/admin/accounts"), 403),
    ]
    for resp, status in cases:
        assert resp.status_code == status
        assert f'data-status="{status}"' in resp.get_data(as_text=True)
        assert_headers(resp, f"{resp.request.path} {status}")
        assert_no_inline(resp, f"{resp.request.path} {status}")


def test_a_server_error_page_carries_the_set(database_url):
    from bot.clock import FrozenClock

    app, rt = build_app(database_url, FrozenClock(T0))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not the test's traceback

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail 42")

    try:
        resp = app.test_client().get("/boom-for-test")
        assert resp.status_code == 500
        assert_headers(resp, "500")
        assert_no_inline(resp, "500")
    finally:
        rt.close()


def test_static_files_carry_the_set_but_the_webhook_is_left_alone(admin_env):
    c = admin_env.client().c
    resp = c.get("/static/css/kyodo.css")
    assert resp.status_code == 200
    assert_headers(resp, "static")
    # POST /callback is answered before Flask with JSON: no page headers added on the hot path.
    resp = c.post("/callback", data=b"{}", headers={"X-Line-Signature": "x"})
    assert resp.status_code == 400 and resp.is_json
    assert "Content-Security-Policy" not in resp.headers


@pytest.fixture
def proxied(database_url):
    """The app as deployed behind one reverse proxy (KYODO_TRUSTED_PROXIES=1), and with none in front (0)."""
    from bot.app import create_app
    from bot.clock import FrozenClock
    from bot.runtime import build_runtime
    from tests.conftest import make_config

    made = {}
    for n in (0, 1):
        cfg = make_config(database_url, "http://127.0.0.1:9", trusted_proxies=n)
        rt = build_runtime(cfg, clock=FrozenClock(T0))
        made[n] = (create_app(cfg, runtime=rt, start_workers=False), rt)
    yield made
    for _, rt in made.values():
        rt.close()


def test_hsts_only_over_https(proxied):
    behind_proxy, direct = proxied[1][0].test_client(), proxied[0][0].test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    for path in ("/", "/plan", "/admin/login", "/no-such-page"):
        # Behind one trusted proxy that says the client used https: HSTS.
        resp = behind_proxy.get(path, headers=https)
        assert resp.headers.get("Strict-Transport-Security", "").startswith("max-age="), path
        assert int(re.search(r"max-age=(\d+)", resp.headers["Strict-Transport-Security"]).group(1)) >= 86400 * 180
        # The same proxy, plain http: none.
        assert "Strict-Transport-Security" not in behind_proxy.get(path, headers={"X-Forwarded-Proto": "http"}).headers
        # No trusted proxy: anyone can send X-Forwarded-Proto, so it is ignored.
        assert "Strict-Transport-Security" not in direct.get(path, headers=https).headers
        # Served over TLS directly: HSTS.
        resp = direct.get(path, base_url="https://localhost")
        assert "Strict-Transport-Security" in resp.headers, path
