"""Search the content itself when no intent is confident: plan projects, actions and 線表 rows, published
upcoming events, published places, volunteer opportunities with open future shifts, live surveys and FAQ
entries, ranked by BM25 (k1 1.2, b 0.75) over Sudachi's normalised words (bot/ja_text.py: 子ども / こども /
子供 are one word), so "バスが減って買い物が大変" can reach action 702 without any route naming it.

Why an in-memory index: a message must cost well under 10 ms with 20,000 events, and a LIKE over every table
cannot rank. The index lives per process (per database URL and city) and is rebuilt only when a cheap version
key changes (count, max id, max updated_at and title lengths per source; FAQ entries add the sum of their
revisions, bot/faq.version, so two edits in one clock instant are seen), checked at most every
CHECK_INTERVAL_S seconds, never per message; only the sources whose key changed are read again, and documents
whose row did not change keep their words (no second tokenising of 20,000 events). Time alone (an event
ending, a survey closing) needs no rebuild: each document keeps its validity window and a query drops what is
over.

Words: the content words of a text (ja_text.terms) plus character bigrams of its kanji / katakana runs at a
lower weight, so a word inside a compound (交通 in 公共交通) and a typo inside a kanji word (地産池消) still
count. The city's own words for its projects and actions (cities/<city>/synonyms.yaml) are part of those
documents, so the city, not this code, says that a nickname belongs to an action.
"""
from __future__ import annotations

import heapq
import logging
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import ja_text
from bot.clock import utc

log = logging.getLogger("kyodo.content_search")

K1, B = 1.2, 0.75
CHECK_INTERVAL_S = 30.0   # how often a query may look at the version keys (tests set 0)
BACKGROUND = True         # check and rebuild on a thread of its own (tests: in the query, to see changes at once)
LIMIT = 3                 # matches offered to the resident
MIN_SCORE = 4.0           # below this nothing is offered (calibrated on the Odawara plan; see the tests)
RATIO = 0.55              # a further match must score at least this share of the best one
BIGRAM_W = 0.3            # a character bigram counts this much of a whole word
MAX_QUERY_TERMS = 40
# A word in more than this share of all documents tells nothing (its idf is near 0) and would cost a walk over
# thousands of postings (イベント in every event's title): it is not scored.
MAX_DF_SHARE = 0.2
LONG_POSTING = 300        # see Index.scores
CANDIDATES = 40           # best-scored documents checked for validity before a full sort is needed
# Fields of a document and how much a word in each counts.
TITLE_W, BODY_W, CITY_WORDS_W = 2.0, 1.0, 1.5
# Kinds of documents, and how much each kind's score is worth: the plan's actions answer situations
# (a resident describing a need), so they come first when the evidence is alike.
KIND_BOOST = {"action": 1.3, "roadmap": 1.1, "project": 1.0, "faq": 1.3, "event": 0.9, "place": 0.9,
              "volunteer": 0.9, "survey": 0.9}
SOURCES = ("plan", "events", "places", "volunteer", "surveys", "faq")

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff々〆ヵヶ\u30a1-\u30faー]{2,}")


@dataclass(frozen=True)
class Match:
    kind: str       # action | project | event | place | volunteer | survey | faq
    ref: int        # action / project number, or the row's id
    title: str
    subtitle: str
    score: float


@dataclass
class Doc:
    kind: str                         # the document's own kind (a 線表 row is "roadmap")
    ref: int
    title: str
    subtitle: str
    stamp: object                     # the row's updated_at: a changed row is tokenised again
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    out_kind: str = ""                # what a match names (a 線表 row names its action)
    out_ref: int = 0
    tf: dict[str, float] = field(default_factory=dict)
    length: float = 0.0

    def __post_init__(self):
        self.out_kind = self.out_kind or self.kind
        self.out_ref = self.out_ref or self.ref


# -- words ----------------------------------------------------------------------------------------------------------

