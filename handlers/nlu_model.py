"""The learned layer of the free-text classifier: multinomial naive Bayes over a message's words and characters.

Why: the rule tables (handlers/nlu.py) only know the words someone wrote into them, so a resident's own phrasing
of a known request is missed. A model trained on labelled examples generalises from whole phrasings: Sudachi's
normalised words, their kana readings (so ひらがな input meets 漢字 examples) and character 2-3-grams of the folded
text (typos and unknown words still share most of their grams). Naive Bayes because it trains in one counting pass
(well under a second at process start, no stored model to go stale) and scores a message by touching only the
classes that share a feature with it.

The examples are the bot's own data (cities/<city>/nlu_examples.tsv), never the test sets' files; a city
without the file trains on its table words and plan names alone.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import jaconv

from bot import ja_text

EXAMPLES = "nlu_examples.tsv"  # in the city's folder: its examples name its own projects and actions

ALPHA = 0.3        # additive smoothing
TEMPERATURE = 4.0  # log-likelihoods of short texts are peaky: soften them into usable probabilities
WORD_WEIGHT = 2    # a whole word counts as much as this many character grams
SKIP_POS = ("助詞", "助動詞")


def features(folded: str, toks) -> list[str]:
    """Features of a message: `folded` is nlu.fold(text) (hiragana, no punctuation), `toks` ja_text.tokens."""
    out: list[str] = []
    s = "^" + folded + "$"
    for n in (2, 3):
        out.extend("c" + s[i:i + n] for i in range(len(s) - n + 1))
    out.extend("k" + ch for ch in folded if "\u4e00" <= ch <= "\u9fff")  # single kanji carry meaning
    reading = []
    for t in toks:
        reading.append(jaconv.kata2hira(t.reading or t.surface))
        if t.pos in SKIP_POS:
            continue
        word = t.norm.lower()
        if word in ja_text.STOP or len(word) < 1:
            continue
        out.extend(["w" + word] * WORD_WEIGHT)
    r = "^" + "".join(reading) + "$"
    if r != s and len(r) > 2:
        out.extend("r" + r[i:i + 3] for i in range(len(r) - 2))
    return out


@dataclass
class Model:
    labels: list[tuple[str, str]] = field(default_factory=list)       # (intent, target)
    base: list[float] = field(default_factory=list)                   # log P(unseen feature | class)
    prior: list[float] = field(default_factory=list)
    table: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # feature -> [(class, gain)]
    memory: dict[str, tuple[str, str]] = field(default_factory=dict)  # folded example text -> its label

    def scores(self, feats: list[str]) -> list[tuple[tuple[str, str], float]]:
        """(label, probability), most probable first."""
        if not self.labels:
            return []
        acc = list(self.prior)
        known = 0
        for f in feats:
            row = self.table.get(f)
            if row is None:
                continue
            known += 1
            for c, gain in row:
                acc[c] += gain
        if known == 0:
            return []
        logit = [(a + known * b) / TEMPERATURE for a, b in zip(acc, self.base)]
        top = max(logit)
        ex = [math.exp(x - top) for x in logit]
        z = sum(ex)
        ranked = sorted(range(len(ex)), key=lambda i: -ex[i])
        return [(self.labels[i], ex[i] / z) for i in ranked]


def read_examples(path: Path) -> list[tuple[str, str, str]]:
    """(text, intent, target) rows; lines starting with # are comments."""
    if not Path(path).is_file():
        return []
    with Path(path).open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [(r["text"], r["intent"], r.get("target") or "") for r in rows if r.get("text") and r.get("intent")]


def train(examples, featurize) -> Model:
    """Count features per (intent, target). `featurize(text)` -> feature list (handlers/nlu builds it)."""
    index: dict[tuple[str, str], int] = {}
    counts: list[dict[str, int]] = []
    for text, intent, target in examples:
        c = index.setdefault((intent, target), len(index))
        if c == len(counts):
            counts.append({})
        row = counts[c]
        for f in featurize(text):
            row[f] = row.get(f, 0) + 1
    vocab = {f for row in counts for f in row}
    v = len(vocab)
    m = Model(labels=list(index))
    m.prior = [0.0] * len(index)  # uniform: a rare action is as likely as the large intents
    for c, row in enumerate(counts):
        total = sum(row.values())
        m.base.append(math.log(ALPHA / (total + ALPHA * v)))
        for f, n in row.items():
            m.table.setdefault(f, []).append((c, math.log1p(n / ALPHA)))
    return m
