"""Free text -> intent: what a resident's Japanese message is asking for.

1. Fold the message (`normalise`, then `fold`): NFKC, lower case, emoji and invisible characters off,
   katakana -> hiragana, small vowels full size, punctuation and spaces off, spelling `rewrites`.
2. Score candidates (intent, target) from four sources:
   - numbers: "101" / "アクション１０１" -> that action if the plan has it, else "unknown";
     "プロジェクト3" -> project 3;
   - keyword tables: handlers/core_keywords.yaml (generic) + cities/<city>/synonyms.yaml (themes);
   - plan names from cities/<city>/plan.yaml: a message that is (most of) an action's or project's name;
   - whole-message fuzzy matching (rapidfuzz) for typos such as ケアタン or ボランテア.
3. Time words (今年度, 来年...) turn a project answer into plan.year; districts add a target to
   places/events. A close call between candidates, or a weak one, returns "unknown" with the 2-3
   closest `alternatives`, which the bot offers as quick replies.

No Japanese tokenizer: messages are short, and substring + name coverage + fuzzy matching on folded kana
already separates the intents; the one thing a tokenizer would add, kana readings of kanji words, is a
few lines of data (synonyms.yaml), whereas a tokenizer costs start-up time and per-message time.
All words, names and numbers come from data files; nothing city-specific is written here.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jaconv
import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

ROOT = Path(__file__).resolve().parent.parent
CORE_FILE = Path(__file__).with_name("core_keywords.yaml")
MAX_CHARS = 300  # longer messages are matched on their start only (commands are short)

# Decision thresholds, tuned on tests/data/utterances.tsv (see tests/test_nlu.py).
ACCEPT = 0.6      # a best candidate below this is only offered as a choice
SUGGEST = 0.45    # candidates below this are not even offered
MARGIN = 0.015    # two different answers closer than this: ask instead of guessing
FUZZY_CUTOFF = 80  # rapidfuzz ratio (0-100) for whole-message typo matching
FUZZY_CUTOFF_KANA = 70  # ... when message and word are all kana (weak: offered as a choice)
NAME_COVER = 0.85  # share of the message that must appear, in order, in a plan name
NAME_BLOCK = 4     # ... with at least this many characters in one run
NAME_SHARE = 0.3   # ... and cover this share of the name (a short fragment of a long name is a theme)


@dataclass(frozen=True)
class Alternative:
    label: str
    action: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Intent:
    name: str                     # e.g. "help", "plan.project", "unknown"
    target: str | None = None     # e.g. project number "1", action "101", district name
    score: float = 1.0
    alternatives: tuple[Alternative, ...] = ()


UNKNOWN = Intent("unknown", score=0.0)

# ---------------------------------------------------------------- folding

# Emoji skin tones are "Sk" (kept otherwise); variation selectors and tags are marks/format characters.
_DROP_RANGES = re.compile("[\U0001F3FB-\U0001F3FF\uFE00-\uFE0F\U000E0000-\U000E01EF]")
_DROP_CATEGORIES = {"So", "Cf", "Co", "Cs", "Cn", "Me"}
_TRAIL = re.compile(r"(?:[\s。、．，.,!?！？~〜…・‥:;：；'\"`]|(?<![a-z])w+|笑)+$")
_SPACE = re.compile(r"\s+")
_TILDE = re.compile(r"(?<=[\u3041-\u309f])[~〜]+")  # あんけ〜と: a long vowel written as a tilde
_NONWORD = re.compile(r"[\W_]+")
_SMALL = str.maketrans("ぁぃぅぇぉゎゕゖ", "あいうえおわかけ")


def _visible(s: str) -> str:
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(" ")  # tabs, newlines and other controls separate words
        elif cat not in _DROP_CATEGORIES:
            out.append(ch)
    return _DROP_RANGES.sub("", "".join(out))


def normalise(text: str) -> str:
    """Readable normal form: NFKC (full/half width), lower case, emoji, invisible characters and
    trailing punctuation off, spaces collapsed. Flows compare against this (e.g. "はい")."""
    s = (text or "")[: MAX_CHARS * 4]
    s = "".join(ch for ch in s if not 0xD800 <= ord(ch) <= 0xDFFF)  # lone surrogates cannot be encoded
    s = _visible(unicodedata.normalize("NFKC", s)).lower()
    s = _SPACE.sub(" ", s).strip()
    return _TRAIL.sub("", s)


def _fold_basic(s: str) -> str:
    s = jaconv.kata2hira(s).translate(_SMALL)
    s = _TILDE.sub("ー", s)
    return _NONWORD.sub("", s)


def fold(text: str, rewrites: tuple[tuple[str, str], ...] = ()) -> str:
    """Matching key: normalised, hiragana, no punctuation or spaces, spelling variants folded."""
    s = _fold_basic(normalise(text))[:MAX_CHARS]
    for a, b in rewrites:
        if a in s:
            s = s.replace(a, b)
    return s


# ---------------------------------------------------------------- tables


@dataclass(frozen=True)
class Entry:
    parts: tuple[str, ...]   # folded; all must occur
    exact: bool              # the whole message must be this word
    intent: str
    target: str | None
    weight: float

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.parts)


@dataclass
class Tables:
    rewrites: tuple[tuple[str, str], ...] = ()
    fillers: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)
    time_entries: list[Entry] = field(default_factory=list)
    # (intent, target, folded name): plan names matched by coverage
    names: list[tuple[str, str | None, str]] = field(default_factory=list)
    fuzzy_terms: list[str] = field(default_factory=list)
    fuzzy_meta: list[list[tuple[str, str | None, float]]] = field(default_factory=list)
    actions: dict[str, tuple[str, str]] = field(default_factory=dict)   # "101" -> (project no, name)
    projects: dict[str, str] = field(default_factory=dict)              # "1" -> short name
    project_re: re.Pattern | None = None
    units: tuple[str, ...] = ()
    districts: list[tuple[str, str]] = field(default_factory=list)      # (hiragana form, name)

    def f(self, text: str) -> str:
        return fold(text, self.rewrites)


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        # libyaml's parser when PyYAML has it: plan.yaml takes about 1 s in pure Python.
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def _weighted(spec, default: float = 0.8):
    """Yield (weight, word) from {0.9: [words]}, a plain list, or None."""
    if not spec:
        return
    if isinstance(spec, dict):
        for w, words in spec.items():
            for word in words or []:
                yield float(w), str(word)
    else:
        for word in spec:
            yield default, str(word)


def _entry(t: Tables, word: str, intent: str, target: str | None, weight: float) -> Entry | None:
    exact = word.startswith("=")
    parts = tuple(p for p in (t.f(x) for x in word.lstrip("=").split()) if p)
    return Entry(parts, exact, intent, target, weight) if parts else None


def _city_dir(city: str | os.PathLike | None) -> Path:
    city = city or os.environ.get("KYODO_CITY") or "odawara"
    p = Path(city)
    return p if (p.is_absolute() or os.sep in str(city)) else ROOT / "cities" / str(city)


@lru_cache(maxsize=8)
def tables(city_dir: str) -> Tables:
    """Build the matching tables once per city folder (the files are read at first use)."""
    core = _read_yaml(CORE_FILE)
    city = Path(city_dir)
    syn = _read_yaml(city / "synonyms.yaml")
    plan = _read_yaml(city / "plan.yaml")
    dist = _read_yaml(city / "districts.yaml")

    t = Tables()
    rw = {**(core.get("rewrites") or {}), **(syn.get("rewrites") or {})}
    pairs = [(_fold_basic(str(a)), _fold_basic(str(b))) for a, b in rw.items()]
    t.rewrites = tuple(sorted(((a, b) for a, b in pairs if a and a != b), key=lambda p: -len(p[0])))
    t.fillers = tuple(f for f in (t.f(x) for x in (core.get("fillers") or []) + (syn.get("fillers") or [])) if f)

    def add(word: str, intent: str, target: str | None, weight: float) -> None:
        e = _entry(t, word, intent, target, weight)
        if e is None:
            return
        t.entries.append(e)
        if intent != "unknown" and not e.exact and len(e.parts) == 1 and len(e.parts[0]) >= 3:
            _add_fuzzy(t, e.parts[0], intent, target, weight)

    for source in (core, syn):
        for intent, spec in (source.get("intents") or {}).items():
            for w, word in _weighted(spec):
                add(word, intent, None, w)
    for w, word in _weighted(core.get("time_words")):
        if (e := _entry(t, word, "plan.year", None, w)) is not None:
            t.time_entries.append(e)

    nums = core.get("numbers") or {}
    t.units = tuple(sorted((t.f(u) for u in nums.get("units") or [] if t.f(u)), key=len, reverse=True))
    prefixes = sorted({t.f(p) for p in nums.get("project_prefixes") or [] if t.f(p)}, key=len, reverse=True)
    if prefixes:
        t.project_re = re.compile("(?:" + "|".join(map(re.escape, prefixes)) + r")(?:no)?([0-9]+)(?![0-9])")

    # The plan: names and numbers come only from plan.yaml.
    for p in plan.get("projects") or []:
        pno = str(p.get("no"))
        short = str(p.get("short_name") or p.get("name") or pno)
        t.projects[pno] = short
        if p.get("name"):
            t.names.append(("plan.project", pno, t.f(str(p["name"]))))
        add(short, "plan.project", pno, 0.9)
        for a in p.get("actions") or []:
            ano = str(a.get("no"))
            t.actions[ano] = (pno, str(a.get("name") or ano))
            if a.get("name"):
                t.names.append(("plan.action", ano, t.f(str(a["name"]))))
                _add_fuzzy(t, t.f(str(a["name"])), "plan.action", ano, 0.95)
    # Synonyms for a project or action the plan does not have are ignored (tests flag them).
    for pno, spec in (syn.get("projects") or {}).items():
        for w, word in _weighted(spec if str(pno) in t.projects else None):
            add(word, "plan.project", str(pno), w)
    for ano, spec in (syn.get("actions") or {}).items():
        for w, word in _weighted(spec if str(ano) in t.actions else None):
            add(word, "plan.action", str(ano), w)
    if plan.get("vision"):
        t.names.append(("plan.vision", None, t.f(str(plan["vision"]))))
    for key in ("pillars", "forces"):
        for item in plan.get(key) or []:
            if item.get("name"):
                add(str(item["name"]), "plan.vision", None, 0.9)

    # Districts, longest first so 東富水 wins over 富水; kana readings only when long enough to be safe.
    for d in dist.get("districts") or []:
        name = str(d.get("name") or "")
        forms = {name, *name.split("・")} if name else set()
        kana = str(d.get("kana") or "")
        forms |= {k for k in kana.split("・") if len(k) >= 3}
        for form in forms:
            if form:
                t.districts.append((jaconv.kata2hira(form), name))
    t.districts.sort(key=lambda x: -len(x[0]))
    return t


def _add_fuzzy(t: Tables, term: str, intent: str, target: str | None, weight: float) -> None:
    try:
        i = t.fuzzy_terms.index(term)
    except ValueError:
        t.fuzzy_terms.append(term)
        t.fuzzy_meta.append([])
        i = len(t.fuzzy_terms) - 1
    t.fuzzy_meta[i].append((intent, target, weight))


# ---------------------------------------------------------------- scoring

Cand = dict  # (intent, target) -> score


def _put(c: Cand, intent: str, target: str | None, score: float) -> None:
    k = (intent, target)
    if score > c.get(k, -1.0):
        c[k] = score


def _strip_fillers(t: Tables, key: str) -> str:
    changed = True
    while changed and key:
        changed = False
        for f in t.fillers:
            if key.endswith(f) and len(key) > len(f):
                key, changed = key[: -len(f)], True
    return key


def _entry_score(e: Entry, key: str, core: str) -> float | None:
    if e.exact:
        if e.parts[0] not in (key, core):
            return None
    elif not all(p in key for p in e.parts):
        return None
    # Heavier words first; among equals, the word that explains more of the message wins.
    return e.weight + 0.1 * min(1.0, e.length / max(len(core), 1))


_ACTION_NO = re.compile(r"(?<![0-9])([0-9]{3})(?![0-9])")  # ASCII digits only (NFKC folds １０１)


def _numbers(t: Tables, key: str, c: Cand, alts: list) -> None:
    if t.project_re is not None:
        for m in t.project_re.finditer(key):
            if len(m.group(1)) == 3:
                break  # "プロジェクト101": an action number, handled below
            no = str(int(m.group(1)))
            if no in t.projects:
                _put(c, "plan.project", no, 1.05)
            else:
                _put(c, "unknown", None, 1.05)
                alts.append(("plan.list", None))
            return
    for m in _ACTION_NO.finditer(key):
        rest = key[m.end():]
        if any(rest.startswith(u) for u in t.units):
            continue
        no = m.group(1)
        if no in t.actions:
            _put(c, "plan.action", no, 1.05)
        else:
            # A number that is not an action: say so, and offer the project it would belong to.
            _put(c, "unknown", None, 1.05)
            alts.append(("plan.project", no[0]) if no[0] in t.projects else ("plan.list", None))
        return


def _names(t: Tables, key: str, core: str, c: Cand) -> None:
    n = len(core)
    for intent, target, name in t.names:
        if name in key:
            _put(c, intent, target, 0.97 + (0.03 if name == core else 0.0))
        elif 4 <= n <= 60:
            lcs = LCSseq.similarity(core, name)
            if lcs < NAME_COVER * n or lcs < NAME_SHARE * len(name):
                continue
            if max(b.size for b in LCSseq.editops(core, name).as_matching_blocks()) < NAME_BLOCK:
                continue
            # Longer shared runs and a larger share of the name are stronger evidence.
            _put(c, intent, target, min(0.99, 0.55 + 0.03 * lcs + 0.2 * lcs / len(name)) * lcs / n)


_KANA = re.compile(r"[\u3041-\u309fー]+")
_PARTICLES = re.compile(r"(?:って|の|で|に|を|は|が|と|も|へ)")


def _fuzzy(t: Tables, core: str, c: Cand) -> None:
    if not 3 <= len(core) <= 20 or not t.fuzzy_terms:
        return
    # Typos are made in kana (kanji come from the IME whole), so all-kana text gets a lower cutoff;
    # those weaker matches score below ACCEPT and are only offered as choices.
    kana = _KANA.fullmatch(core) is not None
    cutoff = FUZZY_CUTOFF_KANA if kana else FUZZY_CUTOFF
    for term, score, i in process.extract(core, t.fuzzy_terms, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5):
        if score < FUZZY_CUTOFF and not _KANA.fullmatch(term):
            continue
        for intent, target, w in t.fuzzy_meta[i]:
            _put(c, intent, target, w * (score / 100.0) ** 2)


def _fuzzy_chunks(t: Tables, core: str, c: Cand) -> None:
    """A kana typo inside a sentence ("けあたんの予定"): try the kana pieces between particles."""
    chunks = [x for x in _PARTICLES.split(core) if len(x) >= 3 and x != core and _KANA.fullmatch(x)]
    for chunk in chunks[:4]:
        _fuzzy(t, chunk, c)


def _district(t: Tables, text: str) -> str | None:
    hira = jaconv.kata2hira(normalise(text))
    for form, name in t.districts:
        start = hira.find(form)
        while start >= 0:
            end = start + len(form)
            if len(form) >= 2 and not form.isascii():
                if len(form) >= 3 or _bounded(hira, start, end):
                    return name
            elif _bounded(hira, start, end):
                return name
            start = hira.find(form, start + 1)
    return None


_AFTER = ("地区", "の", "で", "に", "あたり", "辺り", "周辺", "近く", "付近", "は", "方面", "へ", "駅", "小学校",
          "中学校", "公民館", "自治会", " ")


def _bounded(s: str, start: int, end: int) -> bool:
    """A short district name (緑, 幸) counts only as a word of its own: 緑地区, 緑の..., not 新緑 or 幸せ."""
    before_ok = start == 0 or not (s[start - 1].isalpha() and not "\u3041" <= s[start - 1] <= "\u309f")
    after_ok = end == len(s) or s.startswith(_AFTER, end)
    return before_ok and after_ok


def _alternative(t: Tables, intent: str, target: str | None) -> Alternative | None:
    from handlers.menu import MAIN_MENU  # late: menu imports ui, which needs nothing from here

    menu = {action: lbl for lbl, action in MAIN_MENU}
    if intent == "plan.project" and target in t.projects:
        return Alternative(t.projects[target], "plan.project", {"id": int(target)})
    if intent == "plan.action" and target in t.actions:
        return Alternative(f"{target} {t.actions[target][1]}", "plan.action", {"no": int(target)})
    if intent == "plan.year":
        if target in t.projects:
            return Alternative(f"{t.projects[target]}の予定", "plan.year", {"id": int(target)})
        return Alternative("今年度の予定", "plan.year", {})
    if intent == "plan.vision":
        return Alternative("ビジョン", "plan.vision", {})
    if intent == "help":
        return Alternative("ヘルプ", "help", {})
    if intent in menu:
        return Alternative(menu[intent], intent, {})
    return None  # never offer "unknown" or "leave" as a guess


def _alternatives(t: Tables, pairs) -> tuple[Alternative, ...]:
    out: list[Alternative] = []
    for intent, target in pairs:
        a = _alternative(t, intent, target)
        if a is not None and a not in out:
            out.append(a)
    return tuple(out[:3])


@lru_cache(maxsize=16)
def _tables_for(city: str | os.PathLike | None, env_city: str | None) -> Tables:
    # Resolving the folder (Path work) cost more than the rest of a short message's classification.
    return tables(str(_city_dir(city)))


def _candidates(t: Tables, key: str) -> list[Entry]:
    """The entries that can match `key`, in table order: an entry's first part must occur in the key
    (or be it), so its first character must too. Saves scoring the whole table for every message."""
    index = t.__dict__.get("_by_first_char")
    if index is None:
        index = {}
        for i, e in enumerate(t.entries):
            index.setdefault(e.parts[0][0], []).append(i)
        t.__dict__["_by_first_char"] = index
    hits = sorted({i for ch in set(key) for i in index.get(ch, ())})
    return [t.entries[i] for i in hits]


def warm(city: str | os.PathLike | None = None) -> None:
    """Build the tables now, so a worker's first resident does not wait for the files to be read."""
    _tables_for(city, os.environ.get("KYODO_CITY"))


