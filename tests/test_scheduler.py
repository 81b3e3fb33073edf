"""`kyodo scheduler` is quiet while there is nothing to do (APScheduler logged two INFO lines per job run,
i.e. every few seconds) and logs one line when a sweep did something. The real jobs run on the real
APScheduler, with short intervals so the test takes about two seconds."""
from __future__ import annotations

import logging
import threading
import time

from bot.outbox import enqueue_push
from emulator import new_user_id
from scheduler import runner
from scheduler.jobs import JOBS
from tests.conftest import wipe


def ours(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("apscheduler", "kyodo.jobs", "kyodo.scheduler"))]


def test_idle_runs_log_nothing_and_a_sweep_that_did_something_logs_one_line(live_bot, emulator, caplog):
    wipe(live_bot.rt)
    emulator.reset()
    caplog.set_level(logging.INFO)
    runs = []

    def counted(fn):
        return lambda rt: (runs.append(fn.__name__), fn(rt))

    sched = runner.build_scheduler(live_bot.rt, [(job_id, counted(fn), 0.1) for job_id, fn, _ in JOBS])
    thread = threading.Thread(target=sched.start, daemon=True)
    thread.start()
    try:
        time.sleep(0.8)
        assert runs.count("sweep_webhooks") >= 3 and runs.count("sweep_outbox") >= 3, runs
        assert ours(caplog) == []

        # A push written to the outbox but not yet sent (as after a crash): the next sweep sends it and says so.
        user = new_user_id()
        with live_bot.rt.sessions() as db:
            enqueue_push(db, now=live_bot.rt.now(), purpose="test", messages=[{"type": "text", "text": "お知らせです"}],
                         recipients=[user])
            db.commit()
        deadline = time.monotonic() + 10
        while not emulator.sent(user=user) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulator.sent(user=user)
        time.sleep(0.3)  # a few more idle runs
    finally:
        sched.shutdown(wait=True)
        thread.join(timeout=5)
    assert [r.getMessage() for r in ours(caplog)] == ["sweeper: delivered 1 outbox batches"]