def words(text: str) -> Counter:
    """Weighted words of a text: content words (normalised) and bigrams of kanji / katakana runs."""
    out: Counter = Counter()
    if not text:
        return out
    for t in ja_text.terms(text):
        out[t] += 1.0
    for run in _RUN.findall(ja_text.clean(text)):
        for i in range(len(run) - 1):
            out["#" + run[i:i + 2]] += BIGRAM_W
    return out


def _fill(doc: Doc, fields: list[tuple[str, float]]) -> Doc:
    tf: Counter = Counter()
    for text, weight in fields:
        for w, n in words(text).items():
            tf[w] += n * weight
    doc.tf, doc.length = dict(tf), sum(tf.values())
    return doc


# -- the index --------------------------------------------------------------------------------------------------------

class Index:
    """BM25 over a fixed list of documents: idf over all of them, length normalised within each kind (an
    event's short title is not compared with an action's long 実施内容)."""

    def __init__(self, docs: list[Doc]):
        self.docs = docs
        raw: dict[str, list[tuple[int, float]]] = {}
        for i, d in enumerate(docs):
            for w, n in d.tf.items():
                raw.setdefault(w, []).append((i, n))
        n = len(docs)
        self.idf = {w: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for w, p in raw.items()}
        lengths: dict[str, list[float]] = {}
        for d in docs:
            lengths.setdefault(d.kind, []).append(d.length)
        avg = {k: (sum(v) / len(v)) or 1.0 for k, v in lengths.items()}
        # K1 * (1 - b + b * dl / avgdl), once per document
        norm = [K1 * (1 - B + B * d.length / avg[d.kind]) for d in docs]
        # Postings hold each document's BM25 term part, tf (k1 + 1) / (tf + norm), best first ("impact order").
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.maps: dict[str, dict[int, float]] = {}  # the same, by document, for the long lists
        for w, p in raw.items():
            scored = sorted(((i, tf * (K1 + 1) / (tf + norm[i])) for i, tf in p), key=lambda x: (-x[1], x[0]))
            self.postings[w] = scored
            if len(scored) > LONG_POSTING:
                self.maps[w] = dict(scored)
        self.max_df = max(50, int(n * MAX_DF_SHARE))
        # Validity windows as POSIX seconds: compared per candidate without datetime arithmetic.
        self.from_ts = [utc(d.valid_from).timestamp() if d.valid_from is not None else -math.inf for d in docs]
        self.until_ts = [utc(d.valid_until).timestamp() if d.valid_until is not None else math.inf for d in docs]

    def scores(self, query: Counter) -> dict[int, float]:
        """BM25 per document. Words are taken rarest first; a word found in more than LONG_POSTING documents adds
        to the documents already found and to its own LONG_POSTING best, not to each of its thousands (their
        order among themselves hardly matters and walking them costs milliseconds): bounded work per word."""
        acc: dict[int, float] = {}
        todo = sorted((len(p), w) for w in query if (p := self.postings.get(w)) and len(p) <= self.max_df)
        for n, w in todo:
            weight = self.idf[w] * query[w]
            posting = self.postings[w]
            if n <= LONG_POSTING:
                for i, c in posting:
                    acc[i] = acc.get(i, 0.0) + weight * c
                continue
            m = self.maps[w]
            for i in list(acc):
                c = m.get(i)
                if c is not None:
                    acc[i] += weight * c
            for i, c in posting[:LONG_POSTING]:
                if i not in acc:
                    acc[i] = weight * c
        return acc

    def _best(self, pool, t: float, kinds, limit: int) -> dict[tuple[str, int], tuple[float, Doc]]:
        """The best score per thing named (a 線表 row and its action are one), valid at `t`, in pool order."""
        best: dict[tuple[str, int], tuple[float, Doc]] = {}
        for s, i in pool:
            if s < MIN_SCORE or (best and len(best) >= limit and s < min(v[0] for v in best.values())):
                break
            d = self.docs[i]
            if not self.from_ts[i] <= t < self.until_ts[i]:
                continue
            if kinds is not None and d.out_kind not in kinds:
                continue
            key = (d.out_kind, d.out_ref)
            if key not in best or s > best[key][0]:
                best[key] = (s, d)
        return best

    def query(self, text: str, now: datetime, *, limit: int = LIMIT, kinds: tuple[str, ...] | None = None) -> list[Match]:
        q = words(text)
        if not q:
            return []
        if len(q) > MAX_QUERY_TERMS:
            q = Counter(dict(q.most_common(MAX_QUERY_TERMS)))
        t = utc(now).timestamp()
        acc = self.scores(q)
        boosted = ((s * KIND_BOOST.get(self.docs[i].kind, 1.0), i) for i, s in acc.items())
        # Usually the best few are valid: look at those first, and sort everything only when they are not.
        pool = heapq.nlargest(CANDIDATES, boosted) if len(acc) > CANDIDATES else sorted(boosted, reverse=True)
        best = self._best(pool, t, kinds, limit)
        floor = max([MIN_SCORE] + [v[0] * RATIO for v in best.values()])
        if len(best) < limit and len(pool) < len(acc) and pool[-1][0] >= floor:  # more could still qualify
            pool = sorted(((s * KIND_BOOST.get(self.docs[i].kind, 1.0), i) for i, s in acc.items()), reverse=True)
            best = self._best(pool, t, kinds, limit)
        ranked = sorted(best.values(), key=lambda x: (-x[0], x[1].out_kind, x[1].out_ref))
        if not ranked or ranked[0][0] < MIN_SCORE:
            return []
        top = ranked[0][0]
        out = []
        for s, d in ranked[:limit]:
            if s < MIN_SCORE or s < top * RATIO:
                break
            out.append(Match(d.out_kind, d.out_ref, d.title, d.subtitle, round(s, 3)))
        return out


