"""The daily cap's count per resident and day (push_counts) and the retention job (scheduler/retention.py):
the cap reads one row per resident, not their history; recipient rows of publications finished more than
two days ago are deleted with their counts kept on the publication, and report(), the follows dashboard
and the weekly digest read the same afterwards. On PostgreSQL: the cap query's cost per chunk of 500 does
not grow with the residents' history (EXPLAIN ANALYZE, BUFFERS)."""
from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, insert, select, text

from bot.admin import follows
from bot.fanout import Fanout, day_start, jst_day, quiet_minute
from bot.publish import SUMMARY_KEYS, publish, report
from models.privacy import delete_personal_data
from models.publications import DONE, Publication, PublicationRecipient, PushCount
from models.users import User
from scheduler import digest, retention
from tests.conftest import BACKEND
from tests.fanout_support import NEWS, NOON, fan, received, residents  # noqa: F401  (fan: fixture)

PR = PublicationRecipient


def _publish(bot, **kw) -> int:
    kw.setdefault("messages", NEWS)
    with bot.rt.sessions() as db:
        pub = publish(db, now=bot.rt.now(), **kw)
        db.commit()
        return pub.id


def _report(bot, pid: int) -> dict:
    with bot.rt.sessions() as db:
        return report(db, pid)


def _counts(bot) -> dict:
    """(users.id, Tokyo day) -> today's count, from push_counts."""
    with bot.rt.sessions() as db:
        return {(u, d): n for u, d, n in db.execute(select(PushCount.user_id, PushCount.jst_day, PushCount.n))}


def _rows(bot, pid: int | None = None) -> int:
    with bot.rt.sessions() as db:
        stmt = select(func.count()).select_from(PR)
        return db.scalar(stmt if pid is None else stmt.where(PR.publication_id == pid))


# -- the daily cap's count ---------------------------------------------------------------------------------
def test_the_cap_reads_todays_count_not_the_recipient_rows(bot, emulator, fan):
    people = residents(bot.rt, 5)
    for n in range(3):
        _publish(bot, title=f"お知らせ{n}")
    _publish(bot, urgent=True, title="緊急")  # not counted
    fan.drain()
    today = jst_day(bot.rt.now())
    assert _counts(bot) == {(u, today): 3 for u, _ in people}
    # The history is gone (as retention deletes it): the count still says 3, so the next one is capped.
    with bot.rt.engine.begin() as c:
        c.execute(delete(PR))
    fourth = _publish(bot, title="お知らせ3")
    fan.drain()
    assert _report(bot, fourth)["skipped_capped"] == 5
    assert received(emulator) == {line: 4 for _, line in people}  # 3 + the urgent one
    bot.clock.advance(hours=13)  # 1:00 the next day in Tokyo: a new row, a new count
    nxt = _publish(bot)
    fan.drain()
    assert _report(bot, nxt)["reached"] == 5
    assert _counts(bot)[(people[0][0], jst_day(bot.rt.now()))] == 1


def test_a_batch_line_refuses_for_good_gives_its_count_back(bot, emulator, fan):
    people = residents(bot.rt, 3)
    bad = _publish(bot, messages=[{"type": "text", "text": "あ" * 5001}])  # over LINE's limit: 400
    fan.drain()
    assert _report(bot, bad)["failed"] == 3
    today = jst_day(bot.rt.now())
    assert _counts(bot) == {(u, today): 0 for u, _ in people}
    pids = [_publish(bot, title=f"お知らせ{n}") for n in range(3)]
    fan.drain()
    assert [_report(bot, p)["reached"] for p in pids] == [3, 3, 3]  # the refused one did not use the cap
    assert _counts(bot) == {(u, today): 3 for u, _ in people}


def test_deleting_a_resident_deletes_their_counts(bot, emulator, fan):
    people = residents(bot.rt, 2)
    _publish(bot)
    fan.drain()
    with bot.rt.sessions() as db:
        delete_personal_data(db, db.get(User, people[0][0]))
        db.commit()
    assert [u for u, _ in _counts(bot)] == [people[1][0]]


