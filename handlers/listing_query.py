"""Free text that narrows a list of places or events: 「今日 こども食堂 国府津」「土曜 無料 小学生」「近くの子ども食堂」.

parse(text, districts) finds, in this order: explicit dates (8/15, 8月15日), single ages (3歳), 地区 names,
the kinds of place read through nlu's kana folding (コドモショクドウ, こどもしょくど, one wrong kanji as in こども食道;
romaji such as 「kodomo shokudou」 is read as kana), then the vocabulary words (handlers/listing_vocab.yaml, kinds
from handlers/places_vocab.yaml), longest first; each word found is cut out so a shorter one inside it does not
fire too (こども食堂 is a kind, not also 「こども」). What is left becomes `words`, for a search in names and
addresses: only content words, read with Sudachi (bot/ja_text.py): nouns of two characters or more, joined while
they follow one another (国府津まなび教室), never verbs, auxiliaries, particles, fillers, numbers with their counters
(3人), nouns used as verbs (参加したい) or the words listing_vocab.yaml's `not_words` lists (孫, 予定 ...).
Used by places and events alike; each decides what a field means for it (events may read `kinds` as nothing) and
may name its own words (`drop`: イベント, いべんと) that say only which feature was asked for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

import jaconv

from bot import ja_text
from handlers.nlu import fold, normalise
from handlers.texts import vocab as read_vocab
MAX_CHARS = 200  # a filter is short; longer text is read from its start
MAX_WORDS = 3


@dataclass(frozen=True)
class ListingQuery:
    day: date | int | None = None        # a date, or a weekday (0 = Monday) for 「土曜」
    month_day: tuple[int, int] | None = None  # 「8/15」 before it is given a year (see dates())
    today: bool = False
    tomorrow: bool = False
    weekend: bool = False
    this_week: bool = False
    weeks_ahead: int = 0                 # 来週 1, 再来週 2: with a weekday or 週末, that week's (weeks begin on Monday)
    days_ahead: int = 0                  # あさって 2, しあさって 3
    free: bool = False
    age: tuple[int, int] | None = None   # (lo, hi) years, both included
    kinds: tuple[str, ...] = ()          # place kinds (models/places.py: KINDS)
    districts: tuple[str, ...] = ()      # 地区 keys
    near_me: bool = False
    children: bool = False               # 「こども向け」「親子」: events for children
    words: tuple[str, ...] = ()          # what is left, for a search in names and addresses

    @property
    def has_day(self) -> bool:
        return bool(self.today or self.tomorrow or self.weekend or self.this_week or self.day is not None
                    or self.month_day or self.weeks_ahead or self.days_ahead)

    @property
    def has_filters(self) -> bool:
        return bool(self.has_day or self.free or self.age or self.kinds or self.districts or self.near_me
                    or self.children or self.words)

    def dates(self, today: date) -> tuple[date, ...]:
        """The days asked for, from `today` (Tokyo): 今日, 明日, the next 土曜 (today if it is Saturday), 8/15
        (this year, or next year once it has passed), 週末 (the coming Saturday and Sunday, or just today on a
        Sunday), 今週 (today to Sunday), あさって, and with 来週 / 再来週 the week after this one (or the one after
        that), Monday to Sunday: on Thursday 11/26, 来週の日曜 is 12/6 and 来週 is 11/30-12/6. Empty when no day
        was named."""
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * self.weeks_ahead)
        if self.month_day:
            m, d = self.month_day
            for year in (today.year, today.year + 1):
                try:
                    when = date(year, m, d)
                except ValueError:
                    return ()
                if when >= today:
                    return (when,)
            return ()
        if isinstance(self.day, date):
            return (self.day,)
        if isinstance(self.day, int):
            if self.weeks_ahead:
                return (monday + timedelta(days=self.day),)
            return (today + timedelta(days=(self.day - today.weekday()) % 7),)
        if self.days_ahead:
            return (today + timedelta(days=self.days_ahead),)
        if self.today:
            return (today,)
        if self.tomorrow:
            return (today + timedelta(days=1),)
        if self.weekend and self.weeks_ahead:
            return (monday + timedelta(days=5), monday + timedelta(days=6))
        if self.weekend:
            if today.weekday() == 6:
                return (today,)
            sat = today + timedelta(days=(5 - today.weekday()) % 7)
            return (sat, sat + timedelta(days=1))
        if self.this_week:
            return tuple(today + timedelta(days=i) for i in range(7 - today.weekday()))
        if self.weeks_ahead:
            return tuple(monday + timedelta(days=i) for i in range(7))
        return ()

    def span(self, today: date) -> tuple[date, date] | None:
        """(first day, last day) of dates(), for a search by time range."""
        ds = self.dates(today)
        return (ds[0], ds[-1]) if ds else None


# ------------------------------------------------------------------ vocabulary

@dataclass(frozen=True)
class _Vocab:
    rewrites: tuple[tuple[str, str], ...]
    terms: tuple[tuple[str, str, object], ...]  # (word, field, value), longest word first
    age_units: tuple[str, ...]
    noise: tuple[str, ...]       # multi-character filler words, longest first
    particles: str               # one-character fillers, cut only at a word's ends
    kind_forms: tuple[tuple[str, str], ...]  # (folded kind word or its long-vowel variant, kind), longest first
    not_words: frozenset[str]    # nouns that never make a search word (孫, 予定 ...), as typed and normalised


def _norm(word: str, rewrites=()) -> str:
    s = normalise(str(word))
    for a, b in rewrites:
        s = s.replace(a, b)
    return s


@lru_cache(maxsize=1)
def vocab() -> _Vocab:
    v, pv = read_vocab("listing"), read_vocab("places")
    rewrites = tuple(sorted(((normalise(str(a)), normalise(str(b))) for a, b in (v.get("rewrites") or {}).items()),
                            key=lambda p: -len(p[0])))
    terms: list[tuple[str, str, object]] = []

    def add(words, field: str, value: object = True) -> None:
        for w in words or ():
            if (n := _norm(w, rewrites)):
                terms.append((n, field, value))

    add(v.get("today"), "today")
    add(v.get("tomorrow"), "tomorrow")
    add(v.get("weekend"), "weekend")
    add(v.get("this_week"), "this_week")
    for wd, words in (v.get("weekdays") or {}).items():
        add(words, "day", int(wd))
    for n, words in (v.get("weeks_ahead") or {}).items():
        add(words, "weeks_ahead", int(n))
    for n, words in (v.get("days_ahead") or {}).items():
        add(words, "days_ahead", int(n))
    add(v.get("free"), "free")
    for group in v.get("ages") or ():
        lo, hi = group["range"]
        add(group["words"], "age", (int(lo), int(hi)))
    add(v.get("near"), "near_me")
    add(v.get("children"), "children")
    for key, spec in (pv.get("kinds") or {}).items():
        add(spec.get("words"), "kind", str(key))
    terms.sort(key=lambda t: -len(t[0]))
    noise = [_norm(w, rewrites) for w in v.get("noise") or ()]
    kind_forms = {(f, str(key)) for key, spec in (pv.get("kinds") or {}).items()
                  for w in spec.get("words") or () for f in _kind_variants(_norm(w, rewrites))}
    not_words = {x for w in v.get("not_words") or () for x in (_norm(w, rewrites), *ja_text.terms(str(w)))}
    return _Vocab(rewrites=rewrites, terms=tuple(terms),
                  age_units=tuple(normalise(u) for u in v.get("age_units") or ()),
                  noise=tuple(sorted((w for w in noise if len(w) > 1), key=len, reverse=True)),
                  particles="".join(w for w in noise if len(w) == 1),
                  kind_forms=tuple(sorted(kind_forms, key=lambda f: (-len(f[0]), f))),
                  not_words=frozenset(not_words))


# A long vowel a resident may write, leave out or type as ー (しょくどう, しょくど, しょくどー; がくしゅう).
_LONG_U = re.compile(r"(?<=[おこごそぞとどのほぼぽもよょろゆゅくぐすずつづぬふぶぷむる])う")


def _fold_chars(s: str) -> str:
    """nlu's kana folding (katakana as hiragana, small kana as large), one character for one, so that a span
    found in the folded text is the same span of `s`; characters fold does not keep stay as they are."""
    out = []
    for ch in s:
        f = fold(ch)
        out.append(f if len(f) == 1 else ch)
    return "".join(out)


def _kind_variants(word: str) -> set[str]:
    f = _fold_chars(word)
    forms = {f}
    if _KANA_ONLY.fullmatch(f) and _LONG_U.search(f):
        forms |= {_LONG_U.sub("", f), _LONG_U.sub("ー", f)}
    return {x for x in forms if len(x) >= 2 and (len(x) >= 4 or x == f)}


def kind_labels() -> dict[str, str]:
    return {str(k): str(spec.get("label") or k) for k, spec in (read_vocab("places").get("kinds") or {}).items()}


# ------------------------------------------------------------------ 地区

def _district_forms(districts) -> list[tuple[str, str, bool]]:
    """(form, key, short): names, aliases and kana readings of 3+ characters; short forms need 地区 after them
    or a space around them (緑 and 幸 occur inside other words)."""
    forms = []
    for d in districts or ():
        if isinstance(d, (tuple, list)):
            key, name, extra = str(d[0]), str(d[1]), []
        else:
            key, name = str(d.key), str(d.name)
            extra = list(getattr(d, "aliases", None) or [])
            kana = getattr(d, "kana", None) or ""
            extra += [k for k in str(kana).split("・") if len(k) >= 3]
        for form in {name, *name.split("・"), *extra}:
            form = normalise(form)
            if form:
                forms.append((form, key, len(form) < 2))
    forms.sort(key=lambda f: -len(f[0]))
    return forms


def _find_district(s: str, form: str, short: bool) -> tuple[int, int] | None:
    start = s.find(form)
    while start >= 0:
        end = start + len(form)
        if s.startswith("地区", end):
            return start, end + 2
        if not short:
            return start, end
        if (start == 0 or s[start - 1] == " ") and (end == len(s) or s[end] == " " or s.startswith(("の", "で"), end)):
            return start, end
        start = s.find(form, start + 1)
    return None


# ------------------------------------------------------------------ parse

_DATE = re.compile(r"(?<![0-9])([0-9]{1,2})(?:/|月)([0-9]{1,2})日?(?![0-9])")


def _cut(s: str, start: int, end: int) -> str:
    return s[:start] + " " + s[end:]


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _near(window: str, form: str) -> bool:
    """One wrong character, as an IME's wrong kanji (こども食道 for こども食堂): a kind word of four characters or
    more, not its first character, and a kanji mistaken for a kanji or kana for kana."""
    if len(form) < 4 or len(window) != len(form):
        return False
    diff = [i for i, (a, b) in enumerate(zip(window, form)) if a != b]
    if len(diff) != 1 or diff[0] == 0:
        return False
    a, b = window[diff[0]], form[diff[0]]
    return (_is_kanji(a) and _is_kanji(b)) or (bool(_KANA_ONLY.fullmatch(a + b)) and len(form) >= 5)


def _find_kinds(s: str, v: _Vocab, kinds: list[str]) -> str:
    """Kinds of place however they were written: folded alike (katakana, half width, a long vowel left out),
    then one wrong character. Each found is cut out of `s`, which is returned."""
    f = _fold_chars(s)
    for form, key in v.kind_forms:
        while (i := f.find(form)) >= 0:
            if key not in kinds:
                kinds.append(key)
            s, f = _cut(s, i, i + len(form)), _cut(f, i, i + len(form))
    for form, key in v.kind_forms:
        n = len(form)
        i = 0
        while 4 <= n and i + n <= len(f):
            if _near(f[i:i + n], form):
                if key not in kinds:
                    kinds.append(key)
                s, f = _cut(s, i, i + n), _cut(f, i, i + n)
            i += 1
    return s


_ROMAJI = re.compile(r"[a-z][a-z' -]{3,}")


def _romaji_as_kana(s: str) -> str | None:
    """「kodomo shokudou」 as 「こどもしょくどう」 (run together, as Japanese is written), when every letter reads as
    kana (not an English word)."""
    if not _ROMAJI.fullmatch(s):
        return None
    kana = jaconv.alphabet2kana(s.replace("'", "").replace(" ", ""))
    return kana if not re.search(r"[a-z]|っっ|っ$|っ ", kana) else None


def parse(text: str, districts=(), drop=()) -> ListingQuery:
    """The filters in a resident's message. `districts`: 地区 rows (key, name, kana, aliases) or (key, name);
    `drop`: the asking feature's own words (イベント), never searched for."""
    v = vocab()
    s = _norm((text or "")[:MAX_CHARS], v.rewrites)
    got = _parse(s, v, districts, drop)
    if got.words and (kana := _romaji_as_kana(s)) is not None:  # 「kodomo shokudou」
        as_kana = _parse(kana, v, districts, drop)
        if replace(as_kana, words=()).has_filters:
            return replace(as_kana, words=())
    return got