# -- documents from each source ----------------------------------------------------------------------------------------

def _city_words(city: str) -> dict[str, dict[int, list[tuple[str, float]]]]:
    """cities/<city>/synonyms.yaml: the words the city gave each project and action, one text per weight
    ("a b" = all parts, "=w" = whole message only: for a document both are just words)."""
    import yaml

    from bot.plan_loader import default_plan_path

    path = Path(default_plan_path(city)).with_name("synonyms.yaml")
    out: dict[str, dict[int, list[tuple[str, float]]]] = {"projects": {}, "actions": {}}
    if not path.exists():
        return out
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for section in ("projects", "actions"):
        for no, by_weight in (data.get(section) or {}).items():
            if not isinstance(by_weight, dict):
                continue
            try:
                key = int(no)
                groups = [(" ".join(str(w).lstrip("=") for w in (items or [])), float(weight))
                          for weight, items in by_weight.items()]
            except (TypeError, ValueError):
                continue
            out[section][key] = [(text, min(1.0, max(0.0, w)) * CITY_WORDS_W) for text, w in groups]
    return out


def _synonyms_stamp(city: str) -> float:
    from bot.plan_loader import default_plan_path

    p = Path(default_plan_path(city)).with_name("synonyms.yaml")
    return p.stat().st_mtime if p.exists() else 0.0


def _plan_docs(db: Session, city: str) -> list[Doc]:
    from models import plan as P

    extra = _city_words(city)
    docs = []
    for p in P.projects(db, with_roadmap=True):
        label = f"プロジェクト{p.number} {p.name}"
        docs.append(_fill(Doc("project", p.number, label, p.goal[:60], p.updated_at),
                          [(f"{p.name} {p.short_name or ''}", TITLE_W), (p.goal, BODY_W),
                           *extra["projects"].get(p.number, [])]))
        for a in p.actions:
            title = f"アクション{a.number} {a.name}"
            docs.append(_fill(Doc("action", a.number, title, label, a.updated_at),
                              [(a.name, TITLE_W), (" ".join(a.details or []) + " " + (a.note or ""), BODY_W),
                               *extra["actions"].get(a.number, [])]))
            for r in a.roadmap:
                docs.append(_fill(Doc("roadmap", a.number * 1000 + r.position, title, r.text, r.updated_at,
                                      out_kind="action", out_ref=a.number), [(r.text, TITLE_W)]))
    return docs


