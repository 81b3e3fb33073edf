"""Routing time per message over tests/data/utterances.tsv (target: < 2 ms median).

    .venv/bin/python bench/intent.py [--repeat N] [--city odawara]

Times what the router does with a text message before a handler runs: normalise, classify, and the
intent-table lookup. The one-off table build (first call) is reported separately.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import ja_text  # noqa: E402
from handlers import nlu  # noqa: E402
from handlers.router import TABLES  # noqa: E402
from tests.test_nlu import load_labelled  # noqa: E402  (maps the set's labels to intent names)


def _pct(sorted_ms: list[float], p: float) -> float:
    i = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[i]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="passes over the set (default 1; the first pass fills "
                    "the tokenizer's cache of repeated texts, so one pass is the uncached case)")
    ap.add_argument("--city", default=None, help="city folder name or path (default KYODO_CITY or odawara)")
    args = ap.parse_args(argv)

    rows = load_labelled()
    t0 = time.perf_counter()
    nlu.tables(str(nlu._city_dir(args.city)))
    load_ms = (time.perf_counter() - t0) * 1000
    tokenizer_s = ja_text.warm()  # Sudachi's dictionary: once per process (a worker warms it at start-up)
    t0 = time.perf_counter()
    nlu.warm(args.city)  # loads the learned layer (handlers/nlu_model.py: the linear weights, else trains NB)
    train_ms = (time.perf_counter() - t0) * 1000

    intents = TABLES["INTENTS"]
    times: list[float] = []
    correct = 0
    t_all = time.perf_counter()
    for _ in range(max(1, args.repeat)):
        for r in rows:
            t0 = time.perf_counter()
            nlu.normalise(r["text"])
            got = nlu.classify(r["text"], args.city)
            intents.get(got.name)
            times.append((time.perf_counter() - t0) * 1000)
            correct += (got.name, "" if got.name == "unknown" else got.target or "") == (r["intent"], r["target"])
    total_s = time.perf_counter() - t_all

    ms = sorted(times)
    n = len(ms)
    print(f"messages: {len(rows)} x {max(1, args.repeat)} = {n}   table build (once): {load_ms:.1f} ms   "
          f"tokenizer start-up (once): {tokenizer_s * 1000:.1f} ms   model load (once): {train_ms:.1f} ms")
    print(f"per message (ms): median {statistics.median(ms):.3f}  p90 {_pct(ms, 90):.3f}  "
          f"p99 {_pct(ms, 99):.3f}  max {ms[-1]:.3f}  mean {statistics.fmean(ms):.3f}")
    print(f"total: {total_s * 1000:.1f} ms   accuracy: {correct / n:.1%}")
    return 0


# -- content search (part S) ----------------------------------------------------------------------------------------
# What a message costs when no route is confident: classify + bot/content_search.py's query, on the Odawara
# plan plus BENCH_EVENTS published events (default 20,000) and BENCH_PLACES places (default 2,000), written by
# bench/search.py's populate into a scratch database (BENCH_CONTENT_DB: sqlite (default), postgresql or both;
# BENCH_CONTENT=0 skips this section). The baseline in the same run is classify alone over the same texts.
# Start-up costs (the tokenizer's dictionary, the first index build) are printed apart from the per-message times.

def _content_backend(name: str, url: str, texts: list[str], city: str | None) -> None:
    import os
    from datetime import timedelta

    from bench.search import NOW, populate
    from bot import content_search
    from bot.clock import FrozenClock
    from bot.config import Config
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    n_events = int(os.environ.get("BENCH_EVENTS", "20000"))
    n_places = int(os.environ.get("BENCH_PLACES", "2000"))
    upgrade(url)
    cfg = Config(database_url=url, line_channel_secret="bench", line_channel_access_token="bench",
                 secret_key="bench", testing=True)
    rt = build_runtime(cfg, clock=FrozenClock(NOW))
    try:
        t0 = time.perf_counter()
        populate(rt, n_places, n_events)
        load_s = time.perf_counter() - t0
        with rt.sessions() as db:
            t0 = time.perf_counter()
            content_search.index(db, NOW, city or "odawara")
            build_ms = (time.perf_counter() - t0) * 1000
            st = content_search.stats(db, city or "odawara")
            t0 = time.perf_counter()
            content_search.versions(db, city or "odawara")
            check_ms = (time.perf_counter() - t0) * 1000
            # One event edited: the next check rebuilds the events source (unchanged rows keep their words).
            from bot.clock import utc
            from models.events import Event

            before = content_search.index(db, NOW, city or "odawara")
            ev = db.get(Event, 1)
            ev.title, ev.updated_at = "イベント0（時間変更）", utc(NOW) + timedelta(minutes=1)
            db.commit()
            h = content_search._holder(db, city or "odawara")
            h.checked = -float("inf")
            t0 = time.perf_counter()
            content_search.index(db, NOW, city or "odawara")  # starts the rebuild on its own thread
            handoff_ms = (time.perf_counter() - t0) * 1000
            h.thread.join()
            rebuild_ms = h.build_s * 1000
            assert content_search.index(db, NOW, city or "odawara") is not before, "the edit was not noticed"
            base, both, search_only, answered = [], [], [], 0
            for text in texts:
                t0 = time.perf_counter()
                nlu.classify(text, city)
                t1 = time.perf_counter()
                found = content_search.search(db, text, NOW, city=city or "odawara")
                t2 = time.perf_counter()
                base.append((t1 - t0) * 1000)
                search_only.append((t2 - t1) * 1000)
                both.append((t2 - t0) * 1000)
                answered += bool(found)
        print(f"[{name}] {n_events} events + {n_places} places written in {load_s:.1f} s; index: {st['docs']} documents "
              f"{st['by_source']}; first build {build_ms:.0f} ms (start-up); after one event changed {rebuild_ms:.0f} ms "
              f"on the refresh thread (the message that started it: {handoff_ms:.1f} ms); "
              f"version check (at most every {content_search.CHECK_INTERVAL_S:.0f} s) {check_ms:.1f} ms")
        for label, xs in (("baseline: classify alone", base), ("content search alone", search_only),
                          ("classify + content search", both)):
            ms = sorted(xs)
            print(f"[{name}] {label:<27} median {statistics.median(ms):.3f} ms  p90 {_pct(ms, 90):.3f}  "
                  f"p99 {_pct(ms, 99):.3f}  max {ms[-1]:.3f}")
        print(f"[{name}] messages with content matches: {answered}/{len(texts)}")
    finally:
        rt.close()


def content_main(city: str | None = None) -> int:
    import os
    import tempfile

    from bot import ja_text

    if os.environ.get("BENCH_CONTENT", "1") == "0":
        return 0
    texts = [r["text"] for r in load_labelled()]
    print(f"\ncontent search ({len(texts)} messages, each once: the tokenizer's cache starts cold for them); "
          f"tokenizer start-up (once per process): {ja_text.warm() * 1000:.0f} ms")
    which = os.environ.get("BENCH_CONTENT_DB", "sqlite")
    ja_text.tokens.cache_clear()  # the first section's pass filled it; per-message times start cold
    if which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as d:
            _content_backend("SQLite", f"sqlite:///{d}/content.sqlite3", texts, city)
    if which in ("postgresql", "both"):
        from bench.search import PG_ADMIN
        from bot.db import scratch_postgres

        ja_text.tokens.cache_clear()
        with scratch_postgres(PG_ADMIN, prefix="kyodo_bench") as url:
            _content_backend("PostgreSQL", url, texts, city)
    return 0


if __name__ == "__main__":
    raise SystemExit(main() or content_main())
