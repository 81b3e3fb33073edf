#!/usr/bin/env python3
"""Searches residents make on LINE, over 20,000 events and 2,000 children's places (target p99 < 50 ms).

    .venv/bin/python bench/search.py                     # SQLite and PostgreSQL
    .venv/bin/python bench/search.py --only sqlite --repeat 100

For each database (a scratch SQLite file and a scratch PostgreSQL database, created and dropped here) it loads
the city (districts, plan), writes N published places (1-3 weekly opening rows each, near the 26 地区 centres)
and M published events (spread over the next 180 days; one in twenty repeats weekly), ANALYZEs, then times
whole LINE answers: the router's `handle_event` with a resident's message, in a transaction (search, opening
hours, Flex building; what a resident waits for minus the network), by kind:

  places by district   「国府津のこどもの居場所」
  places open today    「今日開いているこどもの居場所」
  places near me       a location message (the answer lists places and events near the point)
  places free text     「土曜 無料 小学生」
  events by district   「国府津のイベント」
  events this weekend  「今週末のイベント」
  events free text     「土曜 国府津 こども向けのイベント」

The baseline in the same run is the cheapest answer through the same path (「ヘルプ」: routing, user and state
reads, no search) and a primary-key SELECT: the floor a search answer is measured against.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bench._common import backends, bench_runtime, log, pct  # noqa: E402
from bot.clock import TOKYO, utc  # noqa: E402

PG_ADMIN = os.environ.get("KYODO_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 3, 14, 0, tzinfo=TOKYO)  # a Thursday afternoon
KINDS = ("shokudo", "study", "hiroba", "afterschool", "play", "other")
CASES = [
    ("places by district", "text", "国府津のこどもの居場所"),
    ("places open today", "text", "今日開いているこどもの居場所"),
    ("places near me", "location", (35.2790, 139.2120)),
    ("places free text", "text", "土曜 無料 小学生"),
    ("events by district", "text", "国府津のイベント"),
    ("events this weekend", "text", "今週末のイベント"),
    ("events free text", "text", "土曜 国府津 こども向けのイベント"),
]


def populate(rt, n_places: int, n_events: int, seed: int = 7) -> None:
    from bot.event_occurrences import materialise
    from bot.plan_loader import load
    from models.events import Event, EventOccurrence
    from models.plan import District
    from models.places import Place, PlaceHours

    rng = random.Random(seed)
    city = ROOT / "cities" / "odawara"
    load(rt.sessions, city / "plan.yaml", utc(NOW), publish_news=False)
    now = utc(NOW)
    with rt.sessions() as db:
        districts = [(d.key, d.lat or 35.26, d.lon or 139.15) for d in db.scalars(select(District))]
    places, hours = [], []
    for i in range(n_places):
        key, lat, lon = rng.choice(districts)
        free = rng.random() < 0.5
        lo = rng.choice([None, 0, 3, 6])
        places.append({"id": i + 1, "name": f"居場所{i}", "kind": rng.choice(KINDS), "district": key,
                       "address": "小田原市", "lat": lat + rng.uniform(-0.01, 0.01), "lon": lon + rng.uniform(-0.01, 0.01),
                       "closed_on_holidays": True, "closed_year_end": True, "closed_dates": [], "extra_dates": [],
                       "age_min": lo, "age_max": None if lo is None else lo + rng.choice([6, 9, 12]),
                       "cost_kind": "free" if free else rng.choice(["amount", "per_meal"]),
                       "cost_yen": None if free else rng.choice([100, 300, 500]), "booking_required": rng.random() < 0.3,
                       "status": "published", "source": "admin", "created_at": now, "updated_at": now,
                       "published_at": now})
        for wd in rng.sample(range(7), rng.randint(1, 3)):
            opens = rng.choice([9, 10, 13, 15]) * 60
            hours.append({"place_id": i + 1, "weekday": wd, "opens": opens, "closes": opens + rng.choice([120, 180]),
                          "weeks": rng.choice([0, 0, 0, 0b1010])})
    with rt.engine.begin() as c:
        c.execute(insert(Place), places)
        c.execute(insert(PlaceHours), hours)
    events, occ = [], []
    repeating = []
    for i in range(n_events):
        key, lat, lon = rng.choice(districts)
        start = now + timedelta(days=rng.uniform(-2, 180))
        start = start.replace(minute=0, second=0, microsecond=0)
        free = rng.random() < 0.5
        ev = {"id": i + 1, "title": f"イベント{i}", "description": "こども食堂 体験 親子" if i % 7 == 0 else "地域の集まり",
              "district": key, "place_name": "公民館", "lat": lat + rng.uniform(-0.01, 0.01),
              "lon": lon + rng.uniform(-0.01, 0.01), "starts_at": start, "ends_at": start + timedelta(hours=2),
              "all_day": False, "age_min": rng.choice([None, 0, 6]), "age_max": rng.choice([None, 12, 15]),
              "cost_kind": "free" if free else "amount", "cost_yen": None if free else 500,
              "registration_required": False, "project": rng.randint(1, 7), "tags": [], "status": "published",
              "source": "admin", "created_at": now, "updated_at": now, "published_at": now, "revision": 1,
              "rrule": "FREQ=WEEKLY;COUNT=8" if i % 20 == 0 else None}
        ev["age_max"] = None if ev["age_min"] is not None and ev["age_max"] is not None and ev["age_max"] < ev["age_min"] \
            else ev["age_max"]
        events.append(ev)
        if ev["rrule"]:
            repeating.append(i + 1)
        else:
            occ.append({"event_id": i + 1, "starts_at": start, "ends_at": start + timedelta(hours=2), "district": key,
                        "visible": True})
    with rt.engine.begin() as c:
        c.execute(insert(Event), events)
        c.execute(insert(EventOccurrence), occ)
    with rt.sessions() as db:
        for eid in repeating:
            materialise(db, db.get(Event, eid), now=now)
        db.commit()
    with rt.engine.begin() as c:
        c.execute(text("ANALYZE"))


def body(kind: str, value, uid: str) -> dict:
    base = {"type": "message", "mode": "active", "timestamp": int(utc(NOW).timestamp() * 1000),
            "source": {"type": "user", "userId": uid}, "webhookEventId": "bench", "replyToken": "x" * 32,
            "deliveryContext": {"isRedelivery": False}}
    if kind == "text":
        base["message"] = {"type": "text", "id": "1", "text": value}
    else:
        base["message"] = {"type": "location", "id": "1", "title": "現在地", "address": "小田原市",
                           "latitude": value[0], "longitude": value[1]}
    return base


def time_case(rt, kind: str, value, repeat: int) -> tuple[list[float], int]:
    from handlers.router import handle_event

    times, size = [], 0
    for i in range(repeat + 5):
        uid = "U" + format(i % 50, "032x")  # 50 residents, as on a busy day
        t0 = time.perf_counter()
        with rt.sessions() as db:
            out = handle_event(rt, db, body(kind, value, uid))
            db.commit()
        if i >= 5:  # the first few warm caches (plan reads, NLU tables)
            times.append((time.perf_counter() - t0) * 1000)
        size = len(out.replies)
    return times, size


def time_pk(rt, repeat: int) -> list[float]:
    from models.places import Place

    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        with rt.sessions() as db:
            db.get(Place, 1 + i % 100)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def run_backend(name: str, url: str, args) -> list[tuple[str, str, float, float, int]]:
    with bench_runtime(url, NOW) as rt:
        t0 = time.perf_counter()
        populate(rt, args.places, args.events)
        log(f"{name}: {args.places} places, {args.events} events loaded in {time.perf_counter() - t0:.1f} s")
        rows = []
        pk = time_pk(rt, args.repeat)
        rows.append((name, "baseline: primary-key SELECT", statistics.median(pk), pct(pk, 99), 0))
        t, n = time_case(rt, "text", "ヘルプ", args.repeat)
        rows.append((name, "baseline: 「ヘルプ」 answer", statistics.median(t), pct(t, 99), n))
        for label, kind, value in CASES:
            t, n = time_case(rt, kind, value, args.repeat)
            rows.append((name, label, statistics.median(t), pct(t, 99), n))
        return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--places", type=int, default=2000)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args(argv)
    rows = []
    for name, url in backends(args.only, PG_ADMIN):
        rows += run_backend(name, url, args)
    print(f"{'database':<11} {'search (whole LINE answer)':<32} {'p50 ms':>8} {'p99 ms':>8}  msgs")
    for db, label, p50, p99, n in rows:
        flag = "" if label.startswith("baseline") or p99 < 50 else "  over 50 ms"
        print(f"{db:<11} {label:<32} {p50:8.1f} {p99:8.1f}  {n:>4}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