def _district_names(db: Session) -> dict[str, str]:
    from models.plan import District

    return {k: n for k, n in db.execute(select(District.key, District.name))}


def _cached(old: dict[int, Doc], kind: str, ref: int, stamp, make) -> Doc:
    """The document as built before while its row is unchanged (same stamp: updated_at, or an FAQ entry's
    revision with it), else a new one."""
    d = old.get(ref)
    if d is not None and d.stamp == stamp and d.kind == kind:
        return d
    return make()


def _event_docs(db: Session, now: datetime, old: dict[int, Doc]) -> list[Doc]:
    from models.events import PUBLISHED, Event, EventOccurrence as O

    last = (select(O.event_id.label("eid"), func.min(O.starts_at).label("first"), func.max(O.ends_at).label("last"))
            .where(O.visible.is_(True), O.ends_at > utc(now)).group_by(O.event_id).subquery())
    rows = db.execute(select(Event.id, Event.title, Event.description, Event.place_name, Event.district, Event.tags,
                             Event.updated_at, last.c.last)
                      .join(last, last.c.eid == Event.id).where(Event.status == PUBLISHED))
    names = _district_names(db)
    docs = []
    for eid, title, desc, place, district, tags, stamp, until in rows:
        where = "・".join(x for x in (names.get(district or ""), place) if x)

        def make(eid=eid, title=title, desc=desc, place=place, tags=tags, stamp=stamp, where=where):
            return _fill(Doc("event", eid, title, where, stamp),
                         [(title, TITLE_W), (f"{desc or ''} {' '.join(map(str, tags or []))}", BODY_W),
                          (where, BODY_W)])
        d = _cached(old, "event", eid, stamp, make)
        d.valid_until = until
        docs.append(d)
    return docs


def _place_docs(db: Session, old: dict[int, Doc]) -> list[Doc]:
    from handlers.places_flex import KIND_LABELS  # the feature's labels (こども食堂, 学習支援 ...)
    from models.places import PUBLISHED, Place

    names = _district_names(db)
    rows = db.execute(select(Place.id, Place.name, Place.name_common, Place.kind, Place.district, Place.description,
                             Place.updated_at).where(Place.status == PUBLISHED))
    docs = []
    for pid, name, common, kind, district, desc, stamp in rows:
        label = KIND_LABELS.get(kind, "")
        sub = "・".join(x for x in (label, names.get(district, "")) if x)

        def make(pid=pid, name=name, common=common, desc=desc, stamp=stamp, sub=sub):
            return _fill(Doc("place", pid, name, sub, stamp),
                         [(f"{name} {common or ''}", TITLE_W), (f"{desc or ''} {sub}", BODY_W)])
        docs.append(_cached(old, "place", pid, stamp, make))
    return docs


def _volunteer_docs(db: Session, now: datetime, old: dict[int, Doc]) -> list[Doc]:
    from models.volunteer import OPEN, PUBLISHED, Opportunity, Shift

    last = (select(Shift.opportunity_id.label("oid"), func.max(Shift.starts_at).label("last"))
            .where(Shift.status == OPEN, Shift.starts_at > utc(now)).group_by(Shift.opportunity_id).subquery())
    rows = db.execute(select(Opportunity.id, Opportunity.title, Opportunity.description, Opportunity.place_name,
                             Opportunity.district, Opportunity.updated_at, last.c.last)
                      .join(last, last.c.oid == Opportunity.id).where(Opportunity.status == PUBLISHED))
    names = _district_names(db)
    docs = []
    for oid, title, desc, place, district, stamp, until in rows:
        where = "・".join(x for x in (names.get(district or ""), place) if x)

        def make(oid=oid, title=title, desc=desc, stamp=stamp, where=where):
            return _fill(Doc("volunteer", oid, title, where, stamp),
                         [(title, TITLE_W), (f"{desc or ''} ボランティア", BODY_W), (where, BODY_W)])
        d = _cached(old, "volunteer", oid, stamp, make)
        d.valid_until = until
        docs.append(d)
    return docs


