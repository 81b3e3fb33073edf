"""FAQ matching and the not-understood list (step 10).

`match(db, text)`: which published FAQ entry a resident's message asks, if any. Each entry's question and
example phrasings are turned into weighted features and compared with the message by cosine similarity; an
entry scores its best phrasing. Features, from bot.ja_text (Sudachi, loaded once per process):
  - content words in normalised form (子ども / こども / 子供 are one word), weight 1;
  - character bigrams of those words' kana readings (粗大ゴミ / 粗大塵 / そだいごみ share そだ, だい, ごみ;
    受け取り / 受け取る share most), weight BIGRAM_WEIGHT: paraphrases rarely repeat the same word forms;
  - the kanji of those words (出し方 / 出す share 出), weight KANJI_WEIGHT;
each scaled by an idf over the entries' phrasings. The index is built once per process and rebuilt when the
entries change, noticed by one aggregate query (`version`: count, max id, sum of revisions ...). `split` tells
how much of a match rests on words that name a menu feature (handlers/faq.weigh sets an entry against the
classifier's route with it).

`phrase_route(db, text)`: the intent and target staff gave a resident's wording in the admin (「言い換えとして登録」),
tried by the router before the classifier. A message matches a phrase when its folded form (handlers.nlu.fold
with the city's spelling rewrites) is the same, also after trailing fillers (について教えて ...) are cut off either.
The phrases are held per process and re-read when (count, max id) of the table moves: ids are never reused
(models/faq.py), so an add or a delete is always noticed.

Both copies ask for their version at most every CHECK_INTERVAL_S seconds, not on every typed message (the router
consults both for each one); the admin calls `forget()` after a change, so the process that made it asks at its
next message, and every other process within the interval.

`record_miss(db, text, now)`: one row per normalised text with a count (INSERT ... ON CONFLICT on both
databases), in the caller's transaction. Nothing about the resident is stored; digits that could be a phone
number and e-mail addresses are masked, and texts that are only numbers or symbols are skipped.
"""
from __future__ import annotations

import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import jaconv
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import ja_text
from models.faq import MISS_MAX, PUBLISHED, FaqEntry, NluMiss, NluPhrase

THRESHOLD = 0.45      # cosine below this: not this entry (tuned in tests/test_faq_match.py)
MARGIN = 0.08         # two entries closer than this and both weak: neither (a wrong answer is worse than none)
SURE = 0.7            # ... unless the best is at least this
SUGGEST = 0.1         # the admin preselects the closest entry from this score (a courtesy, staff choose)
BIGRAM_WEIGHT = 0.7
KANJI_WEIGHT = 0.5
KEEP_DAYS = 90        # scheduler/faq_jobs.py deletes misses not seen for this long

_KANJI = re.compile(r"[\u4e00-\u9fff\u3005]")
_KANA = re.compile(r"[\u3041-\u309f\u30fcー]+")


# --- features -------------------------------------------------------------------------------------------------

# Question words and fillers that say nothing about which entry is meant (normalised forms).
_FILLERS = frozenset("どう 如何 遣る やる どうやって どの 何処 いつ 何時頃 ちょっと 一寸 知りたい".split())
_INFLECTING = ("動詞", "形容詞")


def _reading(t: ja_text.Token) -> str:
    """The kana of a word; for a verb or adjective the part every form shares (出し / 出す -> だ, 捨て / 捨てる ->
    すて, 受け取れ / 受け取る -> うけと): what the surface has in common with the dictionary form, and one kana
    less when the surface is the dictionary form itself."""
    reading = jaconv.kata2hira(t.reading or "")
    if not reading or not _KANA.fullmatch(reading):
        reading = jaconv.kata2hira(unicodedata.normalize("NFKC", t.surface).lower())
    if t.pos in _INFLECTING:
        common = 0
        while common < min(len(t.surface), len(t.base)) and t.surface[common] == t.base[common]:
            common += 1
        cut = len(t.surface) - common or 1
        if cut < len(reading):
            reading = reading[:-cut]
    return reading


