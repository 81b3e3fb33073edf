"""Free text that narrows a list of places or events: 「今日 こども食堂 国府津」「土曜 無料 小学生」「近くの子ども食堂」.

parse(text, districts) finds, in this order: explicit dates (8/15, 8月15日), single ages (3歳), then the
vocabulary words (handlers/listing_vocab.yaml, kinds from handlers/places_vocab.yaml) and 地区 names, longest
first; each word found is cut out so a shorter one inside it does not fire too (こども食堂 is a kind, not also
「こども」). What is left, less filler words, is `words`, for a search in names and addresses.
No tokenizer: messages are short and the vocabulary is small; spaces are optional.
Used by places and events alike; each decides what a field means for it (events may read `kinds` as nothing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from handlers.nlu import normalise
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
                    or self.month_day)

    @property
    def has_filters(self) -> bool:
        return bool(self.has_day or self.free or self.age or self.kinds or self.districts or self.near_me
                    or self.children or self.words)

    def dates(self, today: date) -> tuple[date, ...]:
        """The days asked for, from `today` (Tokyo): 今日, 明日, the next 土曜 (today if it is Saturday), 8/15
        (this year, or next year once it has passed), 週末 (the coming Saturday and Sunday, or just today on a
        Sunday), 今週 (today to Sunday). Empty when no day was named."""
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
            return (today + timedelta(days=(self.day - today.weekday()) % 7),)
        if self.today:
            return (today,)
        if self.tomorrow:
            return (today + timedelta(days=1),)
        if self.weekend:
            if today.weekday() == 6:
                return (today,)
            sat = today + timedelta(days=(5 - today.weekday()) % 7)
            return (sat, sat + timedelta(days=1))
        if self.this_week:
            return tuple(today + timedelta(days=i) for i in range(7 - today.weekday()))
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
    return _Vocab(rewrites=rewrites, terms=tuple(terms),
                  age_units=tuple(normalise(u) for u in v.get("age_units") or ()),
                  noise=tuple(sorted((w for w in noise if len(w) > 1), key=len, reverse=True)),
                  particles="".join(w for w in noise if len(w) == 1))


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


def parse(text: str, districts=()) -> ListingQuery:
    """The filters in a resident's message. `districts`: 地区 rows (key, name, kana, aliases) or (key, name)."""
    v = vocab()
    s = _norm((text or "")[:MAX_CHARS], v.rewrites)
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

    words = _left_over(s, v)
    return ListingQuery(
        day=found.get("day"), month_day=found.get("month_day"), today=bool(found.get("today")),
        tomorrow=bool(found.get("tomorrow")), weekend=bool(found.get("weekend")),
        this_week=bool(found.get("this_week")), free=bool(found.get("free")), age=found.get("age"),
        kinds=tuple(found["kinds"]), districts=tuple(found["districts"]), near_me=bool(found.get("near_me")),
        children=bool(found.get("children")), words=words)


_SPLIT = re.compile(r"[\s、。,.!?！？・/／「」『』()（）\[\]【】〜~]+")
_KANA_ONLY = re.compile(r"[\u3041-\u309f]+")


def _left_over(s: str, v: _Vocab) -> tuple[str, ...]:
    for w in v.noise:
        if w in s:
            s = s.replace(w, " ")
    out: list[str] = []
    for piece in _SPLIT.split(s):
        if not _KANA_ONLY.fullmatch(piece):
            piece = piece.rstrip(v.particles)  # 「城山の」: a particle after a name
        elif len(piece) > 3 and piece[-1] in v.particles:
            piece = piece[:-1]  # 「ひまわりの」: one, and only after a word long enough to be a name
        # Two characters at least, and not a scrap of hiragana (particles, verb endings).
        if len(piece) < 2 or (_KANA_ONLY.fullmatch(piece) and len(piece) < 3):
            continue
        if piece not in out:
            out.append(piece)
    return tuple(out[:MAX_WORDS])
