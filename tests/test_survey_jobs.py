"""Invitations, the one reminder and closing (bot/survey_notices.py, scheduler/survey_jobs.py) to the emulator
through kyodo deliver's loop: the invitation goes at the opening time to the segment's residents who chose
アンケート, once however often the survey is opened; closing or going back to draft before it went cancels it;
the job closes due surveys once and cancels what has not gone; the reminder reaches exactly those who have not
submitted (anonymous surveys found by respondent key, across chunks), once, and only while the survey is live;
two schedulers at once remind once. Both databases (the two-scheduler case on PostgreSQL)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import survey_notices as N
from bot.clock import TOKYO, utc
from bot.postback import decode
from emulator.limits import check_messages
from models.publications import Publication
from models.subscriptions import SubscribedDistrict, SubscribedTopic
from models.surveys import CLOSED, DRAFT, IN_PROGRESS, OPEN, Survey, SurveyResponse
from scheduler import survey_jobs
from tests.chat_support import actions_in, texts
from tests.conftest import BACKEND
from tests.events_support import add_residents, deliver
from tests.surveys_support import add_response, build_survey

# A Tuesday morning in Tokyo, outside quiet hours; in UTC, as SQLite keeps an aware value as its wall time.
T0 = utc(datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO))
ANSWERS = {"q1": 1, "q6": "2026-12-20", "q7": "kozu"}


def residents(bot, spec: list[tuple[str | None, bool]]) -> list[tuple[int, str]]:
    """Following residents, one per (地区 or None, chose アンケート?)."""
    people = add_residents(bot.rt, len(spec))
    with bot.rt.sessions() as db:
        for (uid, _), (district, surveys) in zip(people, spec):
            if district:
                db.add(SubscribedDistrict(user_id=uid, district=district))
            if surveys:
                db.add(SubscribedTopic(user_id=uid, topic="surveys"))
        db.commit()
    return people


def pushes(emulator, line_id: str) -> list[dict]:
    return [m for r in emulator.sent(user=line_id) if r["kind"] in ("push", "multicast") for m in r["messages"]]


def survey_taps(messages: list[dict]) -> list[tuple[str, str]]:
    out = []
    for a in actions_in(messages):
        pb = decode(a["data"])
        out.append((a["label"], pb.action, pb.params.get("s")))
    return out


def opened(bot, now: datetime, **kw) -> int:
    """A survey set open at `now` the way the admin does it (status, then on_opened in its transaction)."""
    with bot.rt.sessions() as db:
        s = build_survey(db, now, status=DRAFT, **kw)
        s.status = OPEN
        N.on_opened(db, s, now=now)
        db.commit()
        return s.id


def test_the_invitation_goes_at_the_opening_time_to_the_segment_once(bot, emulator):
    bot.clock.set(T0)
    (a, la), (b, lb), (c, lc), (d, ld) = residents(bot, [("kozu", True), ("soga", True), ("kozu", False),
                                                         (None, True)])
    opens = T0 + timedelta(hours=2)
    sid = opened(bot, T0, opens_at=opens, closes_at=T0 + timedelta(days=7), segment={"districts": ["kozu"]},
                 title="国府津地区の防災アンケート")
    with bot.rt.sessions() as db:
        s = db.get(Survey, sid)
        pub = db.get(Publication, s.invite_publication_id)
        assert (pub.ref, pub.topic, pub.purpose) == (f"survey:{sid}:invite", "surveys", "survey")
        assert utc(pub.not_before) == utc(opens) and utc(s.opened_at) == utc(T0)
        assert pub.segment["districts"] == ["kozu"]
        # Opening again (a double click, or open after an edit) queues nothing more.
        assert N.on_opened(db, s, now=T0 + timedelta(minutes=5)).id == pub.id
        db.commit()
        assert db.scalar(select(func.count()).select_from(Publication)) == 1
    deliver(bot.rt)
    assert all(pushes(emulator, line) == [] for line in (la, lb, lc, ld))  # not before it opens
    bot.clock.set(opens)
    deliver(bot.rt)
    [card] = pushes(emulator, la)
    assert check_messages([card]) == []
    words = " ".join(texts(card))
    assert "アンケートのお願い" in words and "国府津地区の防災アンケート" in words
    assert "5分ほどで終わります。" in words and "締切：12月8日（火）10:00" in words and "質問：7問" in words
    assert "無記名" in words and "締切 12月8日（火）10:00" in card["altText"]
    assert survey_taps([card]) == [("回答する", "survey.open", str(sid))]
    # 曽我 is outside the segment, the second 国府津 resident did not choose アンケート, the fourth chose no 地区.
    assert pushes(emulator, lb) == [] and pushes(emulator, lc) == [] and pushes(emulator, ld) == []


def test_going_back_before_it_opens_cancels_the_invitation_and_opening_again_invites(bot, emulator):
    bot.clock.set(T0)
    [(a, la)] = residents(bot, [(None, True)])
    opens = T0 + timedelta(days=1)
    sid = opened(bot, T0, opens_at=opens, closes_at=T0 + timedelta(days=7), anonymous=False)
    with bot.rt.sessions() as db:
        s = db.get(Survey, sid)
        s.status = DRAFT  # 下書きに戻す
        assert N.on_closed(db, s) == 1
        assert N.on_closed(db, s) == 0  # nothing left to cancel
        db.commit()
        first = s.invite_publication_id
        assert db.get(Publication, first).status == "cancelled"
    bot.clock.set(opens)
    deliver(bot.rt)
    assert pushes(emulator, la) == []
    with bot.rt.sessions() as db:  # opened again: a new round of the invitation, sent now
        s = db.get(Survey, sid)
        s.status = OPEN
        pub = N.on_opened(db, s, now=opens)
        db.commit()
        assert pub.id != first and pub.ref == f"survey:{sid}:invite:2" and s.invite_publication_id == pub.id
        assert utc(s.opened_at) == utc(T0)  # first opened then
    deliver(bot.rt)
    [card] = pushes(emulator, la)
    assert "記名式のアンケートです。" in " ".join(texts(card))


def test_the_job_closes_due_surveys_once_and_cancels_what_has_not_gone(bot):
    bot.clock.set(T0)
    residents(bot, [(None, True)])
    due = opened(bot, T0, opens_at=T0 + timedelta(minutes=30), closes_at=T0 + timedelta(hours=1))
    later = opened(bot, T0, closes_at=T0 + timedelta(days=2))
    with bot.rt.sessions() as db:
        draft = build_survey(db, T0, status=DRAFT, closes_at=T0 + timedelta(hours=1)).id
        db.commit()
    bot.clock.set(T0 + timedelta(minutes=59))
    assert survey_jobs.run(bot.rt) == {"closed": 0, "reminded": 0}
    bot.clock.set(T0 + timedelta(hours=1))
    assert survey_jobs.run(bot.rt)["closed"] == 1
    assert survey_jobs.run(bot.rt)["closed"] == 0
    with bot.rt.sessions() as db:
        assert [db.get(Survey, i).status for i in (due, later, draft)] == [CLOSED, OPEN, DRAFT]
        assert utc(db.get(Survey, due).updated_at) == utc(T0 + timedelta(hours=1))
        # Its invitation (due at 10:30, never delivered here) will not go out now; the other survey's stays.
        assert db.get(Publication, db.get(Survey, due).invite_publication_id).status == "cancelled"
        assert db.get(Publication, db.get(Survey, later).invite_publication_id).status == "scheduled"


@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "named"])
def test_one_reminder_to_exactly_those_who_have_not_submitted(bot, emulator, monkeypatch, anonymous):
    monkeypatch.setattr(survey_jobs, "CHUNK", 2)  # the segment is read in chunks: cross a few
    bot.clock.set(T0)
    people = residents(bot, [("kozu", True)] * 5 + [("kozu", False), ("soga", True)])
    (a, la), (b, lb), (c, lc), (d, ld), (e, le), (f, lf), (g, lg) = people
    remind_at = T0 + timedelta(days=2)
    sid = opened(bot, T0, segment={"districts": ["kozu"]}, anonymous=anonymous)
    with bot.rt.sessions() as db:
        s = db.get(Survey, sid)
        s.remind_at = remind_at
        add_response(db, s, ANSWERS, T0, line_user_id=la, user_id=a)  # submitted
        add_response(db, s, ANSWERS, T0, line_user_id=ld, user_id=d).editing = True  # submitted, changing it
        r = add_response(db, s, {}, T0, line_user_id=lb, user_id=b)  # half way
        r.status, r.answers, r.submitted_at, r.pending, r.current = IN_PROGRESS, {}, None, {"q1": 0}, "q2"
        db.commit()
    deliver(bot.rt)  # the invitation
    seen = {line: len(pushes(emulator, line)) for _, line in people}
    bot.clock.set(remind_at - timedelta(minutes=1))
    assert survey_jobs.run(bot.rt)["reminded"] == 0
    bot.clock.set(remind_at)
    assert survey_jobs.run(bot.rt)["reminded"] == 1
    assert survey_jobs.run(bot.rt)["reminded"] == 0  # one reminder, however often the job runs
    with bot.rt.sessions() as db:
        s = db.get(Survey, sid)
        pub = db.get(Publication, s.reminder_publication_id)
        assert pub.ref == f"survey:{sid}:remind" and pub.topic == "surveys"
        assert sorted(pub.segment["user_ids"]) == sorted([b, c, e])
    deliver(bot.rt)
    new = {line: pushes(emulator, line)[seen[line]:] for _, line in people}
    for line in (lb, lc, le):
        [card] = new[line]
        assert check_messages([card]) == []
        assert "締切が近づいています" in card["altText"] and "続きから回答できます" in " ".join(texts(card))
        assert survey_taps([card]) == [("回答する", "survey.open", str(sid))]
    assert new[la] == [] and new[ld] == [] and new[lf] == [] and new[lg] == []


def test_no_reminder_unless_the_survey_is_live_and_opened_before_it(bot):
    bot.clock.set(T0)
    residents(bot, [(None, True)])
    remind_at = T0 + timedelta(hours=1)
    with bot.rt.sessions() as db:
        draft = build_survey(db, T0, status=DRAFT)
        closed = build_survey(db, T0, status=CLOSED)
        sample = build_survey(db, T0)
        sample.source = "sample"
        late = build_survey(db, T0)  # opened only after its reminder time: it would come with the invitation
        late.opened_at = remind_at + timedelta(minutes=10)
        ended = build_survey(db, T0, closes_at=remind_at + timedelta(minutes=5))
        for s in (draft, closed, sample, late, ended):
            s.remind_at = remind_at
        db.commit()
    bot.clock.set(remind_at + timedelta(minutes=30))
    assert survey_jobs.run(bot.rt) == {"closed": 1, "reminded": 0}
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Publication)) == 0


@pytest.mark.skipif(BACKEND != "postgresql", reason="two schedulers writing at once: PostgreSQL")
def test_two_schedulers_at_once_close_and_remind_once(bot):
    bot.clock.set(T0)
    residents(bot, [(None, True)] * 3)
    with bot.rt.sessions() as db:
        for i in range(4):
            s = build_survey(db, T0, title=f"アンケート{i}", closes_at=T0 + timedelta(hours=1 if i < 2 else 48))
            s.remind_at = T0 + timedelta(minutes=30)
        db.commit()
    bot.clock.set(T0 + timedelta(hours=1))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: survey_jobs.run(bot.rt), range(2)))
    assert sum(r["closed"] for r in results) == 2 and sum(r["reminded"] for r in results) == 2
    with bot.rt.sessions() as db:
        refs = sorted(db.scalars(select(Publication.ref)))
        ids = [i for i in db.scalars(select(Survey.id).where(Survey.status == OPEN).order_by(Survey.id))]
        assert refs == sorted(f"survey:{i}:remind" for i in ids)
        assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 0