# -- retention ----------------------------------------------------------------------------------------------
def test_rows_go_two_days_after_the_end_and_the_report_stays_the_same(bot, emulator, fan):
    people = residents(bot.rt, 6)
    old = _publish(bot, title="清掃のお知らせ")
    bad = _publish(bot, messages=[{"type": "text", "text": "あ" * 5001}], title="長すぎるお知らせ")
    fan.drain()
    # Two residents block the account within 24 hours of the push, one after 30 hours.
    with bot.rt.engine.begin() as c:
        for (uid, _), hours in zip(people[:3], (1, 20, 30)):
            c.execute(User.__table__.update().where(User.id == uid)
                      .values(active=False, unfollowed_at=bot.rt.now() + timedelta(hours=hours)))
    bot.clock.advance(days=1)
    newer = _publish(bot, title="翌日のお知らせ")
    fan.drain()
    before = {p: _report(bot, p) for p in (old, bad, newer)}
    assert before[old]["blocked_within_24h"] == 2 and before[old]["reached"] == 6
    assert before[bad]["failed_batches"] and before[newer]["reached"] == 3  # active ones only
    with bot.rt.sessions() as db:
        shown = {p.id: (p.reached, p.blocked) for p in follows.pushes(db)}

    bot.clock.advance(hours=23)  # 47 h after the first two finished: kept
    assert retention.run(bot.rt) == (0, 0)
    assert _rows(bot) == 6 + 6 + 3

    bot.clock.advance(hours=1, minutes=1)  # 2 days and a minute: the first two go, the newer one stays
    assert retention.run(bot.rt) == (2, 12)
    assert (_rows(bot, old), _rows(bot, bad), _rows(bot, newer)) == (0, 0, 3)
    after = {p: _report(bot, p) for p in (old, bad, newer)}
    assert after == before
    with bot.rt.sessions() as db:
        assert {p.id: (p.reached, p.blocked) for p in follows.pushes(db)} == shown
        summary = db.scalar(select(Publication.summary).where(Publication.id == old))
        # The stored summary is counts only: no LINE id, no users.id.
        assert set(summary) == set(SUMMARY_KEYS) and all(isinstance(v, int) for v in summary.values())
        assert not any(line in json.dumps(summary) for _, line in people)
        # The weekly digest still lists the pruned publication (it reads publications, not recipients).
        listed = digest.items_of_week(db, NOON - timedelta(days=1), bot.rt.now())
        assert old in [p.id for p in listed]
        assert db.scalar(select(Publication.status).where(Publication.id == old)) == DONE
    assert retention.run(bot.rt) == (0, 0)  # nothing left to do


def test_a_run_cut_short_is_finished_by_the_next(bot, emulator, fan, monkeypatch):
    residents(bot.rt, 7)
    pid = _publish(bot)
    fan.drain()
    before = _report(bot, pid)
    bot.clock.advance(days=3)
    monkeypatch.setattr(retention, "SPAN", 2)  # several DELETE transactions

    calls = []
    real_delete = retention.delete

    def dies_after_two(table):  # the process dies after two range deletes
        calls.append(1)
        if len(calls) > 2 and table is PR:
            raise RuntimeError("killed")
        return real_delete(table)

    monkeypatch.setattr(retention, "delete", dies_after_two)
    with pytest.raises(RuntimeError):
        retention.run(bot.rt)
    left = _rows(bot, pid)
    assert 0 < left < 7
    assert _report(bot, pid) == before  # the summary was stored first
    monkeypatch.setattr(retention, "delete", real_delete)
    assert retention.run(bot.rt) == (1, left)
    assert _rows(bot, pid) == 0 and _report(bot, pid) == before


def test_counts_of_days_before_yesterday_are_deleted(bot):
    people = residents(bot.rt, 2)
    today = jst_day(NOON)
    with bot.rt.engine.begin() as c:
        c.execute(insert(PushCount), [{"user_id": u, "jst_day": today - timedelta(days=d), "n": 1}
                                      for u, _ in people for d in (0, 1, 2, 30)])
    bot.clock.set(NOON)
    retention.run(bot.rt)
    assert sorted(_counts(bot)) == sorted((u, today - timedelta(days=d)) for u, _ in people for d in (0, 1))


