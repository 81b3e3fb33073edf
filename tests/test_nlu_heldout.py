"""The frozen held-out sets: nobody who tunes the classifier reads their lines; only these aggregate numbers.

Set A was written before step 10's design, set B after it, set C before the second session's changes, set D
after them, and sets E, F and G after each of the third session's three rounds of new tuning sets, each by
another author who saw neither the vocabulary nor the other sets. Each file is checked against SHA256SUMS (frozen); all the sets together must
reach the issue's 95% in scope and 95% out of scope refused, and each set its own floor (so a regression in one kind of writing shows). Run with -s to see the
numbers; no held-out line is ever printed, failures included.
"""
from __future__ import annotations

import hashlib

import pytest

from tests import nlu_eval

# The threshold, on every held-out line together (in scope, out of scope refused).
THRESHOLD = (0.95, 0.95)
# Each set's floor: what it measured once on the final model (55 tuning sets, 2026-11-26), minus about one point.
# A: 96.3% in scope / 98.7% out of scope refused, B: 96.6 / 100.0, C: 98.1 / 100.0, D: 98.9 / 100.0,
# E: 97.6 / 98.8, F: 98.9 / 100.0, G (written after the last tuning sets, measured once): 98.1 / 100.0; all
# together 97.8 / 99.7. Every author is an AI helper session, as are the tuning sets' writers: a set by people may
# score lower (the team measures on one of its own).
FLOORS = {"heldout_a.tsv": (0.95, 0.97), "heldout_b.tsv": (0.95, 0.98), "heldout_c.tsv": (0.97, 0.98),
          "heldout_d.tsv": (0.97, 0.98), "heldout_e.tsv": (0.96, 0.97), "heldout_f.tsv": (0.97, 0.98),
          "heldout_g.tsv": (0.97, 0.98)}


def _sums() -> dict[str, str]:
    out = {}
    for line in (nlu_eval.HELDOUT_DIR / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest
    return out


def test_every_heldout_set_is_listed_with_its_floors():
    assert set(_sums()) == set(FLOORS) == {p.name for p in nlu_eval.HELDOUT_DIR.glob("*.tsv")}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_heldout_set_is_frozen(name):
    digest = hashlib.sha256((nlu_eval.HELDOUT_DIR / name).read_bytes()).hexdigest()
    assert _sums()[name] == digest, f"{name} changed: it is frozen (write a new set instead)"


def _result(name: str) -> nlu_eval.Result:
    # keep_misses=False: not even a traceback with local variables (pytest -l) can show a held-out line.
    res = nlu_eval.evaluate(nlu_eval.load(nlu_eval.HELDOUT_DIR / name), keep_misses=False)
    print("\n" + nlu_eval.summary(name, res))  # aggregate numbers only
    return res


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_heldout_accuracy(name):
    res = _result(name)
    floor_in, floor_out = FLOORS[name]
    ok = res.in_scope >= floor_in and res.out_of_scope >= floor_out
    # The message names numbers only: pytest must not show a held-out line (no `assert` on the rows).
    assert ok, (f"{name}: in scope {res.in_scope:.1%} (needs {floor_in:.0%}), "
                f"out of scope refused {res.out_of_scope:.1%} (needs {floor_out:.0%})")


def test_all_heldout_sets_together_reach_the_threshold():
    n_in = ok_in = n_out = ok_out = 0
    for name in sorted(FLOORS):
        res = _result(name)
        n_in, ok_in, n_out, ok_out = n_in + res.n_in, ok_in + res.ok_in, n_out + res.n_out, ok_out + res.ok_out
    in_scope, out_of_scope = ok_in / n_in, ok_out / n_out
    assert n_in + n_out >= 300
    assert in_scope >= THRESHOLD[0] and out_of_scope >= THRESHOLD[1], (
        f"all held-out sets: in scope {in_scope:.1%}, out of scope refused {out_of_scope:.1%} (needs 95% each)")
