#!/usr/bin/env python3
"""Surveys: a resident's answer on LINE, and a survey team's results over 20,000 responses.

    .venv/bin/python bench/survey.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/survey.py --only postgresql --responses 5000

For each database (a scratch SQLite file and a scratch PostgreSQL database, created and dropped here) it loads
the city (districts, plan), writes the seven-question survey of tests/surveys_support.py (one question of every
kind, a skip rule) and N submitted responses with random answers, ANALYZEs, then times:

  LINE answers (the router's `handle_event` in a transaction, what a resident waits for minus the network),
  for residents half way through the survey: a choice tapped, a multiple-choice toggle, a typed number, the
  confirmation screen's 送信する. The baseline in the same run is 「ヘルプ」 through the same path.

  Results (what the admin page and the exports run): every question's counts, one cross-tab by 地区 with its
  small-cell protection, the responses CSV and the tables CSV, each with its peak Python memory (tracemalloc).
  The baseline is reading every submitted response's answers in one SELECT: the floor any aggregation pays.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bench._common import backends, bench_runtime, log, pct  # noqa: E402
from bot.clock import TOKYO, utc  # noqa: E402

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=TOKYO)


def populate(rt, n: int, seed: int = 9) -> int:
    """The city, the survey and `n` submitted responses; returns the survey id."""
    from bot.plan_loader import load
    from bot.survey_logic import kept_answers
    from models.plan import District
    from models.surveys import SurveyResponse
    from tests.surveys_support import build_survey

    rng = random.Random(seed)
    load(rt.sessions, ROOT / "cities" / "odawara" / "plan.yaml", utc(NOW), publish_news=False)
    now = utc(NOW)
    with rt.sessions() as db:
        districts = list(db.scalars(select(District.key)))
        survey = build_survey(db, now, anonymous=True, opens_at=now - timedelta(days=10))
        db.commit()
        sid, questions = survey.id, list(survey.questions)
    rows = []
    for i in range(n):
        raw = {"q1": rng.choice([0, 0, 1]), "q2": sorted(rng.sample(range(4), rng.randint(1, 2))),
               "q3": rng.randint(1, 5), "q4": rng.choice([None, rng.randint(10, 90)]),
               "q5": rng.choice([None, None, f"意見{i}です。"]), "q6": f"2026-12-{rng.randint(1, 28):02d}",
               "q7": rng.choice(districts)}
        at = (now - timedelta(hours=rng.randint(1, 240))).replace(minute=0, second=0, microsecond=0)
        rows.append({"survey_id": sid, "respondent": f"{i:064x}", "user_id": None, "status": "submitted",
                     "editing": False, "current": None, "path": [], "pending": {},
                     "answers": kept_answers(questions, raw), "district": rng.choice(districts + [None]),
                     "started_at": at, "updated_at": at, "submitted_at": at})
    with rt.engine.begin() as c:
        for i in range(0, len(rows), 2000):
            c.execute(insert(SurveyResponse), rows[i:i + 2000])
        c.execute(text("ANALYZE"))
    return sid


def event(uid: str, *, text_: str | None = None, data: str | None = None, params: dict | None = None) -> dict:
    base = {"mode": "active", "timestamp": int(utc(NOW).timestamp() * 1000),
            "source": {"type": "user", "userId": uid}, "webhookEventId": "bench", "replyToken": "x" * 32,
            "deliveryContext": {"isRedelivery": False}}
    if text_ is not None:
        return {**base, "type": "message", "message": {"type": "text", "id": "1", "text": text_}}
    postback = {"data": data, **({"params": params} if params else {})}
    return {**base, "type": "postback", "postback": postback}


def handle(rt, body: dict) -> tuple[float, int]:
    from handlers.router import handle_event

    t0 = time.perf_counter()
    with rt.sessions() as db:
        out = handle_event(rt, db, body)
        db.commit()
    return (time.perf_counter() - t0) * 1000, len(out.replies)


def at_question(rt, sid: int, uid: str, key: str, pending: dict, path: list[str]) -> None:
    """Put this resident's response on question `key` (as if they had answered the ones before)."""
    from bot.survey_logic import respondent_key
    from models.surveys import CONFIRM, SurveyResponse
    from models.users import User

    with rt.sessions() as db:
        user = db.scalar(select(User).where(User.line_user_id == uid))
        if user is None:
            user = User(line_user_id=uid, active=True, created_at=utc(NOW), last_seen_at=utc(NOW))
            db.add(user)
            db.flush()
        key_ = respondent_key(sid, uid)
        r = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == sid, SurveyResponse.respondent == key_))
        if r is None:
            r = SurveyResponse(survey_id=sid, respondent=key_, status="in_progress", started_at=utc(NOW),
                               updated_at=utc(NOW))
            db.add(r)
        r.status, r.editing, r.current, r.pending, r.path = "in_progress", False, key, dict(pending), list(path)
        if key == CONFIRM:
            r.current = CONFIRM
        db.commit()


