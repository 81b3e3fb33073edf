"""`kyodo deliver` (bot/fanout.py) through the emulator and the real SDK client: segments, send-time checks,
quiet hours, the daily cap, faults in the middle of a fan-out, permanent errors, and a SIGKILL mid-way."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import outbox
from bot.clock import utc
from bot import fanout as fanout_mod
from bot.fanout import Fanout, Pacer, quiet_end_after
from bot.line_adapter import LineError
from bot.publish import publish, report
from bot.segments import Segment
from models.outbox import OutboxBatch
from models.privacy import delete_personal_data
from models.publications import BATCH_FANOUT, DONE, Publication, PublicationRecipient
from models.subscriptions import Preference
from models.users import User
from tests.conftest import BACKEND, ROOT, SECRET, TOKEN
from tests.fanout_support import NEWS, NOON, fan, received, residents  # noqa: F401  (fan: fixture)


DELIVER = [sys.executable, "-m", "bot.cli", "deliver", "--nice", "0"]


def _deliver_env(emulator, database_url: str, *, rate: int, lease_s: float | None = None) -> dict:
    """The environment of a real `kyodo deliver` process against the test database and the emulator."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "KYODO_SECRET_KEY": "k", "LINE_API_BASE_URL": emulator.base_url,
           "LINE_DATA_API_BASE_URL": emulator.base_url, "KYODO_FANOUT_RATE": str(rate), "KYODO_DEMO": ""}
    if lease_s is not None:
        env["KYODO_SCHEDULER_LEASE_S"] = str(lease_s)
    return env


def _publish(bot, **kw):
    kw.setdefault("messages", NEWS)
    with bot.rt.sessions() as db:
        pub = publish(db, now=bot.rt.now(), **kw)
        db.commit()
        return pub.id


def _report(bot, pid):
    with bot.rt.sessions() as db:
        return report(db, pid)


def test_segment_is_delivered_once_in_batches_of_500(bot, emulator, fan):
    kozu = residents(bot.rt, 1203, districts=("kozu",))
    soga = residents(bot.rt, 7, districts=("soga",))
    others = residents(bot.rt, 40, districts=("sakuragawa",))
    pid = _publish(bot, segment=Segment(districts=("kozu", "soga")), topic="city", title="国府津・曽我の皆さんへ")
    fan.drain()
    got = received(emulator)
    assert got == {line: 1 for _, line in kozu + soga}
    assert not set(got) & {line for _, line in others}
    calls = [r for r in emulator.sent() if r["kind"] in ("multicast", "push")]
    assert sorted(len(r["to"]) for r in calls) == [210, 500, 500]
    assert all(r["messages"] == NEWS for r in calls)
    rep = _report(bot, pid)
    assert (rep["status"], rep["reached"], rep["pending"], rep["failed"]) == (DONE, 1210, 0, 0)
    # every batch had its own key, stored before the call
    with bot.rt.sessions() as db:
        keys = set(db.scalars(select(OutboxBatch.retry_key).where(OutboxBatch.status == "sent")))
    assert keys == {r["retry_key"] for r in calls}


def test_one_recipient_goes_as_a_push(bot, emulator, fan):
    [(uid, line)] = residents(bot.rt, 1)
    residents(bot.rt, 3)
    pid = _publish(bot, user_ids=[uid], purpose="test")
    fan.drain()
    assert [(r["kind"], r["to"]) for r in emulator.sent()] == [("push", [line])]
    assert _report(bot, pid)["reached"] == 1


def test_changes_after_publishing_are_checked_at_send_time(bot, emulator, fan):
    people = residents(bot.rt, 10, topics=("city", "events"))
    pid = _publish(bot, topic="events")
    (u_unf, l_unf), (u_off, l_off), (u_topic, l_topic), (u_del, l_del) = people[:4]
    fan.step()  # expanded: every one of them is a recipient row
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(PublicationRecipient)) == 10
        db.get(User, u_unf).active = False
        db.get(Preference, u_off).frequency = "off"
        from models.subscriptions import SubscribedTopic
        db.execute(SubscribedTopic.__table__.delete().where(SubscribedTopic.user_id == u_topic,
                                                            SubscribedTopic.topic == "events"))
        delete_personal_data(db, db.get(User, u_del))
        db.commit()
    fan.drain()
    got = received(emulator)
    assert got == {line: 1 for _, line in people[4:]}
    rep = _report(bot, pid)
    assert (rep["reached"], rep["skipped_unfollowed"], rep["skipped_opted_out"], rep["skipped_deleted"]) == (6, 1, 2, 1)