def features(text: str, leave_out: Callable[[ja_text.Token], bool] | None = None) -> dict[str, float]:
    """Raw feature weights of a text (before idf): words, reading bigrams, kanji. Words `leave_out` picks count
    for nothing, like a particle (`split`)."""
    out: dict[str, float] = {}

    def add(key: str, w: float) -> None:
        out[key] = out.get(key, 0.0) + w

    runs: list[str] = [""]
    for t in ja_text.tokens(text):
        word = t.norm.lower()
        if (t.pos not in ja_text.CONTENT_POS or word in ja_text.STOP or word in _FILLERS
                or (len(word) == 1 and "\u3041" <= word <= "\u309f") or (leave_out is not None and leave_out(t))):
            if runs[-1]:
                runs.append("")  # a particle between two words: no bigram across it
            continue
        add("w:" + word, 1.0)
        runs[-1] += _reading(t)
        for ch in _KANJI.findall(t.surface):
            add("k:" + ch, KANJI_WEIGHT)
    for run in runs:
        grams = [run[i:i + 2] for i in range(len(run) - 1)] or ([run] if run else [])
        for gram in grams:
            add("b:" + gram, BIGRAM_WEIGHT)
    return out


@dataclass(frozen=True)
class _Phrasing:
    entry_id: int
    vector: dict[str, float]  # idf-weighted, unit length


@dataclass(frozen=True)
class _Index:
    key: tuple
    idf: dict[str, float]
    default_idf: float
    phrasings: tuple[_Phrasing, ...]
    postings: dict[str, tuple[tuple[int, float], ...]]  # feature -> (phrasing number, weight): a message
    # touches only the phrasings sharing a feature with it


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {k: v / norm for k, v in vec.items()} if norm else {}


def build_index(entries: list[tuple[int, list[str]]], key: tuple = ()) -> _Index:
    """entries: (id, [question, example, ...]). Public for the tests."""
    raw = [(eid, features(p)) for eid, phrasings in entries for p in phrasings if p and p.strip()]
    n = len(raw)
    df: dict[str, int] = {}
    for _eid, feats in raw:
        for f in feats:
            df[f] = df.get(f, 0) + 1
    # A smooth idf: the collection is small (tens of entries), so a word in every phrasing still counts a little.
    idf = {f: 1.0 + math.log((n + 1) / (d + 0.5)) for f, d in df.items()}
    default_idf = 1.0 + math.log((n + 1) / 0.5)
    phrasings = [_Phrasing(eid, _unit({f: w * idf[f] for f, w in feats.items()})) for eid, feats in raw]
    # Each entry once more as all its phrasings together: a message may take words from two of them.
    combined: dict[int, dict[str, float]] = {}
    for p in phrasings:
        acc = combined.setdefault(p.entry_id, {})
        for f, w in p.vector.items():
            acc[f] = acc.get(f, 0.0) + w
    phrasings += [_Phrasing(eid, _unit(vec)) for eid, vec in combined.items()]
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, p in enumerate(phrasings):
        for f, w in p.vector.items():
            postings.setdefault(f, []).append((i, w))
    return _Index(key, idf, default_idf, tuple(phrasings), {f: tuple(v) for f, v in postings.items()})


def _query(index: _Index, feats: dict[str, float]) -> dict[str, float]:
    return _unit({f: w * index.idf.get(f, index.default_idf) for f, w in feats.items()})


def rank(index: _Index, text: str) -> list[tuple[int, float]]:
    """(entry id, best cosine over its phrasings and their sum) for every entry sharing a feature with `text`,
    best first."""
    query = _query(index, features(text))
    if not query:
        return []
    scores: dict[int, float] = {}
    for f, w in query.items():
        for i, pw in index.postings.get(f, ()):
            scores[i] = scores.get(i, 0.0) + w * pw
    best: dict[int, float] = {}
    for i, score in scores.items():
        eid = index.phrasings[i].entry_id
        if score > best.get(eid, 0.0):
            best[eid] = score
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


