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

4. The learned layer (handlers/nlu_model.py: a linear SVM over Sudachi words, kana readings and character grams,
   weights trained offline on cities/<city>/nlu_examples.tsv) is blended with the rule scores unless a sure rule
   answer rests on a plan number, an out-of-scope word or a settings word (_blend); its settings are chosen by
   leaving each writer's tuning set out in turn (tests/nlu_eval.py --cv).
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

from bot import ja_text
from handlers import nlu_model, nlu_numbers
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = Path(__file__).resolve().parent
CORE_FILE = HANDLERS / "core_keywords.yaml"
# Each feature owns its words: the `nlu:` section of the vocabulary file of the module that answers the intent
# (rules in core_keywords.yaml's header; that file keeps only the language: rewrites, fillers, numbers, negations,
# time words). Listed, not globbed: this order is the tables' order, and where two answers score the same, the one
# whose word was read first ranks first (and is offered first).
FEATURE_VOCAB = ("common_vocab.yaml", "account_vocab.yaml", "settings_vocab.yaml", "places_vocab.yaml",
                 "events_vocab.yaml", "volunteer_vocab.yaml", "surveys_vocab.yaml", "plan_vocab.yaml",
                 "fallback_vocab.yaml", "courtesy_vocab.yaml")
MAX_CHARS = 300  # longer messages are matched on their start only (commands are short)
LEMMA_CHARS = 150  # ... and read into words (Sudachi) on this many characters

# Decision thresholds, tuned on tests/data/utterances.tsv (see tests/test_nlu.py).
ACCEPT = 0.6      # a best candidate below this is only offered as a choice
SUGGEST = 0.45    # candidates below this are not even offered
MARGIN = 0.015    # two different answers closer than this: ask instead of guessing
FUZZY_CUTOFF = 80  # rapidfuzz ratio (0-100) for whole-message typo matching
FUZZY_CUTOFF_KANA = 70  # ... when message and word are all kana (weak: offered as a choice)
# The learned layer (handlers/nlu_model.py) and how it is combined with the rule scores.
RULE_SURE = 0.97   # a rule answer this strong and not contested stands alone when it is a plan number, an
# out-of-scope word, or a word of a COMMAND_INTENTS intent (通知, 配信停止: whatever topic it names) ...
COMMAND_INTENTS = ("settings",)
FOREIGN = 0.5      # ... unless the model gives "unknown" (out of scope) at least this probability
TWO_TOPICS = 0.6   # share of the message made of two strong answers' words for it to count as naming both
BLEND = 0.7        # otherwise: score = (1 - BLEND) * rule score + BLEND * model probability
BLEND_ACCEPT = 0.55  # a blended best below this is only offered as a choice
BLEND_MARGIN = 0.1  # ... and so is one closer than this to the second
BLEND_SUGGEST = 0.42  # ... and not even offered below this (the content search answers instead): a model-only
# guess needs a probability of 0.6 to be offered
FAMILIAR = 0.6     # the model's "unknown" marks a message out of scope only when this share of its features is known
COURTESY_YIELDS = 0.75  # a greeting or thanks gives way to any request at least this strong
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
OUT_OF_SCOPE = "out_of_scope"  # Intent.target when the message is about something the service does not do
LOOKS_OUT_OF_SCOPE = "looks_out_of_scope"  # ... when only the learned layer thinks so (no out-of-scope word)

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


