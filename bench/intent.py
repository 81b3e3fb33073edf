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

from handlers import nlu  # noqa: E402
from handlers.router import TABLES  # noqa: E402
from tests.test_nlu import load_labelled  # noqa: E402  (maps the set's labels to intent names)


def _pct(sorted_ms: list[float], p: float) -> float:
    i = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[i]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="passes over the set (default 1)")
    ap.add_argument("--city", default=None, help="city folder name or path (default KYODO_CITY or odawara)")
    args = ap.parse_args(argv)

    rows = load_labelled()
    t0 = time.perf_counter()
    nlu.tables(str(nlu._city_dir(args.city)))
    load_ms = (time.perf_counter() - t0) * 1000

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
            correct += (got.name, got.target or "") == (r["intent"], r["target"])
    total_s = time.perf_counter() - t_all

    ms = sorted(times)
    n = len(ms)
    print(f"messages: {len(rows)} x {max(1, args.repeat)} = {n}   table build (once): {load_ms:.1f} ms")
    print(f"per message (ms): median {statistics.median(ms):.3f}  p90 {_pct(ms, 90):.3f}  "
          f"p99 {_pct(ms, 99):.3f}  max {ms[-1]:.3f}  mean {statistics.fmean(ms):.3f}")
    print(f"total: {total_s * 1000:.1f} ms   accuracy: {correct / n:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
