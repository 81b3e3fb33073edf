"""イベント on LINE: find events (this week, this weekend, by 地区, by project, for children, free, words),
see one in detail, sign up (参加する, asked once), add it to a calendar; 申込状況 is handlers/registrations.py.

Searches are bot/event_search.find_events. A search's filters travel in its postback (short keys, below), so
もっと見る pages on with the same search and the next offset: LINE shows at most 12 bubbles per carousel. The
keys places read alike (ages, near) and the 地区 names are handlers/listing_common.py.
Sign-up is bot/registrations.register with the webhook event's timestamp as the arrival time, so the waitlist
is in the order residents tapped, whatever order the events were processed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError

from bot.event_notices import reminder_due  # the import registers the "event" promotion notifier
from bot import registrations as R
from bot.clock import to_tokyo, utc
from bot.event_search import day_range, find_events, this_week, this_weekend
from handlers import events_flex as F
from handlers import listing_common as L
from handlers import nlu, registrations, ui
from handlers.context import Ctx, raw_text
from handlers.flex import flex_message, list_page, qlabel, tail_quick
from handlers.listing_common import MAX_WORDS_CHARS, ShortParams, ages_param, district_names
from handlers.listing_query import parse
from handlers.menu import main_menu_quick
from models import plan as P
from models.events import VISIBLE, Event, EventOccurrence
from models.registrations import CANCELLED, WAITLISTED, Registration

T = F.T
PAGE = 10          # events per page: the carousel keeps room for もっと見る
KIND = "event"
# this week, this weekend, next week, next weekend, this month, today, tomorrow
RANGES = ("wk", "we", "nw", "nwe", "mo", "td", "tm")
RANGE_LABELS = {"wk": "今週", "we": "今週末", "nw": "来週", "nwe": "来週末", "mo": "今月", "td": "今日", "tm": "明日"}
RANGE_WORDS = {"next_week": "nw", "month": "mo"}


# -- the search a postback carries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Search(ShortParams):
    """Filters with the short keys of their postback (never "a" or "v": bot.postback's own); params() gives them."""

    r: str | None = None   # range: one of RANGES, or a day as YYYYMMDD
    d: str | None = None   # 地区 key
    p: int | None = None   # project number
    c: bool = False        # for children
    f: bool = False        # free
    ag: str | None = None  # ages "6-12"
    q: str | None = None   # words
    n: str | None = None   # near "lat,lon"
    o: int = 0             # offset

    @classmethod
    def from_postback(cls, pb) -> "Search":
        def s(key, n=40):
            v = pb.get(key)
            return v[:n] if v else None

        r = s("r", 8)
        if r is not None and r not in RANGES and not re.fullmatch(r"20\d{6}", r):
            r = None
        return cls(r=r, d=s("d", 64), p=pb.int("p"), c=pb.get("c") == "1", f=pb.get("f") == "1",
                   ag=s("ag", 7) if s("ag", 7) and re.fullmatch(r"\d{1,2}-\d{1,2}", s("ag", 7)) else None,
                   q=s("q", MAX_WORDS_CHARS), n=s("n", 40), o=max(0, min(pb.int("o", 0) or 0, 10_000)))


def _range(r: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    if r is None:
        return None, None
    today = to_tokyo(now).date()
    if r == "wk":
        return this_week(now)
    if r == "we":
        return this_weekend(now)
    if r in ("nw", "nwe"):  # next week is Monday to Sunday (handlers/listing_query reads 来週 the same way)
        monday = today + timedelta(days=7 - today.weekday())
        first = monday + timedelta(days=5 if r == "nwe" else 0)
        return day_range(first)[0], day_range(monday + timedelta(days=6))[1]
    if r == "mo":
        first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return utc(now), day_range(first_next)[0]
    if r == "td":
        return utc(now), day_range(today)[1]
    if r == "tm":
        return day_range(today + timedelta(days=1))
    try:
        return day_range(date(int(r[:4]), int(r[4:6]), int(r[6:8])))
    except ValueError:
        return None, None


def _project_names(ctx: Ctx) -> dict[int, str]:
    return {p.number: p.display_short for p in P.projects(ctx.db)}


def _label(ctx: Ctx, s: Search) -> str:
    parts = []
    if s.r in RANGE_LABELS:
        parts.append(RANGE_LABELS[s.r])
    elif s.r:
        lo, _ = _range(s.r, ctx.now)
        parts.append(F.day_text(lo, ctx.now) if lo else "")
    if s.d:
        parts.append(T["district"].format(name=district_names(ctx.db).get(s.d, s.d)))
    if s.p is not None:
        parts.append(_project_names(ctx).get(s.p, f"プロジェクト{s.p}"))
    if s.n:
        parts.append("近く")
    if s.ag:
        lo, hi = L.ages(s.ag)
        parts.append(F.ages_text(lo, hi) + "向け")
    elif s.c:
        parts.append("こども向け")
    if s.f:
        parts.append("無料")
    if s.q:
        parts.append(f"「{s.q}」")
    parts = [p for p in parts if p]
    return ("・".join(parts) + "のイベント") if parts else T["label_upcoming"]


# -- views -------------------------------------------------------------------------------------------------------------

def _menu_quick() -> list[dict]:
    return tail_quick(
        ui.postback(T["btn_week"], "events.find", "今週のイベント", r="wk"),
        ui.postback(T["btn_weekend"], "events.find", "今週末のイベント", r="we"),
        ui.postback(T["btn_district"], "events.pick", "地区からイベントを探す", k="d"),
        ui.postback(T["btn_project"], "events.pick", "プロジェクトからイベントを探す", k="p"),
        ui.postback(T["btn_children"], "events.find", "こども向けのイベント", c=1),
        ui.postback(T["btn_regs"], "regs"),
    )


def show_menu(ctx: Ctx) -> list[dict]:
    return [ui.text(T["intro"], _menu_quick())]


def _my_registrations(ctx: Ctx, event_ids: list[int]) -> dict[int, tuple[Registration, int | None]]:
    """The resident's live registrations for these events (one query; positions for the waitlisted)."""
    if ctx.user is None or not event_ids:
        return {}
    rows = ctx.db.execute(select(R.RegistrationSlot.ref_id, Registration)
                          .join(Registration, Registration.slot_id == R.RegistrationSlot.id)
                          .where(R.RegistrationSlot.kind == KIND, R.RegistrationSlot.ref_id.in_(event_ids),
                                 Registration.user_id == ctx.user.id, Registration.status != CANCELLED)).all()
    return {ref: (reg, R.waitlist_position(ctx.db, reg) if reg.status == WAITLISTED else None) for ref, reg in rows}


def _base(ctx: Ctx) -> str:
    return (getattr(ctx.config, "public_base_url", "") or "http://127.0.0.1:5000").rstrip("/")


def run_search(ctx: Ctx, s: Search, *, lead: str | None = None) -> list[dict]:
    start, end = _range(s.r, ctx.now)
    near = L.near(s.n)
    kw = dict(now=ctx.now, start=start, end=end, districts=(s.d,) if s.d else (),
              projects=(s.p,) if s.p is not None else (), children=s.c, free=s.f, age=L.ages(s.ag), near=near)
    hits = find_events(ctx.db, text=s.q, limit=PAGE + 1, offset=s.o, **kw)
    if not hits and s.q and s.o == 0:
        # Words nothing matched: say so, and show what the other filters find (named, 「今週末のイベント」).
        rest = replace(s, q=None)
        return run_search(ctx, rest, lead=T["none_words"].format(words=s.q, label=_label(ctx, rest)))
    label = _label(ctx, s)
    if not hits:
        body = T["no_more"] if s.o else T["none"].format(label=label)
        return [ui.text("\n".join(x for x in (lead, body) if x), _menu_quick())]
    more, hits = len(hits) > PAGE, hits[:PAGE]
    names = district_names(ctx.db)
    mine = _my_registrations(ctx, [h.event.id for h in hits])
    bubbles = []
    for h in hits:
        reg, pos = mine.get(h.event.id, (None, None))
        bubbles.append(F.event_bubble(h.event, h.occurrence, now=ctx.now, km=h.km, registration=reg, position=pos,
                                      district_name=names.get(h.event.district or ""), base_url=_base(ctx)))
    nxt = replace(s, o=s.o + PAGE)
    first, last = s.o + 1, s.o + len(hits)
    intro = T["results"].format(label=label, first=first, last=last) if (more or s.o or len(hits) > 1) \
        else T["results_one"].format(label=label)
    next_page = (F.more_bubble(s.o + PAGE + 1, "events.find", nxt.params()),
                 ui.postback(T["btn_more"], "events.find", T["btn_more"], **nxt.params())) if more else None
    return list_page("\n".join(x for x in (lead, intro) if x), label[:300], bubbles, _menu_quick(), next_page)


def find(ctx: Ctx) -> list[dict]:
    return run_search(ctx, Search.from_postback(ctx.postback))


def pick(ctx: Ctx) -> list[dict]:
    """地区から / プロジェクトから: the ones with events to come, with how many."""
    O = EventOccurrence
    live = [O.visible.is_(True), O.ends_at > utc(ctx.now)]
    if ctx.postback.get("k") == "p":
        names = _project_names(ctx)
        rows = ctx.db.execute(select(Event.project, func.count(distinct(O.event_id))).join(O.event)
                              .where(*live, Event.status.in_(VISIBLE), Event.project.is_not(None))
                              .group_by(Event.project).order_by(Event.project)).all()
        items = [ui.postback(qlabel(no, f"{names.get(no, '')}（{n}）"), "events.find",
                             f"{names.get(no, f'プロジェクト{no}')}のイベント", p=no)
                 for no, n in rows if no in names][:11]
        if not items:
            return [ui.text(T["pick_none_project"], _menu_quick())]
        return [ui.text(T["pick_project"], tail_quick(*items))]
    counts = dict(ctx.db.execute(select(O.district, func.count(distinct(O.event_id)))
                                 .where(*live, O.district.is_not(None)).group_by(O.district)).all())
    found = [(d, counts[d.key]) for d in P.districts(ctx.db) if counts.get(d.key)]
    if not found:
        return [ui.text(T["pick_none_district"], _menu_quick())]
    actions = [(f"{d.name}（{n}）", ui.postback(f"{d.name}（{n}）", "events.find", f"{d.name}地区のイベント", d=d.key))
               for d, n in found]
    if len(actions) <= 11:  # quick replies while they fit, else a bubble of cells
        return [ui.text(T["pick_district"], tail_quick(*(a for _, a in actions)))]
    bub = F.chooser_bubble(T["pick_district"], actions[:40])
    return ui.with_quick([flex_message(T["btn_district"], [bub])], _menu_quick())


# -- one event ---------------------------------------------------------------------------------------------------------

def _event(ctx: Ctx) -> Event | None:
    ev_id = ctx.postback.int("id") if ctx.postback is not None else None
    ev = ctx.db.get(Event, ev_id) if ev_id is not None and 0 < ev_id < 2 ** 63 else None
    return ev if ev is not None and ev.status in VISIBLE else None


def _occurrence(ctx: Ctx, event: Event) -> EventOccurrence | None:
    """The occurrence the button named, else the next not yet ended, else the last."""
    o = ctx.postback.int("o") if ctx.postback is not None else None
    if o is not None and 0 < o < 2 ** 63:
        occ = ctx.db.get(EventOccurrence, o)
        if occ is not None and occ.event_id == event.id:
            return occ
    O = EventOccurrence
    occ = ctx.db.scalar(select(O).where(O.event_id == event.id, O.ends_at > utc(ctx.now)).order_by(O.starts_at).limit(1))
    return occ or ctx.db.scalar(select(O).where(O.event_id == event.id).order_by(O.starts_at.desc()).limit(1))


def _not_found() -> list[dict]:
    return [ui.text(T["not_found"], _menu_quick())]


def show(ctx: Ctx) -> list[dict]:
    event = _event(ctx)
    occ = _occurrence(ctx, event) if event is not None else None
    if event is None or occ is None:
        return _not_found()
    reg, pos = _my_registrations(ctx, [event.id]).get(event.id, (None, None))
    slot = R.find_slot(ctx.db, KIND, event.id)
    left = None
    if event.capacity:
        left = (slot.capacity - slot.confirmed) if slot is not None and slot.capacity is not None else event.capacity
    bub = F.detail_bubble(event, occ, now=ctx.now, base_url=_base(ctx), registration=reg, position=pos, left=left,
                          district_name=district_names(ctx.db).get(event.district or ""))
    return ui.with_quick([flex_message(event.title[:300], [bub])], _menu_quick())


def _slot(ctx: Ctx, event: Event):
    """The event's registration slot, made on first use when the admin has not made it yet."""
    slot = R.find_slot(ctx.db, KIND, event.id)
    if slot is not None:
        return slot
    args = dict(capacity=event.capacity, starts_at=event.starts_at, ends_at=event.ends_at,
                closes_at=event.registration_deadline, now=ctx.now)
    if ctx.db.get_bind().dialect.name != "postgresql":
        return R.slot_for(ctx.db, KIND, event.id, **args)  # one writer at a time: nobody can make it meanwhile
    try:
        with ctx.db.begin_nested():  # two first sign-ups at once: the second uses the first's slot
            return R.slot_for(ctx.db, KIND, event.id, **args)
    except IntegrityError:
        return R.find_slot(ctx.db, KIND, event.id)


def _asked_at(ctx: Ctx) -> datetime | None:
    """When the resident tapped: the webhook event's timestamp (ms), the waitlist's order."""
    ts = ctx.event.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, int) or not 0 < ts < 2 ** 53:
        return None
    return datetime.fromtimestamp(ts / 1000, tz=timezone.utc)


def _after_join_quick(event: Event) -> list[dict]:
    return tail_quick(ui.postback(T["btn_details"], "events.show", f"{event.title[:40]}を見る", id=event.id),
                      ui.postback(T["btn_regs"], "regs"), ui.postback(T["btn_events"], "events"))


def join(ctx: Ctx) -> list[dict]:
    """参加する: asked once (ok=1 on the 申し込む button), then registered; every outcome is said plainly."""
    event = _event(ctx)
    if event is None:
        return _not_found()
    if event.status != "published":
        return [ui.text(T["join_cancelled"], _menu_quick())]
    if not event.registration_required:
        return [ui.text(T["join_not_needed"], _after_join_quick(event))]
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    when = F.when_text(event.starts_at, event.ends_at, all_day=bool(event.all_day), now=ctx.now)
    words = dict(title=event.title[:60], when=when)
    quick = _after_join_quick(event)
    if ctx.postback.get("ok") != "1":
        slot = R.find_slot(ctx.db, KIND, event.id)
        if slot is not None:
            mine = ctx.db.scalar(select(Registration).where(Registration.slot_id == slot.id,
                                                            Registration.user_id == ctx.user.id))
            if mine is not None and mine.status != CANCELLED:
                return [ui.text(_outcome_text(mine.status, mine, ctx, words, already=True), quick)]
        full = slot is not None and slot.capacity is not None and (slot.confirmed >= slot.capacity or slot.waiting)
        q = (T["join_confirm_wait"] if full else T["join_confirm"]).format(**words)
        return [ui.confirm(q, q, ui.postback(T["btn_yes_join"], "events.join", T["btn_yes_join"], id=event.id, ok=1),
                           ui.postback(T["btn_no"], "events.no", T["btn_no"]))]
    slot = _slot(ctx, event)
    out = R.register(ctx.db, slot.id, ctx.user.id, now=ctx.now, requested_at=_asked_at(ctx))
    answer = _outcome_text(out.status, out.registration, ctx, words, position=out.position)
    if out.status == "confirmed" and utc(ctx.now) < reminder_due(event.starts_at, ctx.config.event_reminder_at):
        answer += "\n" + T["joined_reminder"]  # scheduler/event_reminders.py will send it
    return [ui.text(answer, quick)]


def _outcome_text(status: str, reg, ctx: Ctx, words: dict, *, already: bool = False, position=None) -> str:
    if status in ("confirmed", "offered", "attended", "no_show"):
        status = "already_confirmed" if already else "confirmed"
    elif status == WAITLISTED:
        status = "already_waitlisted" if already else "waitlisted"
    if status in ("waitlisted", "already_waitlisted"):
        n = position or (R.waitlist_position(ctx.db, reg) if reg is not None else None) or 1
        return T[status].format(n=n, **words)
    key = {"confirmed": "joined", "already_confirmed": "already_confirmed", "closed": "closed", "past": "past",
           "not_open": "not_open"}.get(status, "closed")
    return T[key].format(**words)


def no_join(ctx: Ctx) -> list[dict]:
    return [ui.text(T["join_cancelled_by_user"], _menu_quick())]


# -- free text ---------------------------------------------------------------------------------------------------------

def _folded(words) -> list[str]:
    return sorted({nlu.fold(w) for w in words if nlu.fold(w)}, key=len, reverse=True)


# 来週 and 今月 (handlers/listing_query reads the other days); words that only say "an event".
_EXTRA_RANGES = sorted(((f, RANGE_WORDS[k]) for k, ws in F.V["extra_ranges"].items() for f in _folded(ws)),
                       key=lambda x: -len(x[0]))
_GENERIC = sorted({nlu.normalise(w) for w in (*F.V["generic_words"], *(w for ws in F.V["extra_ranges"].values()
                                                                        for w in ws)) if nlu.normalise(w)},
                  key=len, reverse=True)
_PARTICLE_ENDS = re.compile(r"^[のはでにをがともへや]+|[のはでにをがともへやか]+$")


def _search_words(words) -> list[str]:
    """listing_query's left-over words (the words that only say "an event" were cut by parse(drop=_GENERIC):
    夏祭りイベント → 夏祭り), particles at their ends off."""
    out = []
    for w in words:
        out += [t for t in (_PARTICLE_ENDS.sub("", p) for p in w.split()) if len(t) >= 2 and t not in out]
    return out


def _day_range(q, today: date) -> str | None:
    """handlers/listing_query's day words as a range key: 今日, 明日, 週末, 今週, 土曜, 8/15."""
    if q.today:
        return "td"
    if q.tomorrow:
        return "tm"
    if q.weekend:
        return {0: "we", 1: "nwe"}.get(q.weeks_ahead)
    if q.this_week and not q.weeks_ahead:
        return "wk"
    if q.weeks_ahead and not isinstance(q.day, int):  # 来週 alone; 再来週 alone is no range
        return "nw" if q.weeks_ahead == 1 else None
    days = q.dates(today)
    return days[0].strftime("%Y%m%d") if days else None


def parse_text(ctx: Ctx, raw: str) -> tuple[Search, bool]:
    """Typed filters (handlers/listing_query.parse, shared with こどもの居場所, plus 来週 and 今月) as a Search, and
    whether the resident asked for what is near them. Words left over that are not just "event" words search
    titles and descriptions."""
    districts = P.districts(ctx.db)
    q = parse(raw, districts, drop=_GENERIC)  # イベント, いべんと ... are cut before the words are read
    today = to_tokyo(ctx.now).date()
    r = _day_range(q, today)
    if r is None and not q.weeks_ahead:
        key = nlu.fold(raw)
        r = next((rk for word, rk in _EXTRA_RANGES if word in key), None)
    d = q.districts[0] if q.districts else None
    target = getattr(ctx.intent, "target", None)
    if d is None and target:  # the NLU's 地区 (an alias or reading listing_query does not know)
        d = next((x.key for x in districts if target in (x.name, *(x.aliases or []))), None)
    words = _search_words(q.words)
    s = Search(r=r, d=d, c=q.children, f=q.free, ag=ages_param(q.age),
               q=" ".join(words)[:MAX_WORDS_CHARS] or None)
    return s, q.near_me and d is None


def ask_location(ctx: Ctx) -> list[dict]:
    return [ui.text(T["ask_location"], tail_quick({"type": "location", "label": T["btn_send_location"]},
                                                   ui.postback(T["btn_district"], "events.pick", "地区からイベントを探す", k="d")))]


def on_text(ctx: Ctx) -> list[dict]:
    """The "events" intent: a plain イベント opens the menu; with filters (国府津, 今週末, こども, 無料, words)
    it searches at once; 近くの asks for the resident's location (handlers/location.py lists what is near)."""
    raw = raw_text(ctx)
    s, near = parse_text(ctx, raw)
    if near:
        return ask_location(ctx)
    if s == Search():
        return show_menu(ctx)
    return run_search(ctx, s)


# -- 申込状況 for events (handlers/registrations.py draws it) -----------------------------------------------------------

@registrations.describer(KIND)
def describe(ctx: Ctx, pairs: list) -> dict:
    events = {e.id: e for e in ctx.db.scalars(select(Event).where(Event.id.in_({s.ref_id for _, s in pairs})))}
    out = {}
    for reg, slot in pairs:
        ev = events.get(slot.ref_id)
        if ev is None:
            continue
        out[reg.id] = registrations.F.Described(
            title=ev.title, when=F.when_text(ev.starts_at, ev.ends_at, all_day=bool(ev.all_day), now=ctx.now),
            kind_label="イベント",
            details=ui.postback(T["btn_details"], "events.show", f"{ev.title[:40]}を見る", id=ev.id),
            cancelled=ev.status == "cancelled")
    return out


POSTBACKS = {"events": show_menu, "events.find": find, "events.pick": pick, "events.show": show,
             "events.join": join, "events.no": no_join, "events.cancel": registrations.cancel_registration,
             **registrations.POSTBACKS}
INTENTS = {"events": on_text, **registrations.INTENTS}
EVENTS: dict = {}
FLOWS: dict = {}
COMMANDS: dict = {}
