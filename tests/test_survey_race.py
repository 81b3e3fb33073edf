"""1,000 residents answer one survey at once over real HTTP, in the production layout (PostgreSQL only: SQLite
has one writer): the web process stores and acknowledges signed webhooks, a real `kyodo worker` process answers
them in batches.
Each resident posts their whole way through in one body (はじめる, then three choices, then 送信する)
concurrently with everyone else, and taps 送信する again in another request. Afterwards exactly 1,000 submitted
responses, one per resident (respondent key), each with every answer; every event done (none failed); each
resident was told 送信しました once and 回答済み for the second tap."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.postback import decode
from bot.survey_logic import ordered, respondent_key
from emulator import new_user_id, webhooks
from models.outbox import PENDING as OB_PENDING, SENDING, OutboxBatch
from models.surveys import SUBMITTED, SurveyResponse
from models.webhook import DONE, WebhookEvent
from tests.chat_support import actions_in
from tests.conftest import BACKEND, ROOT, SECRET, TOKEN, make_config, start_live_bot, wipe
from tests.helpers import issue_reply_tokens, post_events
from tests.surveys_support import build_survey

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="1,000 concurrent writers: PostgreSQL")

RESIDENTS = int(os.environ.get("KYODO_SURVEY_RACE_RESIDENTS", "1000"))
QUESTIONS = [
    dict(key="q1", kind="single", text="市の協働の取り組みを知っていますか。", options=["はい", "いいえ"]),
    dict(key="q2", kind="scale", text="取り組みに満足していますか。", scale_labels=["不満", "満足"]),
    dict(key="q3", kind="single", text="これからも参加したいですか。", options=["参加したい", "わからない", "参加しない"]),
]
EXPECTED = {"q1": 0, "q2": 5, "q3": 2}


def _data(messages, action: str, nth: int = 0) -> str:
    """The postback data of the bot's own `nth` button for `action`, in the order shown (options in order)."""
    found = [a["data"] for a in actions_in(messages) if decode(a["data"]).action == action]
    assert len(found) > nth, (action, [a["data"] for a in actions_in(messages)])
    return found[nth]


def taps(survey) -> list[str]:
    """The way through as the bot's own buttons: はじめる, はい, 5, 参加しない, 送信する."""
    from handlers import surveys_flex as F

    q1, q2, q3 = ordered(survey.questions)
    show = lambda q: F.question_messages(survey, q, district_names=[])  # noqa: E731
    return [_data([F.card_message(survey, now=None, state=F.NEW)], "survey.start"),
            _data(show(q1), "survey.a", 0), _data(show(q2), "survey.a", 4), _data(show(q3), "survey.a", 2),
            _data(F.confirmation_messages(survey, EXPECTED, district_names=[]), "survey.submit")]


@pytest.fixture
def layout(database_url, emulator, tmp_path):
    """A web process in worker mode (store and ack) and a real `kyodo worker` process, on a clean database."""
    cfg = make_config(database_url, emulator.base_url, dispatch_mode="worker")
    server, web = start_live_bot(cfg)
    wipe(web.rt)
    emulator.reset()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "KYODO_SECRET_KEY": cfg.secret_key,  # the same keyed hashes
           "LINE_API_BASE_URL": emulator.base_url, "LINE_DATA_API_BASE_URL": emulator.base_url, "KYODO_DEMO": ""}
    log = tmp_path / "worker.log"  # a file, not a pipe nobody reads while it runs
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--nice", "0"], env=env, cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            yield web
        finally:
            worker.terminate()  # SIGTERM: the worker finishes its batch and stops
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            server.shutdown()
            web.rt.close()
    err = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in err and "ERROR" not in err, err[-3000:]


def settled(rt, deadline: float) -> None:
    """Wait until every stored event is finished and every reply sent."""
    while time.monotonic() < deadline:
        with rt.sessions() as db:
            open_events = db.scalar(select(func.count()).select_from(WebhookEvent)
                                    .where(WebhookEvent.status.notin_((DONE, "failed", "skipped"))))
            sending = db.scalar(select(func.count()).select_from(OutboxBatch)
                                .where(OutboxBatch.status.in_((OB_PENDING, SENDING))))
        if not open_events and not sending:
            return
        time.sleep(0.2)
    raise AssertionError("the bot did not finish in time")


def test_a_thousand_residents_answer_at_once_and_nothing_is_lost_or_doubled(layout, emulator):
    web = layout
    now = datetime.now(timezone.utc)
    with web.rt.sessions() as db:
        survey = build_survey(db, now, questions=QUESTIONS, title="いっせい回答アンケート")
        sid = survey.id
        way = taps(survey)
        db.commit()
    users = [new_user_id() for _ in range(RESIDENTS)]
    tokens = iter(issue_reply_tokens(emulator, [u for u in users for _ in range(len(way) + 1)]))
    base = int(time.time() * 1000) - 60_000
    lock = threading.Lock()

    def resident(i: int) -> tuple[int, int]:
        u = users[i]
        with lock:
            mine = [next(tokens) for _ in range(len(way) + 1)]
        events = []
        for j, data in enumerate(way):
            ev = webhooks.postback_event(u, data, mine[j])
            ev["timestamp"] = base + i + j
            events.append(ev)
        first = post_events(web.url, events)
        again = webhooks.postback_event(u, way[-1], mine[-1])  # 送信する once more, a moment later
        again["timestamp"] = base + i + len(way)
        return first, post_events(web.url, [again])

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(resident, range(RESIDENTS)))
    assert statuses == [(200, 200)] * RESIDENTS
    settled(web.rt, started + 100)
    print(f"{RESIDENTS} residents, {RESIDENTS * (len(way) + 1)} events: {time.monotonic() - started:.1f} s")

    with web.rt.sessions() as db:
        events = dict(db.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all())
        assert events == {DONE: RESIDENTS * (len(way) + 1)}, events
        rows = db.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == sid)).all()
        assert len(rows) == RESIDENTS
        assert {r.respondent for r in rows} == {respondent_key(sid, u) for u in users}
        assert all(r.status == SUBMITTED and r.answers == EXPECTED and r.submitted_at is not None
                   and r.user_id is None and not r.editing for r in rows)
    said = Counter()
    for r in emulator.sent():
        for m in r["messages"]:
            for key, words in (("sent", "回答を送信しました"), ("again", "回答済みです")):
                if words in m.get("text", ""):
                    said[(r["to"][0], key)] += 1
    assert all(said[(u, "sent")] == 1 and said[(u, "again")] == 1 for u in users), \
        [(u, said[(u, "sent")], said[(u, "again")]) for u in users[:3]]