def test_resident_deleted_after_batching_is_not_sent(bot, emulator):
    """The batch is written (ids in publication_recipients) but not sent yet: deletion removes the id."""
    bot.clock.set(NOON)
    people = residents(bot.rt, 3)
    pid = _publish(bot)
    f = Fanout(bot.rt, threads=1, rate=0)  # senders not started: batches wait in the queue
    f.step(), f.step(), f.step()
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxBatch).where(OutboxBatch.status == BATCH_FANOUT)) == 1
        delete_personal_data(db, db.get(User, people[0][0]))
        db.commit()
    bot.clock.advance(hours=1)
    assert outbox.sweep(bot.rt) == 0  # `kyodo worker`'s sweeps leave a publication's batch alone
    assert received(emulator) == {}
    f.start()
    try:
        f.drain()
    finally:
        f.shutdown()
    assert received(emulator) == {line: 1 for _, line in people[1:]}
    assert _report(bot, pid)["skipped_deleted"] == 1


def test_quiet_hours_delay_to_their_end_and_urgent_ignores_them(bot, emulator, fan):
    night = NOON.replace(hour=22, minute=30)
    bot.clock.set(night)
    default_quiet = residents(bot.rt, 3, quiet=None)          # no preferences row: 21:00-8:00
    own_quiet = residents(bot.rt, 2, quiet=(22 * 60, 6 * 60))  # 22:00-6:00
    awake = residents(bot.rt, 4, quiet=(None, None))           # quiet hours off
    pid = _publish(bot)
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in awake}
    rep = _report(bot, pid)
    assert (rep["reached"], rep["delayed_quiet"], rep["pending"], rep["status"]) == (4, 5, 5, "sending")
    with bot.rt.sessions() as db:
        due = dict(db.execute(select(PublicationRecipient.user_id, PublicationRecipient.due_at)
                              .where(PublicationRecipient.status == "delayed")).all())
    assert {utc(due[u]) for u, _ in default_quiet} == {quiet_end_after(night, 8 * 60)}  # 8:00 next morning
    assert {utc(due[u]) for u, _ in own_quiet} == {quiet_end_after(night, 6 * 60)}
    # urgent: straight through, quiet or not
    urgent = _publish(bot, urgent=True, title="緊急")
    fan.drain()
    assert _report(bot, urgent)["reached"] == 9
    emulator.reset()
    bot.clock.set(night.replace(hour=23) + timedelta(hours=7))  # 6:00 next day: own quiet hours over
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in own_quiet}
    bot.clock.set(night.replace(hour=23) + timedelta(hours=9))  # 8:00
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in own_quiet + default_quiet}
    rep = _report(bot, pid)
    assert (rep["reached"], rep["delayed_quiet"], rep["pending"], rep["status"]) == (9, 5, 0, DONE)


def test_daily_cap_skips_the_fourth_push_of_the_day_but_not_urgent_ones(bot, emulator, fan):
    people = residents(bot.rt, 5)
    pids = [_publish(bot, title=f"お知らせ{n}") for n in range(4)]
    fan.drain()
    assert received(emulator) == {line: 3 for _, line in people}
    assert [_report(bot, p)["skipped_capped"] for p in pids] == [0, 0, 0, 5]
    urgent = _publish(bot, urgent=True)
    fan.drain()
    assert _report(bot, urgent)["reached"] == 5
    bot.clock.advance(hours=13)  # 1:00 next day in Tokyo (these residents have no quiet hours)
    nxt = _publish(bot)
    fan.drain()
    assert _report(bot, nxt)["reached"] == 5  # a new day, a new count


@pytest.mark.parametrize("mode,kw", [("429", {"retry_after": 0.2}), ("429", {}), ("500", {}),
                                     ("hang", {"hang_seconds": 1.3})])
def test_faults_mid_fanout_every_recipient_exactly_once(bot, emulator, fan, mode, kw):
    people = residents(bot.rt, 2600)
    emulator.inject("multicast", mode, count=3, **kw)
    pid = _publish(bot)
    fan.drain(timeout=60)
    assert received(emulator) == {line: 1 for _, line in people}
    rep = _report(bot, pid)
    assert (rep["reached"], rep["failed"], rep["status"]) == (2600, 0, DONE)
    statuses = [r["status"] for r in emulator.requests if r["path"].endswith("/multicast")]
    assert statuses.count(int(mode) if mode != "hang" else 200) >= 3
    if mode == "hang":
        assert statuses.count(409) >= 1  # the resend after a timeout: LINE already had it