def _parse(s: str, v: _Vocab, districts, drop) -> ListingQuery:
    found: dict = {"kinds": [], "districts": []}

    if (m := _DATE.search(s)) is not None:
        found["month_day"] = (int(m.group(1)), int(m.group(2)))
        s = _cut(s, *m.span())
    if v.age_units:
        units = "|".join(map(re.escape, v.age_units))
        if (m := re.search(rf"(?<![0-9])([0-9]{{1,2}})\s*(?:{units})", s)) is not None:
            n = int(m.group(1))
            if n <= 18:
                found["age"] = (n, n)
            s = _cut(s, *m.span())

    for form, key, short in _district_forms(districts):
        while (span := _find_district(s, form, short)) is not None:
            if key not in found["districts"]:
                found["districts"].append(key)
            s = _cut(s, *span)

    s = _find_kinds(s, v, found["kinds"])
    for word, field, value in v.terms:
        if word not in s:
            continue
        s = s.replace(word, " ")
        if field == "kind":
            if value not in found["kinds"]:
                found["kinds"].append(value)
        elif field == "age":
            lo, hi = value
            old = found.get("age")
            found["age"] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
            found["children"] = True
        elif field == "day":
            found.setdefault("day", value)
        else:
            found[field] = value

    words = _left_over(s, v, drop)
    return ListingQuery(
        day=found.get("day"), month_day=found.get("month_day"), today=bool(found.get("today")),
        tomorrow=bool(found.get("tomorrow")), weekend=bool(found.get("weekend")),
        this_week=bool(found.get("this_week")), weeks_ahead=int(found.get("weeks_ahead") or 0),
        days_ahead=int(found.get("days_ahead") or 0), free=bool(found.get("free")), age=found.get("age"),
        kinds=tuple(found["kinds"]), districts=tuple(found["districts"]), near_me=bool(found.get("near_me")),
        children=bool(found.get("children")), words=words)