def time_line(rt, sid: int, repeat: int) -> list[tuple[str, float, float, int]]:
    from bot.postback import encode
    from bot.survey_logic import respondent_key
    from models.surveys import SurveyResponse

    first = {"q1": 0}
    cases = [
        ("choice tapped (Q1 はい)", "q1", {}, [], lambda: dict(data=encode("survey.a", s=sid, q="q1", x=0))),
        ("multiple choice toggle (Q2)", "q2", first, ["q1"], lambda: dict(data=encode("survey.t", s=sid, q="q2", o=1))),
        ("typed number (Q4 「35」)", "q4", {**first, "q2": [0], "q3": 4}, ["q1", "q2", "q3"], lambda: dict(text_="35")),
        ("送信する (confirmation)", "confirm",
         {"q1": 0, "q2": [0], "q3": 4, "q4": 35, "q5": None, "q6": "2026-12-10", "q7": None}, [],
         lambda: dict(data=encode("survey.submit", s=sid))),
    ]
    out = []
    times = []
    for i in range(repeat + 5):
        t, n = handle(rt, event("U" + format(i % 50, "032x"), text_="ヘルプ"))
        if i >= 5:
            times.append(t)
    out.append(("baseline: 「ヘルプ」 answer", statistics.median(times), pct(times, 99), n))
    for label, key, pending, path, make in cases:
        times = []
        for i in range(repeat + 5):
            uid = "U" + format(10_000 + i, "032x")  # a new resident each time: no response is submitted twice
            p = dict(pending)
            if key == "confirm":
                with rt.sessions() as db:
                    from models.plan import District
                    p["q7"] = db.scalar(select(District.key).limit(1))
            at_question(rt, sid, uid, key, p, path)
            if key in ("q4",):
                from models.conversation import set_state
                from models.users import User
                with rt.sessions() as db:
                    u = db.scalar(select(User).where(User.line_user_id == uid))
                    set_state(db, u.id, "survey", utc(NOW), data={"s": sid}, ttl=timedelta(hours=1))
                    db.commit()
            t, n = handle(rt, event(uid, **make()))
            if i >= 5:
                times.append(t)
        out.append((label, statistics.median(times), pct(times, 99), n))
        with rt.sessions() as db:  # the bench's own residents: gone before the results are timed
            db.execute(SurveyResponse.__table__.delete().where(
                SurveyResponse.respondent.in_([respondent_key(sid, "U" + format(10_000 + i, "032x"))
                                               for i in range(repeat + 5)])))
            db.commit()
    return out


def measured(fn) -> tuple[float, float]:
    """Time of a plain run, then the peak of a second run under tracemalloc (which slows Python down)."""
    t0 = time.perf_counter()
    fn()
    ms = (time.perf_counter() - t0) * 1000
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return ms, peak


def time_results(rt, sid: int, repeat: int) -> list[tuple[str, float, float]]:
    from bot import survey_export, survey_results
    from models.surveys import Survey, SurveyResponse

    def floor():
        with rt.sessions() as db:
            list(db.execute(select(SurveyResponse.answers).where(SurveyResponse.survey_id == sid,
                                                                 SurveyResponse.status == "submitted")))

    def names():
        from models.plan import District
        with rt.sessions() as db:
            return {d.key: d.name for d in db.scalars(select(District))}

    district_names = names()

    def summary():
        with rt.sessions() as db:
            survey_results.summarize(db, db.get(Survey, sid), district_names=district_names)

    def crosstab():
        with rt.sessions() as db:
            survey_results.crosstab(db, db.get(Survey, sid), "district", "q1", district_names=district_names,
                                    threshold=5)

    def responses_csv():
        with rt.sessions() as db:
            survey = db.get(Survey, sid)
            for _ in survey_export.response_rows(db, survey, district_names=district_names):
                pass

    def tables_csv():
        with rt.sessions() as db:
            survey = db.get(Survey, sid)
            list(survey_export.table_rows(survey_results.summarize(db, survey, district_names=district_names)))

    rows = []
    for label, fn in (("baseline: read every response's answers", floor), ("counts of every question", summary),
                      ("cross-tab by 地区 (protected)", crosstab), ("responses CSV", responses_csv),
                      ("tables CSV", tables_csv)):
        runs = [measured(fn) for _ in range(repeat)]
        rows.append((label, statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
    return rows


def run_backend(name: str, url: str, args) -> tuple[list, list]:
    with bench_runtime(url, NOW) as rt:
        t0 = time.perf_counter()
        sid = populate(rt, args.responses)
        log(f"{name}: survey with {args.responses} responses loaded in {time.perf_counter() - t0:.1f} s")
        line = time_line(rt, sid, args.repeat)
        results = time_results(rt, sid, args.result_repeat)
        return [(name, *r) for r in line], [(name, *r) for r in results]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--result-repeat", type=int, default=3)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args(argv)
    line, results = [], []
    for name, url in backends(args.only):
        a, b = run_backend(name, url, args)
        line += a
        results += b
    print(f"{'database':<11} {'LINE answer in a survey':<32} {'p50 ms':>8} {'p99 ms':>8}  msgs")
    for db, label, p50, p99, n in line:
        print(f"{db:<11} {label:<32} {p50:8.1f} {p99:8.1f}  {n:>4}")
    print()
    print(f"{'database':<11} {f'results over {args.responses:,} responses':<40} {'median ms':>10} {'peak MiB':>9}")
    for db, label, ms, mib in results:
        print(f"{db:<11} {label:<40} {ms:10.1f} {mib:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
