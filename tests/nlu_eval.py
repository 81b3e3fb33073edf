"""Accuracy of the free-text classifier (handlers/nlu.py) on a labelled TSV: by intent, in scope and out of scope.

    .venv/bin/python tests/nlu_eval.py [FILE.tsv ...] [--misses] [--pipeline] [--cv] [--write-examples]

Default files: every tuning set (tests/data/utterances*.tsv) and every held-out set. Only aggregate numbers are printed
for a held-out file: its lines must never be seen by whoever tunes the vocabulary or the scoring, so `--misses`
(which prints the missed lines) is refused for any file under tests/data/nlu_heldout/.
A line is right when (intent, target) match; an `unknown` line is right when the answer is `unknown` (refused).
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TUNING = ROOT / "tests" / "data" / "utterances.tsv"
# Every tuning set, one per writer (utterances.tsv, utterances_b.tsv, ...): see tests/data/README.md.
TUNING_SETS = tuple(sorted((ROOT / "tests" / "data").glob("utterances*.tsv")))
EXAMPLES = ROOT / "cities" / "odawara" / "nlu_examples.tsv"  # the learned layer's training data (the bot's own)
HELDOUT_DIR = ROOT / "tests" / "data" / "nlu_heldout"
# A (before step 10's design), B (after it), C (before the 2026-11-26 changes), D (after them), E, F and G (after
# each of the third session's rounds of tuning sets): one author each.
HELDOUT_SETS = tuple(sorted(HELDOUT_DIR.glob("heldout_*.tsv")))
# The one place where the labelled sets' names differ from the router's intent names.
LABEL_TO_INTENT = {"plan.thisyear": "plan.year"}


def load(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    for r in rows:
        r["label"] = r["intent"]
        r["intent"] = LABEL_TO_INTENT.get(r["intent"], r["intent"])
        r["target"] = r.get("target") or ""
        r["note"] = r.get("note") or ""
    return rows


def is_heldout(path: Path) -> bool:
    return HELDOUT_DIR.resolve() in Path(path).resolve().parents


def right(row: dict, got) -> bool:
    if row["intent"] == "unknown":
        return got.name == "unknown"
    if (got.name, got.target or "") == (row["intent"], row["target"]):
        return True
    # A content-search answer (part S) counts when the labelled item is among its matches.
    matches = getattr(got, "matches", None) or ()
    want = (row["intent"], row["target"])
    return any((getattr(m, "intent", None), str(getattr(m, "target", "") or "")) == want for m in matches)


@dataclass
class Result:
    n_in: int = 0
    ok_in: int = 0
    n_out: int = 0
    ok_out: int = 0
    by_intent: Counter = field(default_factory=Counter)
    ok_by_intent: Counter = field(default_factory=Counter)
    misses: list = field(default_factory=list)  # (row, got): never printed for a held-out file

    @property
    def in_scope(self) -> float:
        return self.ok_in / self.n_in if self.n_in else 1.0

    @property
    def out_of_scope(self) -> float:
        return self.ok_out / self.n_out if self.n_out else 1.0


def evaluate(rows: list[dict], classify=None, keep_misses: bool = True) -> Result:
    if classify is None:
        from handlers import nlu

        classify = nlu.classify
    res = Result()
    for r in rows:
        got = classify(r["text"])
        ok = right(r, got)
        res.by_intent[r["intent"]] += 1
        res.ok_by_intent[r["intent"]] += ok
        if r["intent"] == "unknown":
            res.n_out += 1
            res.ok_out += ok
        else:
            res.n_in += 1
            res.ok_in += ok
        if not ok and keep_misses:
            res.misses.append((r, got))
    return res


def summary(name: str, res: Result) -> str:
    lines = [f"{name}: in scope {res.ok_in}/{res.n_in} = {res.in_scope:.1%}   "
             f"out of scope refused {res.ok_out}/{res.n_out} = {res.out_of_scope:.1%}"]
    for intent in sorted(res.by_intent):
        n, ok = res.by_intent[intent], res.ok_by_intent[intent]
        lines.append(f"  {intent:<14} {ok:>3}/{n:<3} {ok / n:6.1%}")
    return "\n".join(lines)


def misses_report(res: Result) -> str:
    out = []
    for r, g in res.misses:
        alts = ", ".join(a.label for a in g.alternatives)
        out.append(f"  {r['text']!r}: expected {r['intent']}:{r['target']} got {g.name}:{g.target or ''}"
                   f" ({g.score:.2f}{'; offers ' + alts if alts else ''})")
    return "\n".join(out)


# What the resident gets when the classifier is unsure (handlers/fallback.py): the content search's bubbles.
MATCH_INTENT = {"action": "plan.action", "project": "plan.project", "event": "events", "place": "places",
                "volunteer": "volunteer", "survey": "survey", "faq": "faq"}


@dataclass
class Answer:
    """The bot's answer as the evaluation sees it: the route, or the content bubbles offered instead."""
    name: str
    target: str | None
    score: float = 0.0
    alternatives: tuple = ()
    matches: tuple = ()


