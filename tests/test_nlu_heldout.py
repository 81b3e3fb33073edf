"""The frozen held-out sets: nobody who tunes the classifier reads their lines; only these aggregate numbers.

Set A was written before step 10's design, set B after it (by another author who saw neither the vocabulary nor
set A): B checks that the work did not tune itself to A. Each file is checked against SHA256SUMS (frozen), then
accuracy must reach its floors in scope and out of scope separately. Run with -s to see the numbers; no held-out
line is ever printed, failures included.
"""
from __future__ import annotations

import hashlib

import pytest

from tests import nlu_eval

# The issue asks for 0.95 on both. Not yet met: the floors are the accuracy reached at the last tuning step minus
# 1 point (rules + the linear layer trained on three tuning sets, its settings chosen by cross-validation on
# them), so a regression fails while the work goes on. A: 89.4% in scope, 92.4% out of scope refused; B, measured
# once when it was written: 89.8% / 93.4%.
FLOORS = {"heldout_a.tsv": (0.88, 0.91), "heldout_b.tsv": (0.88, 0.92)}


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


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_heldout_accuracy(name):
    # keep_misses=False: not even a traceback with local variables (pytest -l) can show a held-out line.
    res = nlu_eval.evaluate(nlu_eval.load(nlu_eval.HELDOUT_DIR / name), keep_misses=False)
    print("\n" + nlu_eval.summary(name, res))  # aggregate numbers only
    floor_in, floor_out = FLOORS[name]
    ok = res.in_scope >= floor_in and res.out_of_scope >= floor_out
    # The message names numbers only: pytest must not show a held-out line (no `assert` on the rows).
    assert ok, (f"{name}: in scope {res.in_scope:.1%} (needs {floor_in:.0%}), "
                f"out of scope refused {res.out_of_scope:.1%} (needs {floor_out:.0%})")