def _survey_docs(db: Session, now: datetime, old: dict[int, Doc]) -> list[Doc]:
    from models.surveys import OPEN, Survey

    rows = db.execute(select(Survey.id, Survey.title, Survey.intro, Survey.updated_at, Survey.opens_at,
                             Survey.closes_at).where(Survey.status == OPEN, Survey.closes_at > utc(now)))
    docs = []
    for sid, title, intro, stamp, opens, closes in rows:
        def make(sid=sid, title=title, intro=intro, stamp=stamp):
            return _fill(Doc("survey", sid, title, "アンケート", stamp),
                         [(title, TITLE_W), (f"{intro or ''} アンケート", BODY_W)])
        d = _cached(old, "survey", sid, stamp, make)
        d.valid_from, d.valid_until = opens, closes
        docs.append(d)
    return docs


def _faq_docs(db: Session, old: dict[int, Doc]) -> list[Doc]:
    from models.faq import FaqEntry

    docs = []
    for e in db.scalars(select(FaqEntry).where(FaqEntry.status == "published")):
        examples = e.examples if isinstance(e.examples, list) else str(e.examples or "").splitlines()

        stamp = (e.revision, e.updated_at)  # the revision tells two saves in one instant apart

        def make(e=e, examples=examples, stamp=stamp):
            return _fill(Doc("faq", e.id, e.question, (e.answer or "")[:60], stamp),
                         [(e.question, TITLE_W), (" ".join(map(str, examples)), TITLE_W), (e.answer or "", BODY_W)])
        docs.append(_cached(old, "faq", e.id, stamp, make))
    return docs


# -- versions: has anything changed? -----------------------------------------------------------------------------------

def _table_key(db: Session, model, title_col=None, where=None) -> tuple:
    cols = [func.count(), func.max(model.id), func.max(model.updated_at)]
    if title_col is not None:
        cols.append(func.sum(func.length(title_col)))
    stmt = select(*cols).select_from(model)
    if where is not None:
        stmt = stmt.where(where)
    return tuple(str(v) for v in db.execute(stmt).one())


def versions(db: Session, city: str) -> dict[str, tuple]:
    """One cheap key per source: a change to any row (added, edited, withdrawn, deleted) changes it."""
    from bot import faq
    from models.events import Event, EventOccurrence
    from models.places import Place
    from models.plan import Action, PlanInfo, Project, RoadmapItem
    from models.surveys import Survey
    from models.volunteer import Opportunity, Shift

    return {
        "plan": (_table_key(db, Project, Project.name), _table_key(db, Action, Action.name),
                 _table_key(db, RoadmapItem, RoadmapItem.text), str(db.scalar(select(PlanInfo.updated_at))),
                 _synonyms_stamp(city)),
        "events": (_table_key(db, Event),
                   tuple(str(v) for v in db.execute(select(func.max(EventOccurrence.id))).one())),
        "places": (_table_key(db, Place),),
        "volunteer": (_table_key(db, Opportunity, Opportunity.title), _table_key(db, Shift)),
        "surveys": (_table_key(db, Survey, Survey.title),),
        "faq": faq.version(db),  # with the entries' revisions: an edit in the same instant as another is seen
    }


def _build_source(name: str, db: Session, city: str, now: datetime, old: list[Doc]) -> list[Doc]:
    by_ref = {d.ref: d for d in old}
    if name == "plan":
        return _plan_docs(db, city)
    if name == "events":
        return _event_docs(db, now, by_ref)
    if name == "places":
        return _place_docs(db, by_ref)
    if name == "volunteer":
        return _volunteer_docs(db, now, by_ref)
    if name == "surveys":
        return _survey_docs(db, now, by_ref)
    return _faq_docs(db, by_ref)


# -- the per-process index ------------------------------------------------------------------------------------------

class _Holder:
    def __init__(self):
        self.lock = threading.Lock()
        self.index: Index | None = None
        self.versions: dict[str, tuple] = {}
        self.docs: dict[str, list[Doc]] = {}
        self.checked = -math.inf
        self.build_s = 0.0
        self.thread: threading.Thread | None = None