def decide(ranked: list[tuple[int, float]]) -> tuple[int, float] | None:
    """The entry a message asks, or None when none is close enough or two are too close to tell."""
    if not ranked or ranked[0][1] < THRESHOLD:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < MARGIN and ranked[0][1] < SURE:
        return None
    return ranked[0]


def split(index: _Index, text: str, entry_id: int, claimed: Callable[[ja_text.Token], bool]) -> tuple[float, float]:
    """(cosine, own): the message's cosine with the entry's best phrasing, and the part of that sum carried by the
    features of words `claimed` does not pick (handlers/faq.py: the words that name a menu feature on their own).
    「こども食堂はお金がかかりますか」 against 「こども食堂の利用にお金はかかりますか」: こども食堂 is claimed, お金
    and かかる are the entry's own. When no word of the message is claimed, own is 0: what made the claim is not in
    its words, so none of the match can be told apart from it."""
    feats = features(text)  # read once: the query and the unclaimed part both come from it
    query = _query(index, feats)
    mine = features(text, leave_out=claimed)
    none_claimed = mine == feats
    best = (0.0, 0.0)
    for p in index.phrasings:
        if p.entry_id != entry_id:
            continue
        cosine = sum(w * p.vector.get(f, 0.0) for f, w in query.items())
        if cosine > best[0]:
            own = 0.0 if none_claimed else sum(w * p.vector.get(f, 0.0) for f, w in query.items() if f in mine)
            best = (cosine, own)
    return best


# --- the per-process copies -------------------------------------------------------------------------------------

CHECK_INTERVAL_S = 30.0  # how often a process may ask the database whether its copies are stale (tests set 0)
_lock = threading.Lock()
_generation = 0  # bumped by forget(): a change made in this process is seen at the next message


@dataclass(frozen=True)
class _Copy:
    key: tuple        # the version it was read at
    value: object
    generation: int
    checked: float    # time.monotonic() of the version query


_indexes: dict[str, _Copy] = {}
_phrases: dict[str, _Copy] = {}


def forget() -> None:
    """The admin calls this after a change to entries or phrases: this process asks for the version at its next
    message instead of waiting for CHECK_INTERVAL_S (other processes notice within that interval)."""
    global _generation
    with _lock:
        _generation += 1


def _current(store: dict[str, _Copy], db: Session, version_of, read):
    """This process's copy for the session's database: the version is asked for at most every CHECK_INTERVAL_S
    (a typed message would otherwise pay one query per copy), or at once after forget(); `read(db, key)` runs only
    when the version moved."""
    where = db.get_bind().url.render_as_string(hide_password=True)
    generation, now = _generation, time.monotonic()
    copy = store.get(where)
    if copy is not None and copy.generation == generation and now - copy.checked < CHECK_INTERVAL_S:
        return copy.value
    key = version_of(db)
    value = copy.value if copy is not None and copy.key == key else read(db, key)
    with _lock:
        store[where] = _Copy(key, value, generation, now)
    return value


def version(db: Session) -> tuple:
    """One aggregate over the entries that changes whenever one is added, edited, published, unpublished or
    deleted: the revisions' sum goes up with every save (bot/admin/views_faq.touch), so two edits in the same
    clock instant are told apart, which updated_at alone cannot. This index and bot/content_search.py read it."""
    published = func.sum(case((FaqEntry.status == PUBLISHED, 1), else_=0))
    row = db.execute(select(func.count(), func.max(FaqEntry.id), func.sum(FaqEntry.revision), published,
                            func.max(FaqEntry.updated_at))).one()
    return tuple(str(v) for v in row)


def _read_index(db: Session, key: tuple) -> _Index:
    rows = db.execute(select(FaqEntry.id, FaqEntry.question, FaqEntry.examples)
                      .where(FaqEntry.status == PUBLISHED).order_by(FaqEntry.id)).all()
    return build_index([(eid, [q, *(ex or [])]) for eid, q, ex in rows], key)


def index_for(db: Session) -> _Index:
    return _current(_indexes, db, version, _read_index)