def classify(text: str, city: str | os.PathLike | None = None) -> Intent:
    """The intent of one message. `city` is a folder name under cities/ or a path (default KYODO_CITY)."""
    t = _tables_for(city, os.environ.get("KYODO_CITY"))
    key = t.f(text or "")
    if not key:
        return UNKNOWN
    core = _strip_fillers(t, key)

    c: Cand = {}
    number_alts: list[tuple[str, str | None]] = []
    _numbers(t, key, c, number_alts)
    for e in _candidates(t, key):
        s = _entry_score(e, key, core)
        if s is not None:
            _put(c, e.intent, e.target, s)
    _names(t, key, core, c)
    _fuzzy(t, core, c)
    if max(c.values(), default=0.0) < ACCEPT:
        _fuzzy_chunks(t, core, c)
    time = max((s for e in t.time_entries if (s := _entry_score(e, key, core)) is not None), default=None)

    ranked = sorted(c.items(), key=lambda kv: -kv[1])
    if time is not None:
        ranked = _with_time(ranked, time)
    if not ranked:
        return UNKNOWN
    (intent, target), raw = ranked[0]
    score = round(min(raw, 1.0), 3)  # scores above 1 only rank exact matches; callers see 0..1
    if intent == "unknown":
        return Intent("unknown", None, score, _alternatives(t, number_alts))
    close = [k for k, s in ranked[1:] if s > raw - MARGIN and k[0] != "unknown"]
    if raw < ACCEPT or close:
        choices = [k for k, s in ranked if k[0] != "unknown" and s >= max(SUGGEST, raw - 0.15)]
        return Intent("unknown", None, score, _alternatives(t, choices))
    if intent in ("places", "events"):
        target = _district(t, text)
    return Intent(intent, target, score)


def _with_time(ranked: list, time: float) -> list:
    """Time words qualify a plan answer: project X -> plan.year X; nothing or the list -> plan.year."""
    if not ranked:
        return [(("plan.year", None), time)]
    (intent, target), score = ranked[0]
    if intent == "plan.project":
        return [(("plan.year", target), max(score, time))] + [
            (k, s) for k, s in ranked[1:] if k[0] != "plan.project"]
    if intent == "plan.list" or (intent != "unknown" and time > score and not intent.startswith("plan.")):
        return [(("plan.year", None), max(score, time))] + ranked[1:]
    return ranked
