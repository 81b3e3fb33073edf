"""The per-address login limit holds across processes when RATELIMIT_STORAGE_URI points at Redis (two web
processes, real HTTP, the Redis on 127.0.0.1:6379), and behind a proxy it counts the client's address only
when KYODO_TRUSTED_PROXIES says the proxy may be believed."""
from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from bot.config import ConfigError, from_env
from tests.admin_support import CSRF_RE, T0, fresh_env
from tests.conftest import ROOT

REDIS_URL = os.environ.get("KYODO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 3

# One web process: the app factory configured from the environment, as `kyodo serve` and gunicorn do.
SERVER = textwrap.dedent("""
    import sys
    from werkzeug.serving import make_server
    from bot.app import create_app
    from bot.config import from_env

    cfg = from_env().with_(testing=True, database_url=sys.argv[1], extra={"admin_login_rate": sys.argv[2]})
    server = make_server("127.0.0.1", 0, create_app(cfg, start_workers=False), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()
""")


@pytest.fixture
def redis_prefix():
    """A key prefix of this run's own in the real Redis, removed afterwards."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but is not reachable at {REDIS_URL}: {e}")
        pytest.skip(f"no Redis at {REDIS_URL} ({type(e).__name__}); start one to run this test")
    prefix = f"kyodo-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    assert not list(client.scan_iter(match=f"*{prefix}*"))
    client.close()


class Browser:
    """One visitor over real HTTP: keeps its cookie and reads the CSRF token from the login page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def login(self, email: str, password: str) -> int:
        with self.opener.open(self.base + "/admin/login", timeout=10) as r:
            token = CSRF_RE.search(r.read().decode()).group(1)
        data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + "/admin/login", data=data, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


def start_server(database_url: str, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, database_url, f"{LIMIT} per 10 minutes"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)
    port = proc.stdout.readline().strip()
    assert port.isdigit(), f"the server did not start (exit {proc.poll()})"
    return proc, f"http://127.0.0.1:{port}"


def test_two_processes_share_one_login_limit_through_redis(database_url, redis_prefix, admin_app):
    fresh_env(*admin_app)  # a migrated, seeded database both processes use
    env = {**os.environ, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix,
           "KYODO_DEMO": "", "KYODO_TRUSTED_PROXIES": "0"}
    procs = []
    try:
        for _ in range(2):
            procs.append(start_server(database_url, env))
        (_, a), (_, b) = procs
        # LIMIT attempts spread over both processes use up the one limit of this address ...
        statuses = [Browser(url).login(f"guess{i}@example.jp", "some password here")
                    for i, url in enumerate([a, b, a][:LIMIT])]
        assert statuses == [200] * LIMIT
        # ... so the next one is refused by either process, even with the right password.
        assert Browser(b).login("admin@example.jp", "correct horse battery") == 429
        assert Browser(a).login("guess9@example.jp", "some password here") == 429
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()


def test_memory_storage_stays_the_default():
    cfg = from_env({})
    assert cfg.ratelimit_storage_uri == "memory://" and cfg.trusted_proxies == 0
    assert from_env({"RATELIMIT_STORAGE_URI": REDIS_URL}).ratelimit_storage_uri == REDIS_URL
    assert from_env({"KYODO_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    for bad in ("one", "-1"):
        with pytest.raises(ConfigError, match="KYODO_TRUSTED_PROXIES"):
            from_env({"KYODO_TRUSTED_PROXIES": bad})


def _app(database_url, trusted: int):
    from bot.app import create_app
    from bot.clock import FrozenClock
    from bot.runtime import build_runtime
    from tests.conftest import make_config

    cfg = make_config(database_url, "http://127.0.0.1:9", trusted_proxies=trusted,
                      extra={"admin_login_rate": "2 per 10 minutes"})
    rt = build_runtime(cfg, clock=FrozenClock(T0))
    return create_app(cfg, runtime=rt, start_workers=False), rt


def _attempt(app, forwarded_for: str) -> int:
    c = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for}
    token = CSRF_RE.search(c.get("/admin/login", headers=headers).get_data(as_text=True)).group(1)
    return c.post("/admin/login", headers=headers,
                  data={"email": "nobody@example.jp", "password": "some password here", "csrf_token": token}).status_code


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(database_url, admin_app):
    for trusted in (0, 1):
        fresh_env(*admin_app)
        app, rt = _app(database_url, trusted)
        try:
            # Every request comes from the proxy's address (127.0.0.1); the header names two different clients.
            assert [_attempt(app, "203.0.113.1") for _ in range(2)] == [200, 200]
            assert _attempt(app, "203.0.113.1") == 429
            other_client = _attempt(app, "198.51.100.2")
            if trusted:
                assert other_client == 200  # the header is believed: another client has its own limit
                # A forged extra hop in front of the real one does not buy a new limit.
                assert _attempt(app, "10.9.9.9, 203.0.113.1") == 429
            else:
                assert other_client == 429  # anyone can send the header: ignored, one address for all
        finally:
            rt.close()