def pipeline(city: str = "odawara"):
    """A classify function that also runs the content search on the Odawara plan (a scratch SQLite database),
    as handlers/fallback.py does: unknown and no close call → the bubbles count as the answer (out of scope: only
    those handlers/content.offered lets through); an out-of-scope line is then right only when no bubble is offered."""
    import tempfile
    from datetime import datetime, timezone

    from bot import content_search
    from bot.clock import FrozenClock
    from bot.config import Config
    from bot.migrate import upgrade
    from bot.plan_loader import load as load_plan
    from bot.runtime import build_runtime
    from handlers import content, nlu

    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/eval.sqlite3"
    upgrade(url)
    now = datetime(2026, 12, 3, 5, 0, tzinfo=timezone.utc)
    rt = build_runtime(Config(database_url=url, line_channel_secret="e", line_channel_access_token="e",
                              secret_key="e", testing=True), clock=FrozenClock(now))
    load_plan(rt.sessions, ROOT / "cities" / city / "plan.yaml", now, publish_news=False)

    def classify(text: str) -> Answer:
        got = nlu.classify(text)
        if got.name != "unknown" or got.alternatives:
            return Answer(got.name, got.target, got.score, got.alternatives)
        with rt.sessions() as db:
            found = content_search.search(db, text, now, city=city)
        found = content.offered(found, text, got.target)  # as handlers/fallback.py filters them
        matches = tuple(SimpleNamespace(intent=MATCH_INTENT.get(m.kind, m.kind),
                                        target=str(m.ref) if m.kind in ("action", "project") else "")
                        for m in found)
        return Answer("content" if matches else "unknown", None, got.score, (), matches)

    return classify


def write_examples(out: Path = EXAMPLES) -> int:
    """Copy the tuning sets (never a held-out file) into the bot's examples: the runtime must not read tests/."""
    seen: set[str] = set()
    lines = ["# Labelled Odawara examples the learned layer (handlers/nlu_model.py) trains on at process start.",
             "# Copied from the tuning sets (tests/nlu_eval.py --write-examples); labels in router names; "
             "never held-out text.", "text\tintent\ttarget"]
    for path in TUNING_SETS:
        if not path.is_file():
            continue
        for r in load(path):
            if r["text"] in seen:
                continue
            seen.add(r["text"])
            lines.append(f"{r['text']}\t{r['intent']}\t{r['target']}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(seen)


def cross_validate(folds: int = 4, seed: int = 0) -> list[tuple[str, Result]]:
    """How the learned layer generalises, measured on the tuning sets only (never a held-out file): k-fold over
    all tuning lines, then each set left out in turn (the closest thing to a new writer). Each split trains the
    linear layer on the rest (plus the table words) and classifies with rules + that model. Choose settings
    (handlers/nlu.py's BLEND*, nlu_model's SVM_*) by these numbers, not by a held-out file's."""
    import random

    from handlers import nlu, nlu_model

    t = nlu._tables_for(None, None)
    sets = {p.name: load(p) for p in TUNING_SETS if p.is_file()}
    lines = [r for rows in sets.values() for r in rows]
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    splits = [(f"{folds}-fold", [lines[j] for j in order if j % folds != k], [lines[j] for j in order if j % folds == k])
              for k in range(folds)]
    splits += [(f"without {name}", [r for n, rows in sets.items() if n != name for r in rows], sets[name])
               for name in sets]
    base = nlu._training_rows(t)[t.__dict__["_n_examples"]:]  # the table words and plan names
    saved = t.__dict__.get("_model")
    out: dict[str, Result] = {}
    try:
        for name, train, test in splits:
            rows = [(r["text"], *nlu._label(r["intent"], r["target"])) for r in train]
            m = nlu_model.linear_from(nlu_model.fit_linear(rows + base, lambda s: nlu._features(t, s)))
            m.memory = {t.f(text): (i, tg) for text, i, tg in rows}
            t.__dict__["_model"] = m
            res = evaluate(test, keep_misses=False)
            acc = out.setdefault(name, Result())
            for k in ("n_in", "ok_in", "n_out", "ok_out"):
                setattr(acc, k, getattr(acc, k) + getattr(res, k))
            acc.by_intent.update(res.by_intent)
            acc.ok_by_intent.update(res.ok_by_intent)
    finally:
        t.__dict__.pop("_model", None)  # the next classify loads the real weights again
        if saved is not None:
            t.__dict__["_model"] = saved
    return list(out.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--misses", action="store_true", help="print missed lines (never for a held-out file)")
    ap.add_argument("--pipeline", action="store_true",
                    help="count the content search's bubbles as the answer when the classifier is unsure")
    ap.add_argument("--write-examples", action="store_true",
                    help=f"rewrite {EXAMPLES.relative_to(ROOT)} from the tuning sets, retrain the linear layer's weights "
                    "beside it, and stop")
    ap.add_argument("--cv", action="store_true", help="cross-validate the learned layer on the tuning sets")
    args = ap.parse_args(argv)
    if args.cv:
        for name, res in cross_validate():
            print(summary(name, res).splitlines()[0])
        return 0
    if args.write_examples:
        print(f"{write_examples()} examples written to {EXAMPLES.relative_to(ROOT)}")
        from handlers import nlu

        # The linear layer's weights are trained on exactly these examples (scikit-learn: a test extra).
        print(f"weights written to {nlu.write_weights(EXAMPLES.parent).relative_to(ROOT)}")
        return 0
    files = args.files or [*TUNING_SETS, *HELDOUT_SETS]
    classify = pipeline() if args.pipeline else None
    for path in files:
        res = evaluate(load(path), classify=classify, keep_misses=not is_heldout(path))
        print(summary(path.name + (" (with content answers)" if args.pipeline else ""), res))
        if args.misses:
            if is_heldout(path):
                print("  (missed lines are not shown for a held-out file)")
            else:
                print(misses_report(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