def test_rate_limit_429_without_retry_after_keeps_going(bot, emulator):
    bot.clock.set(NOON)
    people = residents(bot.rt, 6000)
    emulator.set_rate_limit(5)  # far below what the senders try: many 429s, no Retry-After
    f = Fanout(bot.rt, threads=4, rate=0).start()
    try:
        pid = _publish(bot)
        f.drain(timeout=60)
    finally:
        f.shutdown()
        emulator.set_rate_limit(None)
    assert received(emulator) == {line: 1 for _, line in people}
    assert any(r["status"] == 429 for r in emulator.requests)
    assert _report(bot, pid)["reached"] == 6000


def test_permanent_error_is_recorded_with_lines_message_and_request_id(bot, emulator, fan):
    people = residents(bot.rt, 3)
    pid = _publish(bot, messages=[{"type": "text", "text": "あ" * 5001}])  # over LINE's 5,000 characters
    fan.drain()
    assert received(emulator) == {}
    rep = _report(bot, pid)
    assert (rep["failed"], rep["reached"], rep["status"]) == (3, 0, DONE)
    [failure] = rep["failed_batches"]
    [req] = [r for r in emulator.requests if r["path"].endswith("/multicast")]  # not retried
    assert req["status"] == 400
    assert failure["request_id"] == req["request_id"]
    assert "messages[0].text" in failure["message"] and failure["recipients"] == 3


def test_pacer_spaces_calls():
    p = Pacer(200)
    t0 = time.monotonic()
    for _ in range(41):
        p.wait()
    assert time.monotonic() - t0 >= 0.19