# -- the cap query's cost does not grow with history (PostgreSQL) ------------------------------------------
def _blocks(node: dict) -> int:
    return node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)


def _subplans(node: dict):
    for child in node.get("Plans", ()):
        if child.get("Parent Relationship") == "SubPlan":
            yield child
        else:
            yield from _subplans(child)


def facts_cost(rt, pid: int, now, *, fan: Fanout | None = None) -> tuple[int, int, float]:
    """One chunk query of `pid` (Fanout._facts) under EXPLAIN (ANALYZE, BUFFERS): (shared buffers of the
    whole query, of the daily cap's count (its subplan), execution ms)."""
    fan = fan or Fanout(rt, threads=1, rate=0)
    stmt = fan._facts(pid, SimpleNamespace(urgent=False, personal=False, guard=None, topic=None, frequencies=["now"]))
    stmt = stmt.params(after=0, now=now, jday=jst_day(now), day=day_start(now), minute=quiet_minute(now))
    sql = str(stmt.compile(dialect=rt.engine.dialect, compile_kwargs={"literal_binds": True}))
    with rt.engine.connect() as c:
        c.exec_driver_sql("SET jit = off")
        plan = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql).scalar()[0]
    top = plan["Plan"]
    return _blocks(top), sum(_blocks(n) for n in _subplans(top)), plan["Execution Time"]


def add_history(rt, per_resident: int, now) -> None:
    """`per_resident` past publications sent to every resident (rows in publication order, as a fan-out
    writes them)."""
    with rt.engine.begin() as c:
        c.execute(insert(Publication), [
            {"purpose": "history", "title": f"過去{i}", "messages": NEWS, "segment": {}, "frequencies": ["now"],
             "urgent": False, "not_before": now - timedelta(days=i + 1), "status": DONE, "expanded_to": 0,
             "skipped_deleted": 0, "created_at": now - timedelta(days=i + 1)} for i in range(per_resident)])
        c.execute(text("INSERT INTO publication_recipients (publication_id, user_id, status, due_at, sent_at) "
                       "SELECT p.id, u.id, 'sent', p.not_before, :now FROM publications p CROSS JOIN users u "
                       "WHERE p.purpose = 'history' ORDER BY p.id, u.id"), {"now": now})
        c.execute(text("ANALYZE publication_recipients"))


@pytest.mark.skipif(BACKEND != "postgresql", reason="EXPLAIN (ANALYZE, BUFFERS): PostgreSQL only")
def test_the_cap_query_costs_the_same_per_chunk_with_150_past_pushes_per_resident(bot):
    bot.clock.set(NOON)
    now = bot.rt.now()
    residents(bot.rt, 500)
    pid = _publish(bot, title="今日のお知らせ")
    with bot.rt.engine.begin() as c:
        c.execute(text("INSERT INTO publication_recipients (publication_id, user_id, status, due_at) "
                       "SELECT :p, id, 'pending', :now FROM users"), {"p": pid, "now": now})
        c.execute(text("UPDATE publications SET status = 'sending' WHERE id = :p"), {"p": pid})
        # Everyone got one push today already (the same count row with or without history).
        c.execute(text("INSERT INTO push_counts (user_id, jst_day, n) SELECT id, :d, 1 FROM users"),
                  {"d": jst_day(now)})
        c.execute(text("ANALYZE publication_recipients; ANALYZE push_counts; ANALYZE users"))
    _, fresh, _ = facts_cost(bot.rt, pid, now)
    add_history(bot.rt, 150, now)
    assert _rows(bot) == 500 * 151
    _, grown, _ = facts_cost(bot.rt, pid, now)
    # One push_counts primary-key lookup per resident (about 3 buffers), with or without history; the old
    # count read every one of the 75,000 history rows through the user_id index (over 75,000 buffers).
    assert 0 < fresh <= 4 * 500 and grown == fresh, (fresh, grown)
