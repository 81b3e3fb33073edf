"""Shared fixtures: a scratch database (SQLite or PostgreSQL), the LINE emulator, and the bot served
over real HTTP on loopback, talking to the emulator through the real line-bot-sdk."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from bot.clock import FrozenClock
from bot.config import Config
from bot.db import scratch_postgres
from bot.migrate import upgrade
from bot.runtime import Runtime, build_runtime

pytest_plugins = ["tests.admin_support"]  # admin_app / admin_env fixtures

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
BACKEND = os.environ.get("KYODO_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("KYODO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    return f"kyodo database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "kyodo.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"KYODO_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    with scratch_postgres(PG_ADMIN_URL, prefix="kyodo_t") as url:
        upgrade(url)
        yield url


# Every sequence that has handed out a number back to its start, as TRUNCATE ... RESTART IDENTITY did.
RESTART_SEQUENCES = ("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                     "FROM pg_sequences WHERE last_value IS NOT NULL")


def wipe(rt: Runtime) -> None:
    """Empty every table (children first) and, on PostgreSQL, restart the id sequences."""
    import models

    with rt.engine.begin() as conn:
        tables = [t.name for t in reversed(models.Base.metadata.sorted_tables)]
        if rt.engine.dialect.name == "postgresql":
            # DELETE, not TRUNCATE: TRUNCATE gives each of the 49 tables new files, 0.1-0.4 s per test on this
            # machine against ~0.02 s for DELETEs of a test's few rows. The lock waits for any transaction still
            # open on these tables, as TRUNCATE's did; the sequences restart below as RESTART IDENTITY did.
            conn.execute(text("LOCK TABLE " + ", ".join(f'"{t}"' for t in tables) + " IN ACCESS EXCLUSIVE MODE"))
        for t in tables:
            conn.execute(text(f'DELETE FROM "{t}"'))
        if rt.engine.dialect.name == "postgresql":
            conn.execute(text(RESTART_SEQUENCES))


@pytest.fixture(scope="session")
def emulator():
    from emulator import LineEmulator

    emu = LineEmulator(channel_secret=SECRET, access_token=TOKEN).start()
    yield emu
    emu.stop()


def make_config(database_url: str, emulator_url: str, **kw) -> Config:
    base = dict(
        line_channel_secret=SECRET, line_channel_access_token=TOKEN, secret_key="test-secret-key",
        line_api_base_url=emulator_url, line_data_api_base_url=emulator_url, database_url=database_url,
        testing=True, line_timeout_s=1.0, line_backoff_base_s=0.05, line_backoff_cap_s=0.5,
        claim_timeout_s=30.0,
    )
    base.update(kw)
    return Config(**base)


@dataclass
class LiveBot:
    url: str
    rt: Runtime
    app: object
    clock: FrozenClock

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every stored event is processed and every due outbox batch is sent."""
        from sqlalchemy import func, select

        from models.outbox import PENDING as OB_PENDING, SENDING, OutboxBatch
        from models.webhook import PENDING, PROCESSING, WebhookEvent

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.rt.dispatcher.wait_idle(timeout=max(0.05, deadline - time.monotonic()))
            with self.rt.sessions() as db:
                busy = db.scalar(select(func.count()).select_from(WebhookEvent)
                                 .where(WebhookEvent.status.in_((PENDING, PROCESSING))))
                sending = db.scalar(select(func.count()).select_from(OutboxBatch)
                                    .where(OutboxBatch.status.in_((OB_PENDING, SENDING)),
                                           OutboxBatch.next_attempt_at <= self.rt.now()))
            if not busy and not sending:
                return
            time.sleep(0.02)
        raise AssertionError("bot did not settle")


def start_live_bot(config: Config, clock: FrozenClock | None = None):
    from bot.app import create_app

    clock = clock or FrozenClock()
    rt = build_runtime(config, clock=clock)
    app = create_app(config, runtime=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, LiveBot(url=f"http://127.0.0.1:{server.server_port}", rt=rt, app=app, clock=clock)


@pytest.fixture(scope="session")
def live_bot(database_url, emulator):
    # Tests of LINE features also sign staff in to this app's admin (FAQ, surveys): the per-address login limit
    # is tested on its own app (tests/test_admin_http.py), not counted across the whole session here.
    server, bot = start_live_bot(make_config(database_url, emulator.base_url,
                                             extra={"admin_login_rate": "1000 per minute"}))
    emulator.webhook_url = bot.url + "/callback"
    yield bot
    server.shutdown()
    bot.rt.close()


@pytest.fixture
def bot(live_bot, emulator):
    """The live bot with a clean database, a clean emulator and the real clock."""
    live_bot.settle()
    wipe(live_bot.rt)
    emulator.reset()
    emulator.webhook_url = live_bot.url + "/callback"
    live_bot.clock._at = None
    yield live_bot
    live_bot.settle()


@pytest.fixture
def user_id():
    from emulator import new_user_id

    return new_user_id()


ROOT = Path(__file__).resolve().parent.parent