@lru_cache(maxsize=4096)
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
    negations: tuple[str, ...] = ()
    masks: dict[str, set[int]] = field(default_factory=dict)
    mask_lengths: tuple[int, ...] = ()
    city_dir: str = ""

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

    t = Tables(city_dir=city_dir)
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

    feature = {name: _read_yaml(HANDLERS / name).get("nlu") or {} for name in FEATURE_VOCAB}
    plan_vocab = feature["plan_vocab.yaml"]
    for source in (core, *feature.values(), syn):
        for intent, spec in (source.get("intents") or {}).items():
            for w, word in _weighted(spec):
                add(word, intent, None, w)
        # Intents with a target named in the vocabulary (courtesy: greeting / thanks ...).
        for intent, by_target in (source.get("targets") or {}).items():
            for target, spec in (by_target or {}).items():
                for w, word in _weighted(spec):
                    add(word, intent, str(target), w)
        for w, word in _weighted(source.get("time_words")):
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
    for source in (plan_vocab, syn):
        for pno, spec in (source.get("projects") or {}).items():
            for w, word in _weighted(spec if str(pno) in t.projects else None):
                add(word, "plan.project", str(pno), w)
        for ano, spec in (source.get("actions") or {}).items():
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
    negations = (core.get("negations") or [])
    t.negations = tuple(sorted({t.f(x) for x in negations if t.f(x)}, key=len, reverse=True))
    # One-substitution index for typos (地産池消, へるふ): "地産?消" -> the terms it stands for.
    for i, term in enumerate(t.fuzzy_terms):
        if len(term) >= (3 if _KANA.fullmatch(term) else 4) and len(term) <= 12:
            for j in range(len(term)):
                t.masks.setdefault(term[:j] + "?" + term[j + 1:], set()).add(i)
    t.mask_lengths = tuple(sorted({len(t.fuzzy_terms[i]) for ids in t.masks.values() for i in ids}))
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

Cand = dict  # (intent, target) -> [(score, tag)]: every cue found for that answer

BONUS = 0.2       # each further cue for the same answer adds this share of its score ...
BONUS_CAP = 0.3   # ... up to this much: several cues beat one word ("バス" + "買い物" + "病院" -> 702, not 病院)


def _put(c: Cand, intent: str, target: str | None, score: float, tag: str = "") -> None:
    c.setdefault((intent, target), []).append((score, tag))


def _total(cues: list[tuple[float, str]]) -> float:
    """Best cue plus a share of the others; a cue whose words lie inside one already counted adds nothing
    (ボランティア inside ボランティア募集 is one cue, not two)."""
    cues = sorted(cues, key=lambda x: -x[0])
    best, tag0 = cues[0]
    seen = [tag0] if tag0 else []
    bonus = 0.0
    for score, tag in cues[1:]:
        if not tag or any(tag in a or a in tag for a in seen):
            continue
        seen.append(tag)
        bonus += BONUS * max(score, 0.0)
    return best + min(BONUS_CAP, bonus)


def _strip_fillers(t: Tables, key: str) -> str:
    changed = True
    while changed and key:
        changed = False
        for f in t.fillers:
            if key.endswith(f) and len(key) > len(f):
                key, changed = key[: -len(f)], True
    return key


