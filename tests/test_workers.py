"""The production layout: web processes only store and ack (KYODO_DISPATCH_MODE=worker), `kyodo worker`
runs the events; two workers at once keep each user's order and process every event once."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from bot import dispatcher as dsp
from bot.clock import FrozenClock
from bot.runtime import build_runtime
from bot.webhook import store_events
from emulator import new_user_id
from models.outbox import OutboxMessage
from models.webhook import DONE, WebhookEvent
from tests.conftest import make_config, start_live_bot, wipe
from tests.helpers import text_event


def test_web_in_worker_mode_only_acks_and_kyodo_worker_answers(database_url, emulator):
    from bot.worker import run

    cfg = make_config(database_url, emulator.base_url, dispatch_mode="worker")
    server, web = start_live_bot(cfg)
    stop = threading.Event()
    try:
        wipe(web.rt)
        emulator.reset()
        emulator.webhook_url = web.url + "/callback"
        assert web.rt.dispatcher is None
        user = new_user_id()
        assert emulator.send_text(user, "ヘルプ")[0] == 200
        time.sleep(0.3)
        assert emulator.sent(user=user) == []  # stored, acknowledged, not yet answered
        worker = threading.Thread(target=run, args=(cfg,), kwargs={"nice": 0, "stop": stop, "poll_s": 0.05})
        worker.start()
        emulator.wait_for(lambda: emulator.sent(user=user), timeout=10)
        [record] = emulator.sent(user=user)
        assert "使い方" in record["messages"][0]["text"]
    finally:
        stop.set()
        server.shutdown()
        web.rt.close()
    worker.join(timeout=10)
    assert not worker.is_alive()


def test_two_workers_keep_each_users_order_and_process_once(live_bot, emulator, monkeypatch):
    import handlers.router as router

    wipe(live_bot.rt)
    emulator.reset()
    users = [new_user_id() for _ in range(5)]
    now_ms = int(time.time() * 1000)
    store_events(live_bot.rt, [text_event(u, str(i), ts_ms=now_ms + i) for i in range(8) for u in users])

    seen: dict[str, list[str]] = {u: [] for u in users}
    lock = threading.Lock()
    real = router.handle_event

    def slow(rt, db, body):
        time.sleep(0.01)  # long enough for the two workers to interleave
        with lock:
            seen[body["source"]["userId"]].append(body["message"]["text"])
        return real(rt, db, body)

    monkeypatch.setattr(router, "handle_event", slow)
    rts = [build_runtime(live_bot.rt.config, clock=FrozenClock()) for _ in range(2)]
    try:
        for rt in rts:
            rt.dispatcher = dsp.Dispatcher(rt, workers=3)
        keys = dsp.pending_user_keys(rts[0])
        for rt in rts:  # both processes see the same backlog at the same moment
            rt.dispatcher.submit(keys)
        for rt in rts:
            assert rt.dispatcher.wait_idle(timeout=30)
    finally:
        for rt in rts:
            rt.close()
    assert all(order == [str(i) for i in range(8)] for order in seen.values()), seen
    with live_bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == DONE)) == 40
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 40


def test_scheduler_once_sweeps_what_a_crash_left(live_bot, emulator, monkeypatch):
    from scheduler.runner import run

    wipe(live_bot.rt)
    emulator.reset()
    user = new_user_id()
    old = int((time.time() - 120) * 1000)
    store_events(live_bot.rt, [text_event(user, "ヘルプ", ts_ms=old)])
    with live_bot.rt.sessions() as db:  # as if stored two minutes ago by a process that then died
        ev = db.scalar(select(WebhookEvent))
        ev.received_at = live_bot.rt.now().replace(year=2000)
        db.commit()
    assert run(live_bot.rt.config, once=True) == 0
    [record] = emulator.sent(user=user)
    assert record["kind"] == "push"