_holders: dict[tuple[str, str], _Holder] = {}
_holders_lock = threading.Lock()


def _holder(db: Session, city: str) -> _Holder:
    key = (db.get_bind().url.render_as_string(hide_password=True), city)
    h = _holders.get(key)
    if h is None:
        with _holders_lock:
            h = _holders.setdefault(key, _Holder())
    return h


def invalidate() -> None:
    """Forget every index of this process (tests; a rebuild follows at the next query)."""
    with _holders_lock:
        _holders.clear()


def _refresh(h: _Holder, db: Session, city: str, now: datetime) -> None:
    """Compare the version keys and rebuild the sources that changed (the caller holds h.lock)."""
    t0 = time.perf_counter()
    current = versions(db, city)
    changed = [s for s in SOURCES if current.get(s) != h.versions.get(s) or s not in h.docs]
    if changed or h.index is None:
        docs = dict(h.docs)
        for s in changed:
            docs[s] = _build_source(s, db, city, now, h.docs.get(s, []))
        h.index = Index([d for s in SOURCES for d in docs.get(s, [])])
        h.docs, h.versions = docs, current
        h.build_s = time.perf_counter() - t0
        log.info("content index rebuilt: sources=%s docs=%d in %.0f ms", ",".join(changed), len(h.index.docs),
                 h.build_s * 1000)
    h.checked = time.monotonic()


def _refresh_in_background(h: _Holder, engine, city: str, now: datetime) -> None:
    """Check (and rebuild) on a thread of its own with its own session: the message that found the check due
    is answered from the current index at once, and the next ones get the new index when it is ready."""
    if not h.lock.acquire(blocking=False):
        return  # a refresh is already running
    h.checked = time.monotonic()  # no second thread for the same check

    def run():
        try:
            with Session(engine) as db:
                _refresh(h, db, city, now)
        except Exception as exc:  # noqa: BLE001 - the old index keeps answering; tried again after the interval
            log.warning("content index refresh failed (%s)", type(exc).__name__)
        finally:
            h.lock.release()

    h.thread = threading.Thread(target=run, name="content-index", daemon=True)
    h.thread.start()


def index(db: Session, now: datetime, city: str = "odawara") -> Index:
    """This process's index for the session's database. The first call builds it; after that the version keys
    are checked at most every CHECK_INTERVAL_S seconds, in the background (BACKGROUND, the default) or, for
    tests, in this call; only the sources that changed are rebuilt."""
    h = _holder(db, city)
    if h.index is not None and time.monotonic() - h.checked < CHECK_INTERVAL_S:
        return h.index
    if h.index is not None and BACKGROUND:
        _refresh_in_background(h, db.get_bind(), city, now)
        return h.index
    with h.lock:
        if h.index is None or time.monotonic() - h.checked >= CHECK_INTERVAL_S:
            _refresh(h, db, city, now)
        return h.index


def warm(db: Session, now: datetime, city: str = "odawara") -> float:
    """Build the index now (a worker at start-up: its first resident should not wait); returns the seconds."""
    t0 = time.perf_counter()
    index(db, now, city)
    return time.perf_counter() - t0


def search(db: Session, text: str, now: datetime, *, city: str = "odawara", limit: int = LIMIT,
           kinds: tuple[str, ...] | None = None) -> list[Match]:
    """Up to `limit` matches for a resident's text, best first; [] when nothing scores well enough."""
    if not text or not text.strip():
        return []
    return index(db, now, city).query(text, now, limit=limit, kinds=kinds)


def stats(db: Session, city: str = "odawara") -> dict:
    h = _holder(db, city)
    return {"docs": len(h.index.docs) if h.index else 0, "build_s": h.build_s,
            "by_source": {s: len(v) for s, v in h.docs.items()}}


__all__ = ["CHECK_INTERVAL_S", "Index", "Match", "index", "invalidate", "search", "stats", "versions", "warm", "words"]