def match(db: Session, text: str) -> tuple[FaqEntry, float] | None:
    """The published entry the message asks, and its score; None when no entry is close enough."""
    if not text or not text.strip():
        return None
    index = index_for(db)
    if not index.phrasings:
        return None
    found = decide(rank(index, text))
    if found is None:
        return None
    entry = db.get(FaqEntry, found[0])
    if entry is None or entry.status != PUBLISHED:  # changed since the version was read
        return None
    return entry, found[1]


def suggest(db: Session, text: str, entries: list[FaqEntry]) -> int | None:
    """The entry (drafts included) a not-understood text is most like: preselected when staff add it as a
    phrasing. None when nothing is alike."""
    idx = build_index([(e.id, [e.question, *(e.examples or [])]) for e in entries])
    ranked = rank(idx, text)
    return ranked[0][0] if ranked and ranked[0][1] >= SUGGEST else None


# --- phrases staff taught the router ---------------------------------------------------------------------------

Route = tuple[str, "str | None"]


def phrase_keys(text: str) -> tuple[str, ...]:
    """The forms a text is compared by: the classifier's own (handlers.nlu.lookup_forms), so a phrase and a
    message fold alike."""
    from handlers import nlu

    return nlu.lookup_forms(text)


def _phrases_version(db: Session) -> tuple:
    """(count, max id): phrases are only added and deleted and ids are never reused (models/faq.py)."""
    count, top = db.execute(select(func.count(), func.max(NluPhrase.id))).one()
    return int(count or 0), int(top or 0)


def _read_phrases(db: Session, key: tuple) -> dict[str, Route]:
    table: dict[str, Route] = {}
    if key[0]:
        rows = db.execute(select(NluPhrase.text, NluPhrase.intent, NluPhrase.target).order_by(NluPhrase.id)).all()
        keyed = [(phrase_keys(text), (intent, target)) for text, intent, target in rows]
        for position in (0, 1):
            for keys, route in keyed:
                if len(keys) > position:
                    table.setdefault(keys[position], route)
    return table


def phrase_table(db: Session) -> dict[str, Route]:
    """Folded key -> (intent, target) of every phrase; a phrase's full form wins over another's shortened one,
    and an older phrase over a newer one."""
    return _current(_phrases, db, _phrases_version, _read_phrases)


def phrase_route(db: Session, text: str) -> Route | None:
    """(intent, target) when the message is a wording staff registered; None otherwise (the classifier decides)."""
    if not text or not text.strip():
        return None
    table = phrase_table(db)
    if not table:
        return None
    for k in phrase_keys(text):
        if (route := table.get(k)) is not None:
            return route
    return None


# --- the not-understood list -----------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = re.compile(r"\d(?:[\d\-‐ ]{5,})\d")  # phone, postal and card numbers
_LETTER = re.compile(r"[^\W\d_]")


def miss_text(text: str) -> str | None:
    """What is stored for a not-understood message: its normalised form with e-mail addresses and long numbers
    masked; None when there is nothing to learn from it (empty, only digits or symbols, over MISS_MAX)."""
    from handlers.nlu import normalise  # the router's normal form: the same text aggregates as one row

    s = normalise(text)
    if not s or len(s) > MISS_MAX or not _LETTER.search(s):
        return None
    s = _EMAIL.sub("＊", s)
    s = _LONG_NUMBER.sub("＊", s)
    return s if _LETTER.search(s) else None


def record_miss(db: Session, text: str, now: datetime) -> bool:
    """Count one not-understood message (upsert on the text; the caller commits). True if recorded."""
    s = miss_text(text)
    if s is None:
        return False
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(NluMiss).values(text=s, count=1, first_seen=now, last_seen=now)
    db.execute(stmt.on_conflict_do_update(index_elements=[NluMiss.text],
                                          set_={"count": NluMiss.count + 1, "last_seen": now}))
    return True


def purge_misses(db: Session, now: datetime, days: int = KEEP_DAYS) -> int:
    """Delete misses not seen for `days`; returns how many (the caller commits)."""
    result = db.execute(delete(NluMiss).where(NluMiss.last_seen < now - timedelta(days=days))
                        .execution_options(synchronize_session=False))
    return result.rowcount or 0