def lookup_forms(text: str, city: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The forms a message is looked up by elsewhere (staff's registered phrasings, bot/faq.py): folded as the
    classifier folds it, then without its trailing fillers (について教えて, って何 ...); no repeats or empties."""
    t = _tables_for(city, os.environ.get("KYODO_CITY"))
    full = t.f(text or "")
    core = _strip_fillers(t, full) if full else ""
    return tuple(dict.fromkeys(k for k in (full, core) if k))


def _entry_score(e: Entry, key: str, core: str) -> float | None:
    if e.exact:
        if e.parts[0] not in (key, core):
            return None
    elif not all(p in key for p in e.parts):
        return None
    # Heavier words first; among equals, the word that explains more of the message wins.
    return e.weight + 0.1 * min(1.0, e.length / max(len(core), 1))


def _explain_away(c: Cand) -> None:
    """Longest match wins: a cue whose words lie inside a longer, at least as strong cue of another answer is
    part of that phrase, not evidence of its own (地産地消 inside 農林水産物の地産地消の推進 -> 501, not project 5)."""
    tags = [(k, score, tag) for k, cues in c.items() for score, tag in cues if tag and not tag.startswith(("~", "#"))]
    if len(tags) < 2:
        return
    for k, cues in c.items():
        keep = []
        for score, tag in cues:
            parts = tag.split() if tag and not tag.startswith(("~", "#")) else None
            if parts and any(k2 != k and s2 >= score and len(t2.replace(" ", "")) > len(tag.replace(" ", ""))
                             and all(p in t2.replace(" ", "") for p in parts) for k2, s2, t2 in tags):
                continue
            keep.append((score, tag))
        cues[:] = keep


def _numbers(t: Tables, text: str, c: Cand, alts: list) -> bool:
    """Plan numbers (handlers/nlu_numbers.py) as cues; True when a year was named (a plan.year cue)."""
    got = nlu_numbers.parse(normalise(text))
    for n in got.projects[:1]:
        if str(n) in t.projects:
            _put(c, "plan.project", str(n), 1.05, f"#p{n}")
        else:
            _put(c, "unknown", None, 1.05, f"#p{n}")
            alts.append(("plan.list", None))
    for n in got.actions[:1]:
        no = str(n)
        if no in t.actions:
            _put(c, "plan.action", no, 1.05, f"#a{n}")
        else:
            # A number that is not an action: say so, and offer the project it would belong to.
            _put(c, "unknown", None, 1.05, f"#a{n}")
            alts.append(("plan.project", no[0]) if len(no) == 3 and no[0] in t.projects else ("plan.list", None))
    return bool(got.years)


def _names(t: Tables, key: str, core: str, c: Cand) -> None:
    n = len(core)
    for intent, target, name in t.names:
        if name in key:
            _put(c, intent, target, 0.97 + (0.13 if name == core else 0.0), name)
        elif 4 <= n <= 60:
            lcs = LCSseq.similarity(core, name)
            if lcs < NAME_COVER * n or lcs < NAME_SHARE * len(name):
                continue
            if max(b.size for b in LCSseq.editops(core, name).as_matching_blocks()) < NAME_BLOCK:
                continue
            # Longer shared runs and a larger share of the name are stronger evidence.
            _put(c, intent, target, min(0.99, 0.55 + 0.03 * lcs + 0.2 * lcs / len(name)) * lcs / n, name)


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
            _put(c, intent, target, w * (score / 100.0) ** 2, "~" + term)


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
    if intent == "regs":
        return Alternative("申込状況", "regs", {})
    if intent in menu:
        return Alternative(menu[intent], intent, {})
    return None  # never offer "unknown" or "leave" as a guess


def alternative(intent: str, target: str | None, city: str | os.PathLike | None = None) -> Alternative | None:
    """The button that offers a route (its label, its postback action and params), as close calls offer it;
    None for routes never offered as a guess (unknown, leave, courtesy)."""
    return _alternative(_tables_for(city, os.environ.get("KYODO_CITY")), intent, target)


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


def _candidates(t: Tables, keys: tuple[str, ...], entries: list[Entry] | None = None) -> list[Entry]:
    """The entries that can match one of `keys`, in table order: an entry's first part must occur in the key,
    so its first two characters (or its one character) must too. Saves scoring the whole table per message."""
    entries = t.entries if entries is None else entries
    cache = t.__dict__.setdefault("_index", {})
    index = cache.get(id(entries))
    if index is None:
        index = {}
        for i, e in enumerate(entries):
            index.setdefault(e.parts[0][:2], []).append(i)
        cache[id(entries)] = index
    grams = set()
    for k in keys:
        grams.update(k)
        grams.update(k[i:i + 2] for i in range(len(k) - 1))
    hits = sorted({i for g in grams for i in index.get(g, ())})
    return [entries[i] for i in hits]


def _lemma_key(t: Tables, text: str) -> str:
    """The message as Sudachi's normalised words, folded: 申し込んだ -> 申し込むた, 止めたい -> 止めるたい,
    子ども -> 子供 -> こども. Vocabulary written in dictionary form matches every conjugation this way."""
    try:
        toks = ja_text.tokens(normalise(text)[:LEMMA_CHARS])
    except Exception:  # noqa: BLE001  (odd input must never stop the router; the surface key still works)
        return ""
    return t.f("".join(tok.norm for tok in toks))


_SUFFIX_KANJI = frozenset("市県町村区駅的性化者内外式型用中後前上下長")


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch == "々"


def _split_negation(t: Tables, key: str) -> tuple[str, str]:
    """「イベントじゃなくてボランティア」: what comes before the last じゃなくて / ではなく / 以外 is not asked for."""
    best = -1
    found = ""
    for word in t.negations:
        i = key.rfind(word)
        if i > best:
            best, found = i, word
    if best <= 0:
        return key, ""
    rest = key[best + len(found):]
    return (rest, key[:best]) if len(rest) >= 2 else (key, "")


def _typos(t: Tables, key: str, core: str, c: Cand) -> None:
    """One wrong character: inside a kanji word (地産池消 -> 地産地消) anywhere in the message, or a short
    kana word that is the whole message (へるふ -> へるぷ)."""
    if not t.masks or len(key) > 60:
        return
    for size in t.mask_lengths:
        if size > len(key):
            break
        for start in range(len(key) - size + 1):
            w = key[start:start + size]
            for j in range(size):
                for i in t.masks.get(w[:j] + "?" + w[j + 1:], ()):
                    term = t.fuzzy_terms[i]
                    if term == w:
                        continue
                    if _KANA.fullmatch(term):
                        if w != core:
                            continue  # a kana typo counts only as the whole message: too many near words in kana
                    elif not (0 < j and _is_kanji(term[j]) and _is_kanji(w[j])) or (j == size - 1 and w[j] in _SUFFIX_KANJI):
                        continue  # a kanji inside a word mistaken for another (池 for 地), as an IME does; not
                        # the first one, nor a last one that is a common suffix (小田原市 is not a typo of 小田原産)
                    for intent, target, wt in t.fuzzy_meta[i]:
                        _put(c, intent, target, wt * 0.85, "~" + term)


def warm(city: str | os.PathLike | None = None) -> None:
    """Build the tables and train the model now, so a worker's first resident does not wait for them."""
    _model(_tables_for(city, os.environ.get("KYODO_CITY")))


def _features(t: Tables, text: str) -> list[str]:
    try:
        toks = ja_text.tokens(normalise(text)[:LEMMA_CHARS])
    except Exception:  # noqa: BLE001  (odd input: the character grams still work)
        toks = ()
    return nlu_model.features(t.f(text)[:LEMMA_CHARS], toks)


def _label(intent: str, target: str | None) -> tuple[str, str]:
    """The model's label: places / events without the district (found in the text afterwards)."""
    return (intent, "" if intent in ("places", "events", "unknown") else (target or ""))


def _model(t: Tables) -> nlu_model.Model:
    """Trained once per city tables: the bot's examples, plus every table word and plan name as a one-line
    example of its answer (so the model knows the vocabulary, and the tables' words reach their neighbours)."""
    m = t.__dict__.get("_model")
    if m is None:
        examples = _training_rows(t)
        # The linear SVM trained offline on the same rows (tests/nlu_eval.py --write-examples) generalises better;
        # naive Bayes trained here is the fallback for a city without current weights.
        m = nlu_model.load_linear(Path(t.city_dir))
        if m is None:
            m = nlu_model.train(examples, lambda s: _features(t, s))
        m.memory = {t.f(text): (i, tg) for text, i, tg in examples[:t.__dict__["_n_examples"]]}
        t.__dict__["_model"] = m
    return m


def _training_rows(t: Tables) -> list[tuple[str, str, str]]:
    """The bot's examples, then every table word and plan name as a one-line example of its answer."""
    rows = [(text, *_label(i, tg)) for text, i, tg in nlu_model.read_examples(Path(t.city_dir) / nlu_model.EXAMPLES)]
    t.__dict__["_n_examples"] = len(rows)
    rows += [(" ".join(e.parts), *_label(e.intent, e.target)) for e in t.entries]
    rows += [(name, *_label(i, tg)) for i, tg, name in t.names]
    return rows


def write_weights(city: str | os.PathLike | None = None) -> Path:
    """Train the linear layer on the city's examples and table words and write its weights file (build time)."""
    import json

    t = _tables_for(city, os.environ.get("KYODO_CITY"))
    data = nlu_model.fit_linear(_training_rows(t), lambda s: _features(t, s))
    data = {"examples_sha256": nlu_model.examples_digest(Path(t.city_dir) / nlu_model.EXAMPLES), **data}
    out = Path(t.city_dir) / nlu_model.WEIGHTS
    out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    t.__dict__.pop("_model", None)
    return out


_ROMAJI = re.compile(r"[a-z][a-z' -]{3,}")  # 「borantia」「kea taun」: Japanese typed in the alphabet


def classify(text: str, city: str | os.PathLike | None = None) -> Intent:
    """The intent of one message. `city` is a folder name under cities/ or a path (default KYODO_CITY)."""
    got = _classify(text, city)
    if got.name == "unknown" and not got.alternatives and got.target != OUT_OF_SCOPE:  # a guess may be romaji
        folded = unicodedata.normalize("NFKC", text or "").strip().lower()
        if _ROMAJI.fullmatch(folded):  # English words (help, menu) were tried as typed first
            kana = jaconv.alphabet2kana(folded.replace("'", ""))
            # Every letter read as kana, and not a keyboard mash (asdfgh reads as あっっっっう): it was romaji.
            if not re.search("[a-z]|っっ|っ$|っ ", kana):
                again = _classify(kana, city)
                if again.name != "unknown" or again.alternatives:
                    return again
    return got


def _classify(text: str, city: str | os.PathLike | None) -> Intent:
    t = _tables_for(city, os.environ.get("KYODO_CITY"))
    full = t.f(text or "")
    if not full:
        return UNKNOWN
    key, negated = _split_negation(t, full)
    core = _strip_fillers(t, key)
    keys = (key,) if negated else (key, _lemma_key(t, text))
    keys = tuple(k for k in keys if k)

    c: Cand = {}
    number_alts: list[tuple[str, str | None]] = []
    year = _numbers(t, text if not negated else key, c, number_alts)
    for e in _candidates(t, keys):
        for k in keys:
            s = _entry_score(e, k, core)
            if s is not None:
                _put(c, e.intent, e.target, s, " ".join(e.parts))
                break
    _names(t, key, core, c)
    _fuzzy(t, core, c)
    if max((s for cues in c.values() for s, _ in cues), default=0.0) < ACCEPT:
        _fuzzy_chunks(t, core, c)
        _typos(t, key, core, c)
    times = [s for e in _candidates(t, keys, t.time_entries) for k in keys
             if (s := _entry_score(e, k, core)) is not None]
    if year:
        times.append(0.85)
    time = max(times) if times else None

    _explain_away(c)
    ranked = sorted(((k, _total(cues) if k[0] != "courtesy" else max(s for s, _ in cues))
                     for k, cues in c.items() if cues), key=lambda kv: -kv[1])
    if any(k[0] not in ("courtesy", "unknown") and s >= COURTESY_YIELDS for k, s in ranked):
        # 「ありがとう。ボランティアもしてみたい」: the courtesy is said in passing, the request is the message.
        ranked = [(k, s) for k, s in ranked if k[0] != "courtesy"]
    if time is not None:
        ranked = _with_time(ranked, time)
    # Plan numbers the resident typed (プロジェクト3, 702): an answer resting on one may stand without the model.
    numbered = {k[1] for k, cues in c.items() if any(tag.startswith("#") for _, tag in cues)}
    ranked, blended = _blend(t, text, ranked, numbered, _two_topics(c, ranked, core or key))
    accept, margin = (BLEND_ACCEPT, BLEND_MARGIN) if blended else (ACCEPT, MARGIN)
    if not ranked:
        return UNKNOWN
    (intent, target), raw = ranked[0]
    score = round(min(raw, 1.0), 3)  # scores above 1 only rank exact matches; callers see 0..1
    if intent == "unknown":
        if number_alts:  # a number the plan does not have: offer where it would belong
            return Intent("unknown", None, score, _alternatives(t, number_alts))
        if blended and (raw < accept or ("unknown", None) not in c and _unfamiliar(t, text)):
            # Nothing known and nothing clearly foreign (no out-of-scope word, and the model's "unknown" rests on
            # a message it mostly does not know, such as a new event's or place's name): the content search.
            return Intent("unknown", None, score)
        if blended and ("unknown", None) not in c:
            # Only the model says so (no out-of-scope word): a new place's or event's name can look foreign to
            # it, so handlers/fallback.py still offers content that matches strongly.
            return Intent("unknown", LOOKS_OUT_OF_SCOPE, score)
        # The out-of-scope route won (weather, tax ...): handlers/fallback.py then skips the content search.
        return Intent("unknown", OUT_OF_SCOPE, score)
    close = [k for k, s in ranked[1:] if s > raw - margin and k[0] != "unknown"]
    if raw < accept or close:
        if blended and raw < accept and not any(k[0] not in ("unknown", "courtesy") for k in c):
            # Only the model has a guess, and a weak one: the content search (it knows this week's events, places
            # and surveys; the model does not) answers instead of buttons made from a guess.
            return Intent("unknown", None, score)
        floor = max(SUGGEST, raw - 0.15) if not blended else max(BLEND_SUGGEST, raw - 0.3)
        choices = [k for k, s in ranked if k[0] != "unknown" and s >= floor]
        return Intent("unknown", None, score, _alternatives(t, choices))
    if intent in ("places", "events"):
        target = _district(t, text)
    return Intent(intent, target, score)


def _unfamiliar(t: Tables, text: str) -> bool:
    """Too few of the message's features are known to the model for its "unknown" to mean "out of scope"."""
    feats = set(_features(t, text))
    table = _model(t).table
    return not feats or sum(f in table for f in feats) < FAMILIAR * len(feats)


def _two_topics(c: Cand, ranked: list, key: str) -> bool:
    """The message is little more than two strong, equal answers' words (「環境と文化」): the resident named two
    topics, so ask. In a longer message the same two words are weighed with the rest (the model decides)."""
    if len(ranked) < 2 or ranked[1][1] < ACCEPT or ranked[1][1] <= ranked[0][1] - MARGIN:
        return False
    words = [max((tag.replace(" ", "") for _, tag in c.get(k, ()) if tag and not tag.startswith(("~", "#"))),
                 key=len, default="") for k, _ in ranked[:2]]
    return all(words) and sum(map(len, words)) >= TWO_TOPICS * len(key)


def _blend(t: Tables, text: str, ranked: list, numbered: set, two_topics: bool = False) -> list:
    """Rules and model together. A plan number or an out-of-scope word, uncontested, stands; otherwise each
    answer's score is a mix of its rule score and the model's probability, so a phrasing no table word covers
    still finds its answer, and a stray table word in an unrelated message is outvoted. Two strong rule answers
    are weighed the same way (the model tells 環境と文化 from 見守りのボランティア); a close result still asks."""
    model = _model(t)
    seen = model.memory.get(t.f(text))
    if seen is not None:  # one of the bot's own examples, word for word: its label
        k = (seen[0], seen[1] or None)
        if seen[0] in ("places", "events"):
            k = next((k2 for k2, _ in ranked if k2[0] == seen[0]), k)
        return [(k, 1.0)] + [(k2, s) for k2, s in ranked if k2 != k and s < 1.0 - MARGIN], False
    probs = model.scores(_features(t, text))
    foreign = next((p for (intent, _), p in probs if intent == "unknown"), 0.0)
    top = ranked[0][0] if ranked else None
    if ranked and ranked[0][1] >= RULE_SURE and not any(s > ranked[0][1] - MARGIN for _, s in ranked[1:]):
        # Only a plan number (プロジェクト3, 702), an out-of-scope word or a settings word (「ケアタウンの通知」) stands
        # alone (see RULE_SURE); any other rule answer, however
        # many table words it has, is weighed with the model: measured leaving each writer's set out in turn, a
        # strong word answer standing alone lost 1.7 points in scope (「見守りのボランティア」 is volunteer, not ケアタウン).
        if top[0] == "unknown" or ((top[1] in numbered or top[0] in COMMAND_INTENTS) and foreign < FOREIGN):
            return ranked, False
    if two_topics:
        return ranked, False
    if not probs:
        return ranked, False
    mixed: dict = {}
    for (intent, target), s in ranked:
        k = (intent, None) if intent == "unknown" else (intent, target)
        mixed[k] = max(mixed.get(k, 0.0), (1 - BLEND) * min(s, 1.0))
    for (intent, target), p in probs[:8]:
        k = (intent, target or None)
        if intent in ("places", "events"):
            k = next((k2 for k2 in mixed if k2[0] == intent), k)
        mixed[k] = mixed.get(k, 0.0) + BLEND * p
    return sorted(mixed.items(), key=lambda kv: -kv[1]), True


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