_SPLIT = re.compile(r"[\s、。,.!?！？・/／「」『』()（）\[\]【】〜~…]+")
_KANA_ONLY = re.compile(r"[\u3041-\u309fー]+")
_NUMBER = re.compile(r"[0-9〇一二三四五六七八九十百千万億]+")
_DOES = frozenset(("為る", "する", "出来る", "できる", "致す", "いたす", "頂く", "いただく"))  # 参加し(たい)
_HONORIFIC = ("お", "ご", "御")  # お店, ご案内: the prefix is not part of the word searched


def _drops(drop) -> tuple[str, ...]:
    return tuple(sorted({n for w in drop or () if (n := normalise(str(w)))}, key=len, reverse=True))


def _content(t: ja_text.Token, after: ja_text.Token | None, v: _Vocab) -> str | None:
    """The token's text when it is a noun that can name something searched for, else None."""
    if t.pos != "名詞" or _NUMBER.fullmatch(t.surface):
        return None
    if after is not None and (after.norm in _DOES or after.base in _DOES):
        return None  # a noun used as a verb: 参加したい, 利用できる
    if {t.surface, t.norm, t.norm.lower(), t.base} & v.not_words or t.norm in ja_text.STOP:
        return None
    word = t.surface
    if t.norm.startswith("御") and word.startswith(_HONORIFIC) and len(word) > 1:
        word = word[1:]
    return word


def _left_over(s: str, v: _Vocab, drop=()) -> tuple[str, ...]:
    """The content words left in `s`: runs of nouns (see the module's docstring), at most MAX_WORDS."""
    for w in sorted({*v.noise, *_drops(drop)}, key=len, reverse=True):
        if w in s:
            s = s.replace(w, " ")
    out: list[str] = []

    def keep(run: list[str]) -> None:
        word = "".join(run)
        run.clear()
        # Two characters at least, and not a scrap of hiragana (a verb ending Sudachi read as a noun).
        if len(word) < 2 or (_KANA_ONLY.fullmatch(word) and len(word) < 3) or word in v.not_words:
            return
        if word not in out:
            out.append(word)

    for piece in _SPLIT.split(s):
        if not piece:
            continue
        toks = ja_text.tokens(piece)
        run: list[str] = []
        for i, t in enumerate(toks):
            word = _content(t, toks[i + 1] if i + 1 < len(toks) else None, v)
            if word is None:
                keep(run)
            else:
                run.append(word)
        keep(run)
    return tuple(out[:MAX_WORDS])