@pytest.mark.skipif(BACKEND != "postgresql", reason="SIGKILL of a real process: PostgreSQL only")
def test_sigkill_mid_fanout_then_restart_every_recipient_exactly_once(bot, emulator, database_url):
    people = residents(bot.rt, 20_000)
    pid = _publish(bot, when=None)
    # A few calls are accepted but answered late: the kill is likely to catch one in flight.
    emulator.inject("multicast", "hang", count=4, hang_seconds=3)
    env = _deliver_env(emulator, database_url, rate=40, lease_s=3)  # the killed process's lease expires after 3 s
    first = subprocess.Popen(DELIVER, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        emulator.wait_for(lambda: len(emulator.sent(kind="multicast")) >= 12, timeout=20)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        before = len(emulator.sent(kind="multicast"))
        assert before < 40  # really in the middle
        with bot.rt.sessions() as db:
            assert db.scalar(select(Publication.status).where(Publication.id == pid)) != DONE
        second = subprocess.Popen([*DELIVER, "--once"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        assert second.wait(25) == 0
    finally:
        for p in (first, locals().get("second")):
            if p is not None and p.poll() is None:
                p.kill()
    got = received(emulator)
    assert got == {line: 1 for _, line in people}  # every one exactly once, from the emulator's record
    assert sum(len(r["to"]) for r in emulator.sent(kind="multicast")) == 20_000
    # The calls caught in flight by the kill were sent again with their keys, and LINE said it had them.
    assert any(r["status"] == 409 for r in emulator.requests if r["path"].endswith("/multicast"))
    with bot.rt.sessions() as db:
        rep = report(db, pid)
    assert (rep["reached"], rep["status"]) == (20_000, DONE)


@pytest.mark.skipif(BACKEND != "postgresql", reason="two real processes: PostgreSQL only")
def test_two_deliver_processes_at_once_send_each_recipient_once_and_one_stands_by(bot, emulator, database_url):
    from models.scheduling import SchedulerLease

    people = residents(bot.rt, 3_000)
    pid = _publish(bot, when=None)
    env = _deliver_env(emulator, database_url, rate=20)
    procs = [subprocess.Popen(DELIVER, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        emulator.wait_for(lambda: sum(len(r["to"]) for r in emulator.sent(kind="multicast")) >= 3_000, timeout=30)
        time.sleep(0.5)  # a second sender, were there one, would have resent by now
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        logs = [p.communicate(timeout=15)[1] for p in procs]
    assert received(emulator) == {line: 1 for _, line in people}
    assert not any(r["status"] == 409 for r in emulator.requests if r["path"].endswith("/multicast"))
    assert sum("standing by" in log for log in logs) == 1, logs
    with bot.rt.sessions() as db:
        assert report(db, pid)["reached"] == 3_000
        assert db.get(SchedulerLease, "deliver") is not None


class _Flaky:
    """LINE answering 503 to the first `n` calls (an outage), then the real adapter."""

    def __init__(self, real, n: int) -> None:
        self.real, self.n, self.calls = real, n, 0

    def multicast(self, to, messages, key):
        self.calls += 1
        if self.calls <= self.n:
            raise LineError("multicast: HTTP 503 Service Unavailable", status=503, retryable=True)
        return self.real.multicast(to, messages, key)

    push = multicast


def test_a_long_outage_is_waited_out_not_turned_into_failures(bot, emulator, monkeypatch):
    """5xx for longer than any fixed number of tries: the batch keeps its key and goes when LINE is back."""
    monkeypatch.setattr(fanout_mod, "BACKOFF_BASE_S", 0.0)  # the backoff's length is not what is tested
    bot.clock.set(NOON)
    people = residents(bot.rt, 3)
    real = Fanout(bot.rt, threads=1, rate=0).adapter
    flaky = _Flaky(real, 40)
    f = Fanout(bot.rt, threads=1, rate=0, adapter=flaky).start()
    try:
        pid = _publish(bot, when=None)
        f.drain()
    finally:
        f.shutdown()
    assert flaky.calls == 41
    assert received(emulator) == {line: 1 for _, line in people}
    with bot.rt.sessions() as db:
        assert (report(db, pid)["reached"], report(db, pid)["failed"]) == (3, 0)


def test_the_monthly_limit_fails_at_once_with_lines_message(bot, emulator, fan):
    residents(bot.rt, 3)
    emulator.inject("multicast", "429-monthly", count=1)
    pid = _publish(bot, when=None)
    fan.drain()
    with bot.rt.sessions() as db:
        rep = report(db, pid)
    assert (rep["reached"], rep["failed"]) == (0, 3)
    assert "monthly limit" in rep["failed_batches"][0]["message"]
    assert len([r for r in emulator.requests if r["path"].endswith("/multicast")]) == 1


def test_urgent_pushes_do_not_count_toward_the_daily_cap(bot, emulator, fan):
    residents(bot.rt, 5)
    _publish(bot, when=None, urgent=True, title="緊急")
    fan.drain()
    pids = []
    for i in range(3):
        pids.append(_publish(bot, when=None, title=f"お知らせ{i}"))
        fan.drain()
    with bot.rt.sessions() as db:
        assert [report(db, p)["skipped_capped"] for p in pids] == [0, 0, 0]
        assert [report(db, p)["reached"] for p in pids] == [5, 5, 5]


def test_a_batch_a_sender_could_not_record_is_resent_by_the_running_loop(bot, emulator, monkeypatch):
    """The call went through, then the database dropped the write: the loop finds the batch a minute
    later (no restart needed) and resends it with its key; LINE answers 409 and everyone has it once."""
    from sqlalchemy.exc import OperationalError

    bot.clock.set(NOON)
    people = residents(bot.rt, 3)
    real_record, calls = Fanout._record, []

    def flaky(self, job, *a, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))
        return real_record(self, job, *a, **kw)

    monkeypatch.setattr(Fanout, "_record", flaky)
    monkeypatch.setattr(fanout_mod, "RECOVER_EVERY_S", 0.2)
    f = Fanout(bot.rt, threads=1, rate=0).start()
    loop = threading.Thread(target=f.run, kwargs={"poll_s": 0.05}, daemon=True)
    try:
        pid = _publish(bot, when=None)
        loop.start()
        emulator.wait_for(lambda: len(calls) >= 1, timeout=10)
        bot.clock.set(NOON + timedelta(minutes=2))  # the batch is now older than the loop's look-back
        with bot.rt.sessions() as db:
            deadline = time.monotonic() + 10
            while report(db, pid)["status"] != DONE and time.monotonic() < deadline:
                time.sleep(0.05)
                db.expire_all()
    finally:
        f.stop.set()
        loop.join(5)
        f.shutdown()
    assert received(emulator) == {line: 1 for _, line in people}
    assert any(r["status"] == 409 for r in emulator.requests if r["path"].endswith("/multicast"))
    with bot.rt.sessions() as db:
        assert report(db, pid)["reached"] == 3
