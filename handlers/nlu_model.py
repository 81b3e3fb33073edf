"""The learned layer of the free-text classifier: a linear SVM (weights trained offline), else naive Bayes.

Why: the rule tables (handlers/nlu.py) only know the words someone wrote into them, so a resident's own phrasing
of a known request is missed. A model trained on labelled examples generalises from whole phrasings: Sudachi's
normalised words, their kana readings (so ひらがな input meets 漢字 examples) and character 2-3-grams of the folded
text (typos and unknown words still share most of their grams). Naive Bayes because it trains in one counting pass
(well under a second at process start, no stored model to go stale) and scores a message by touching only the
classes that share a feature with it.

When the city has current weights (WEIGHTS, trained offline on the same examples by a linear SVM), those are used
instead: cross-validated on the tuning sets, the SVM generalises clearly better (model alone ~86% vs ~82% in scope,
~85% vs ~69% out of scope refused), and reading its pruned weights takes ~0.1 s. Naive Bayes remains the layer for a
city without weights, or with weights older than its examples.

The examples are the bot's own data (cities/<city>/nlu_examples.tsv), never the test sets' files; a city
without the file trains on its table words and plan names alone.
"""
from __future__ import annotations

import base64
import csv
import math
import sys
from array import array
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
    """(text, intent, target) rows; lines starting with # before the header are comments (after it, #702 is a
    resident's message)."""
    if not Path(path).is_file():
        return []
    with Path(path).open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if ln.strip()]
    while lines and lines[0].startswith("#"):
        lines.pop(0)
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


# ---------------------------------------------------------------- the linear layer (weights trained offline)

WEIGHTS = "nlu_weights.json"  # beside EXAMPLES: a linear SVM trained on them by tests/nlu_eval.py --write-examples
SVM_C = 3.0          # chosen by cross-validation on the tuning sets (tests/nlu_eval.py --cv)
SVM_TEMPERATURE = 0.1  # decision values -> probabilities (softmax), chosen the same way
PRUNE = 0.05         # smaller weights are left out of the file: 3x smaller, ~0.3 point less in cross-validation


def _values(feats: list[str]) -> dict[str, float]:
    """A message's feature vector before scaling: sublinear counts (a repeated gram is not 5 times the evidence)."""
    counts: dict[str, int] = {}
    for f in feats:
        counts[f] = counts.get(f, 0) + 1
    return {f: 1.0 + math.log(n) for f, n in counts.items()}


@dataclass
class LinearModel:
    """A linear SVM's weights (one-vs-rest per label) read from the city's WEIGHTS file: scoring is a sparse dot
    product over the message's known features, the decision values softened into probabilities. The weights sit
    in flat arrays (a feature's row is weights[indptr[r]:indptr[r + 1]], for the classes beside them): ~15 MB in a
    worker, where a dict of Python lists took ~100 MB."""
    labels: list[tuple[str, str]]
    bias: list[float]
    table: dict[str, int]      # feature -> its row
    indptr: array              # row r's entries are [indptr[r], indptr[r + 1])
    classes: bytes             # entry -> class
    weights: array             # entry -> weight (float32)
    temperature: float = SVM_TEMPERATURE
    memory: dict[str, tuple[str, str]] = field(default_factory=dict)

    def scores(self, feats: list[str]) -> list[tuple[tuple[str, str], float]]:
        rows = {self.table[f]: v for f, v in _values(feats).items() if f in self.table}
        if not rows:
            return []
        norm = math.sqrt(sum(v * v for v in rows.values()))
        acc = list(self.bias)
        indptr, classes, weights = self.indptr, self.classes, self.weights
        for r, v in rows.items():
            v /= norm
            for j in range(indptr[r], indptr[r + 1]):
                acc[classes[j]] += weights[j] * v
        top = max(acc)
        ex = [math.exp((a - top) / self.temperature) for a in acc]
        z = sum(ex)
        ranked = sorted(range(len(ex)), key=lambda i: -ex[i])
        return [(self.labels[i], ex[i] / z) for i in ranked]


def examples_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""


def load_linear(city_dir: Path) -> LinearModel | None:
    """The city's trained weights, or None when missing or made from other examples than the current file
    (then the caller falls back to naive Bayes trained at start, never to stale weights)."""
    import json

    path = Path(city_dir) / WEIGHTS
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("examples_sha256") != examples_digest(Path(city_dir) / EXAMPLES):
        return None
    return linear_from(data)


def fit_linear(examples, featurize, c: float = SVM_C, temperature: float = SVM_TEMPERATURE) -> dict:
    """Train the linear SVM (build time only: scikit-learn is a test extra, never imported by the bot)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.preprocessing import normalize
    from sklearn.svm import LinearSVC

    rows = list(examples)
    labels = sorted({(i, tg) for _, i, tg in rows})
    index = {lab: n for n, lab in enumerate(labels)}
    dv = DictVectorizer()
    x = normalize(dv.fit_transform([_values(featurize(text)) for text, _, _ in rows]))
    clf = LinearSVC(C=c).fit(x, [index[(i, tg)] for _, i, tg in rows])
    coef = clf.coef_
    if len(labels) == 2:  # sklearn keeps one row for two classes
        coef = [[-w for w in coef[0]], list(coef[0])]
    features, indptr, classes, weights = [], [0], bytearray(), array("f")
    for f, j in sorted(dv.vocabulary_.items()):
        row = [(c_, float(coef[c_][j])) for c_ in range(len(labels)) if abs(coef[c_][j]) >= PRUNE]
        if row:
            features.append(f)
            classes.extend(c_ for c_, _ in row)
            weights.extend(w for _, w in row)
            indptr.append(len(weights))
    bias = [round(float(b), 4) for b in clf.intercept_] if len(labels) > 2 else [0.0, 0.0]
    return {"labels": [list(lab) for lab in labels], "bias": bias, "temperature": temperature,
            "features": features, "indptr": _b64(array("I", indptr)), "classes": _b64(bytes(classes)),
            "weights": _b64(weights)}


def _b64(data) -> str:
    """Arrays travel in the JSON file as little-endian bytes in base64 (a third of the size of number lists)."""
    if isinstance(data, array) and sys.byteorder != "little":
        data = array(data.typecode, data)
        data.byteswap()
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(text: str, typecode: str | None):
    raw = base64.b64decode(text)
    if typecode is None:
        return raw
    out = array(typecode)
    out.frombytes(raw)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def linear_from(data: dict) -> LinearModel:
    if len(labels := data["labels"]) > 255:
        raise ValueError("more than 255 labels do not fit the weights file's class bytes")
    return LinearModel(labels=[tuple(x) for x in labels], bias=data["bias"],
                       table={f: r for r, f in enumerate(data["features"])},
                       indptr=_unb64(data["indptr"], "I"), classes=_unb64(data["classes"], None),
                       weights=_unb64(data["weights"], "f"), temperature=data.get("temperature", SVM_TEMPERATURE))
