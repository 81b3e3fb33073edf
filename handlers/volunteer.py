"""ボランティア on LINE: shifts near the resident's 地区 and interests first (then by project or by date,
paged with もっと見る), this week's open shifts as small cards with 申し込む, a shift's details, sign-up (asked
once; the name for organisers asked once, in a short flow), the waitlist, accepting an offered place, 活動記録 (shifts and hours
by fiscal year) and the name's change or deletion. 申込状況 (handlers/registrations.py) shows shifts through the
describer registered here.

Sign-up is bot.registrations.register on the shift's slot (kind "shift"), with the webhook event's timestamp as
the arrival time, so the waitlist is in the order residents asked. Notices: bot/volunteer_notices.py.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot import registrations as R
from bot import volunteer_notices as N  # registers the "shift" notifiers and the offer rule
from bot.clock import utc
from bot.event_search import this_week
from bot.fiscal import fy_label, fy_of
from bot.volunteer_search import find_shifts, places_left
from handlers import flow_exit, registrations, ui
from handlers import volunteer_flex as F
from handlers.context import Ctx, raw_text
from handlers.events import _asked_at as asked_at  # the webhook event's time, read one way for every kind
from handlers.events_flex import day_text, hm
from handlers.flex import flex_message, list_page, qlabel, tail_quick
from handlers.listing_common import ShortParams
from handlers.menu import main_menu_quick
from models import plan as P
from models.registrations import ATTENDED, CANCELLED, OFFERED, WAITLISTED, Registration, RegistrationSlot
from models.subscriptions import SubscribedDistrict, SubscribedProject
from models.volunteer import KIND, OPEN, PUBLISHED, Opportunity, Shift, VolunteerProfile

T = F.T
PAGE = 10            # shifts per carousel page: room for the もっと見る card
WEEK_PAGE = 11       # this week's cards per carousel: room for the もっと見る card (LINE: 12)
RECORD_LINES = 10    # per list in 活動記録
NAME_MAX = 20
NAME_FLOW = "volunteer.name"
NAME_WORDS = F.V["name"]  # what a name may not look like, and the polite endings taken off (山田です → 山田)


# -- the search a postback carries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Search(ShortParams):
    m: str | None = None  # None: the resident's 地区 and projects first; "dt": by date only
    p: int | None = None  # project number
    o: int = 0            # offset

    @classmethod
    def from_postback(cls, pb) -> "Search":
        m = pb.get("m")
        p = pb.int("p")
        return cls(m=m if m == "dt" else None, p=p if p is not None and 0 <= p < 10_000 else None,
                   o=max(0, min(pb.int("o", 0) or 0, 10_000)))


def _menu_quick() -> list[dict]:
    return tail_quick(ui.postback(T["btn_week"], "volunteer.week", "今週のボランティア"),
                      ui.postback(T["btn_project"], "volunteer.pick", "プロジェクトからボランティアを探す"),
                      ui.postback(T["btn_date"], "volunteer.find", "日付順のボランティア", m="dt"),
                      ui.postback(T["btn_record"], "volunteer.record"),
                      ui.postback(T["btn_regs"], "regs"))


def _interests(ctx: Ctx) -> tuple[list[str], list[int]]:
    if ctx.user is None:
        return [], []
    uid = ctx.user.id
    return (list(ctx.db.scalars(select(SubscribedDistrict.district).where(SubscribedDistrict.user_id == uid))),
            list(ctx.db.scalars(select(SubscribedProject.project).where(SubscribedProject.user_id == uid))))


def _project_names(ctx: Ctx) -> dict[int, str]:
    return {p.number: p.display_short for p in P.projects(ctx.db)}


def _mine(ctx: Ctx, shift_ids: list[int]) -> dict[int, tuple[Registration, int | None]]:
    """The resident's sign-ups (not cancelled) for these shifts, with waitlist positions."""
    if ctx.user is None or not shift_ids:
        return {}
    rows = ctx.db.execute(select(RegistrationSlot.ref_id, Registration)
                          .join(Registration, Registration.slot_id == RegistrationSlot.id)
                          .where(RegistrationSlot.kind == KIND, RegistrationSlot.ref_id.in_(shift_ids),
                                 Registration.user_id == ctx.user.id, Registration.status != CANCELLED)).all()
    return {ref: (reg, R.waitlist_position(ctx.db, reg) if reg.status == WAITLISTED else None) for ref, reg in rows}


def run_search(ctx: Ctx, s: Search) -> list[dict]:
    districts, projects = _interests(ctx) if s.m is None else ([], [])
    hits = find_shifts(ctx.db, now=ctx.now, projects=(s.p,) if s.p is not None else (), limit=PAGE + 1, offset=s.o,
                       prefer_districts=districts, prefer_projects=projects)
    if s.p is not None:
        label = T["label_project"].format(name=_project_names(ctx).get(s.p, f"プロジェクト{s.p}"))
    else:
        label = T["label_mine"] if (districts or projects) else T["label_all"]
    if not hits:
        return [ui.text(T["no_more"] if s.o else T["none"].format(label=label), _menu_quick())]
    more, hits = len(hits) > PAGE, hits[:PAGE]
    bubbles = _cards(ctx, hits, F.shift_bubble)
    nxt = replace(s, o=s.o + PAGE)
    first, last = s.o + 1, s.o + len(hits)
    intro = T["results"].format(label=label, first=first, last=last) if (more or s.o or len(hits) > 1) \
        else T["results_one"].format(label=label)
    if s.o == 0 and s.m is None and s.p is None:
        intro = T["intro"] + "\n" + intro
    next_page = (F.more_bubble(s.o + PAGE + 1, "volunteer.find", nxt.params()),
                 ui.postback(T["btn_more"], "volunteer.find", T["btn_more"], **nxt.params())) if more else None
    return list_page(intro, label[:300], bubbles, _menu_quick(), next_page)


def _cards(ctx: Ctx, hits, card) -> list[dict]:
    """One card per shift (`card`: the list's or the week's), marked with the resident's own sign-up or waitlist
    place."""
    mine = _mine(ctx, [h.shift.id for h in hits])
    out = []
    for h in hits:
        reg, pos = mine.get(h.shift.id, (None, None))
        out.append(card(h.opportunity, h.shift, h.slot, now=ctx.now, registration=reg, position=pos))
    return out


def show_list(ctx: Ctx) -> list[dict]:
    return run_search(ctx, Search())


def find(ctx: Ctx) -> list[dict]:
    return run_search(ctx, Search.from_postback(ctx.postback))


def week(ctx: Ctx) -> list[dict]:
    """This week's shifts with places left, as small cards with 申し込む (the sign-up flow's first step), by date;
    WEEK_PAGE a carousel and a もっと見る card when there are more (volunteer.week with the next offset)."""
    o = ctx.postback.int("o", 0) if ctx.postback is not None else 0
    o = max(0, min(o or 0, 10_000))
    lo, hi = this_week(ctx.now)
    hits = find_shifts(ctx.db, now=ctx.now, start=lo, end=hi, open_only=True, limit=WEEK_PAGE + 1, offset=o)
    if not hits:
        return [ui.text(T["no_more"] if o else T["week_none"], _menu_quick())]
    more, hits = len(hits) > WEEK_PAGE, hits[:WEEK_PAGE]
    first, last = o + 1, o + len(hits)
    intro = T["week_title"] if not (more or o) else \
        T["week_page" if last > first else "week_page_one"].format(first=first, last=last)
    next_page = (F.more_bubble(o + WEEK_PAGE + 1, "volunteer.week", {"o": o + WEEK_PAGE}),
                 ui.postback(T["btn_more"], "volunteer.week", T["btn_more"], o=o + WEEK_PAGE)) if more else None
    return list_page(intro + "\n" + T["week_hint"], T["label_week"], _cards(ctx, hits, F.week_bubble),
                     _menu_quick(), next_page)


def pick(ctx: Ctx) -> list[dict]:
    """プロジェクトから: the projects with shifts to come, with how many."""
    names = _project_names(ctx)
    rows = ctx.db.execute(select(Opportunity.project, func.count(Shift.id)).join(Shift, Shift.opportunity_id == Opportunity.id)
                          .where(Opportunity.status == PUBLISHED, Shift.status == OPEN, Shift.starts_at > utc(ctx.now),
                                 Opportunity.project.is_not(None))
                          .group_by(Opportunity.project).order_by(Opportunity.project)).all()
    items = [ui.postback(qlabel(no, f"{names.get(no, '')}（{n}）"), "volunteer.find",
                         T["label_project"].format(name=names.get(no, f"プロジェクト{no}")), p=no)
             for no, n in rows if no in names][:11]
    if not items:
        return [ui.text(T["pick_none"], _menu_quick())]
    return [ui.text(T["pick_project"], tail_quick(*items))]


# -- one shift -----------------------------------------------------------------------------------------------------

def _shift(ctx: Ctx, key: str = "id") -> Shift | None:
    sid = ctx.postback.int(key) if ctx.postback is not None else None
    shift = ctx.db.get(Shift, sid) if sid is not None and 0 < sid < 2 ** 63 else None
    if shift is None or shift.opportunity.status != PUBLISHED:
        return None
    return shift


def _not_found() -> list[dict]:
    return [ui.text(T["not_found"], _menu_quick())]


def show(ctx: Ctx) -> list[dict]:
    shift = _shift(ctx)
    if shift is None:
        return _not_found()
    reg, pos = _mine(ctx, [shift.id]).get(shift.id, (None, None))
    bub = F.shift_bubble(shift.opportunity, shift, R.find_slot(ctx.db, KIND, shift.id), now=ctx.now,
                         registration=reg, position=pos, details=True)
    return ui.with_quick([flex_message(shift.opportunity.title[:300], [bub])], _menu_quick())


def _slot(ctx: Ctx, shift: Shift) -> RegistrationSlot:
    """The shift's slot, made on first sign-up when the admin has not made it yet."""
    slot = R.find_slot(ctx.db, KIND, shift.id)
    if slot is not None:
        return slot
    args = dict(capacity=shift.capacity, starts_at=shift.starts_at, ends_at=shift.ends_at,
                closes_at=shift.signup_deadline, now=ctx.now)
    if ctx.db.get_bind().dialect.name != "postgresql":
        return R.slot_for(ctx.db, KIND, shift.id, **args)
    try:
        with ctx.db.begin_nested():  # two first sign-ups at once: the second uses the first's slot
            return R.slot_for(ctx.db, KIND, shift.id, **args)
    except IntegrityError:
        return R.find_slot(ctx.db, KIND, shift.id)


def _after_quick(shift: Shift) -> list[dict]:
    return tail_quick(ui.postback(T["btn_details"], "volunteer.show", f"{shift.opportunity.title[:40]}を見る", id=shift.id),
                      ui.postback(T["btn_regs"], "regs"), ui.postback(T["btn_find"], "volunteer"))


def _outcome_text(ctx: Ctx, status: str, reg, shift: Shift, *, position=None) -> str:
    w = N.words(shift, shift.opportunity, ctx.now)
    if status in ("waitlisted", "already_waitlisted"):
        n = position or (R.waitlist_position(ctx.db, reg) if reg is not None else None) or 1
        return T[status].format(n=n, **w)
    if status == "confirmed":
        return T["joined"].format(**w) + "\n" + T["joined_calendar"]
    return T.get(status, T["closed"]).format(**w)


def join(ctx: Ctx) -> list[dict]:
    """申し込む: asked once (ok=1), then the name for organisers once if the resident has none, then registered."""
    shift = _shift(ctx)
    if shift is None:
        return _not_found()
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    if shift.status != OPEN:
        return [ui.text(T["not_found"], _menu_quick())]
    if ctx.postback.get("ok") != "1":
        reg, pos = _mine(ctx, [shift.id]).get(shift.id, (None, None))
        if reg is not None:
            status = "already_waitlisted" if reg.status == WAITLISTED else "already_confirmed"
            return [ui.text(_outcome_text(ctx, status, reg, shift, position=pos), _after_quick(shift))]
        w = N.words(shift, shift.opportunity, ctx.now)
        full = places_left(shift, R.find_slot(ctx.db, KIND, shift.id)) <= 0
        q = (T["join_confirm_wait"] if full else T["join_confirm"]).format(**w)
        yes = T["btn_yes_wait"] if full else T["btn_yes_join"]
        return [ui.confirm(q, q, ui.postback(yes, "volunteer.join", yes, id=shift.id, ok=1),
                           ui.postback(T["btn_no"], "volunteer.no", T["btn_no"]))]
    if ctx.db.get(VolunteerProfile, ctx.user.id) is None:
        ctx.set_state(NAME_FLOW, data={"shift": shift.id})
        return [ui.text(T["ask_name"], [ui.postback(T["btn_stop"], "volunteer.name_stop", T["btn_stop"])])]
    return _register(ctx, shift)


def _register(ctx: Ctx, shift: Shift) -> list[dict]:
    out = R.register(ctx.db, _slot(ctx, shift).id, ctx.user.id, now=ctx.now, requested_at=asked_at(ctx))
    quick = _after_quick(shift)
    if out.status == "confirmed":  # カレンダーに追加: the shift's .ics (bot/volunteer_pages.py)
        quick = [ui.uri_action(T["btn_calendar"], f"{ctx.config.public_base_url}/volunteer/shifts/{shift.id}.ics"),
                 *quick]
    return [ui.text(_outcome_text(ctx, out.status, out.registration, shift, position=out.position), quick)]


def no_join(ctx: Ctx) -> list[dict]:
    return [ui.text(T["join_cancelled_by_user"], _menu_quick())]


def _own(ctx: Ctx) -> Registration | None:
    rid = ctx.postback.int("reg") if ctx.postback is not None else None
    if rid is None or ctx.user is None or not 0 < rid < 2 ** 63:
        return None
    reg = ctx.db.get(Registration, rid)
    return reg if reg is not None and reg.user_id == ctx.user.id else None


def accept(ctx: Ctx) -> list[dict]:
    """参加する on an offered place: confirmed while the offer holds, else told it passed on."""
    reg = _own(ctx)
    slot = ctx.db.get(RegistrationSlot, reg.slot_id) if reg is not None else None
    shift = ctx.db.get(Shift, slot.ref_id) if slot is not None and slot.kind == KIND else None
    if shift is None:
        return _not_found()
    out = R.accept_offer(ctx.db, reg.id, now=ctx.now)
    if out.status in ("confirmed", "already_confirmed"):
        return [ui.text(T["offer_accepted"].format(**N.words(shift, shift.opportunity, ctx.now)), _after_quick(shift))]
    return [ui.text(T["offer_expired"], _menu_quick())]


# -- the name organisers see ---------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def clean_name(raw: str) -> str:
    """Control and format characters dropped, spaces collapsed (a name shown on a roster, one line)."""
    kept = "".join(" " if ch in "\t\n\r\u3000" else ch for ch in raw
                   if ch in "\t\n\r\u3000" or not unicodedata.category(ch).startswith("C"))
    return _SPACES.sub(" ", kept).strip()


def save_name(ctx: Ctx, name: str) -> None:
    prof = ctx.db.get(VolunteerProfile, ctx.user.id)
    if prof is None:
        ctx.db.add(VolunteerProfile(user_id=ctx.user.id, display_name=name, updated_at=ctx.now))
    else:
        prof.display_name, prof.updated_at = name, ctx.now
    ctx.db.flush()


def _without_polite_ending(name: str) -> str:
    for ending in NAME_WORDS["polite_endings"]:
        if name.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)].rstrip()
    return name


def looks_like_name(name: str) -> bool:
    """A name as organisers would write it on a roster, not a sentence or a question (山田 花子, やまだ, Smith, 李)."""
    folded = unicodedata.normalize("NFKC", name).lower()
    if any(ch in folded for ch in NAME_WORDS["not_in_name"]):
        return False
    return not any(folded.endswith(e) for e in NAME_WORDS["sentence_endings"])


def name_flow(ctx: Ctx) -> list[dict] | None:
    """The name for organisers, typed: a stop word ends the step as the やめる button does (nothing signed up);
    another feature's clear words leave the step and are answered as usual (None); a sentence, a question or a
    very long text is asked again; anything else is the name."""
    raw = raw_text(ctx)
    data = dict(ctx.state.data or {})
    stop = [ui.postback(T["btn_stop"], "volunteer.name_stop", T["btn_stop"])]
    if flow_exit.wants_to_stop(raw):
        return name_stop(ctx)
    name = _without_polite_ending(clean_name(raw))
    if not name:
        return [ui.text(T["name_empty"], stop)]
    if flow_exit.other_request(raw, ignore=("courtesy",)):
        ctx.clear_state()
        return None
    if len(name) > NAME_MAX:
        return [ui.text(T["name_too_long"], stop)]
    if not looks_like_name(name):
        return [ui.text(T["name_unclear"], stop)]
    save_name(ctx, name)
    ctx.clear_state()
    sid = data.get("shift")
    shift = ctx.db.get(Shift, sid) if isinstance(sid, int) else None
    saved = T["name_saved"].format(name=name)
    if shift is None or shift.opportunity.status != PUBLISHED or shift.status != OPEN:
        return [ui.text(saved, _record_quick(True))]
    return [ui.text(saved), *_register(ctx, shift)]


def name_stop(ctx: Ctx) -> list[dict]:
    had_shift = ctx.state is not None and ctx.state.flow == NAME_FLOW and (ctx.state.data or {}).get("shift")
    if ctx.state is not None and ctx.state.flow == NAME_FLOW:
        ctx.clear_state()
    return [ui.text(T["name_stopped"] if had_shift else T["name_stopped_plain"], _menu_quick())]


def name_change(ctx: Ctx) -> list[dict]:
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    ctx.set_state(NAME_FLOW, data={})
    return [ui.text(T["ask_new_name"], [ui.postback(T["btn_stop"], "volunteer.name_stop", T["btn_stop"])])]


def name_delete(ctx: Ctx) -> list[dict]:
    """名前を削除: asked once; then sign-ups ask for a name again next time."""
    prof = ctx.db.get(VolunteerProfile, ctx.user.id) if ctx.user is not None else None
    if prof is None:
        return [ui.text(T["name_none"], _record_quick(False))]
    if ctx.postback.get("ok") != "1":
        q = T["name_delete_confirm"].format(name=prof.display_name)
        return [ui.confirm(q, q, ui.postback(T["btn_yes_delete"], "volunteer.name_delete", T["btn_yes_delete"], ok=1),
                           ui.postback(T["btn_no"], "volunteer.name_keep", T["btn_no"]))]
    ctx.db.delete(prof)
    ctx.db.flush()
    return [ui.text(T["name_deleted"], _record_quick(False))]


def name_keep(ctx: Ctx) -> list[dict]:
    return [ui.text(T["name_kept"], _record_quick(True))]


# -- 活動記録 ----------------------------------------------------------------------------------------------------------

def _record_quick(has_name: bool) -> list[dict]:
    items = [ui.postback(T["btn_name_change"], "volunteer.name_change")]
    if has_name:
        items.append(ui.postback(T["btn_name_delete"], "volunteer.name_delete"))
    return tail_quick(*items, ui.postback(T["btn_find"], "volunteer"), ui.postback(T["btn_regs"], "regs"))


def attended(db, user_id: int) -> list[tuple[Shift, Opportunity]]:
    """The resident's attended shifts, latest first."""
    return [(s, o) for s, o in db.execute(
        select(Shift, Opportunity).join(Opportunity, Opportunity.id == Shift.opportunity_id)
        .join(RegistrationSlot, (RegistrationSlot.kind == KIND) & (RegistrationSlot.ref_id == Shift.id))
        .join(Registration, Registration.slot_id == RegistrationSlot.id)
        .where(Registration.user_id == user_id, Registration.status == ATTENDED)
        .order_by(Shift.starts_at.desc(), Shift.id))]


def hours_by_fiscal_year(rows) -> list[tuple[int, int, int]]:
    """[(fiscal year, shifts, minutes)], the latest year first."""
    totals: dict[int, list[int]] = {}
    for shift, _ in rows:
        t = totals.setdefault(fy_of(shift.starts_at), [0, 0])
        t[0] += 1
        t[1] += shift.minutes
    return [(fy, n, m) for fy, (n, m) in sorted(totals.items(), reverse=True)]


def record(ctx: Ctx) -> list[dict]:
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    prof = ctx.db.get(VolunteerProfile, ctx.user.id)
    lines = [f"【{T['record_title']}】",
             T["record_name"].format(name=prof.display_name) if prof else T["record_no_name"]]
    rows = attended(ctx.db, ctx.user.id)
    upcoming = [(r, s) for r, s in R.registrations_of(ctx.db, ctx.user.id, kinds=(KIND,), upcoming_after=ctx.now)]
    if rows:
        lines.append("")
        lines += [T["record_fy"].format(fy=fy_label(fy), n=n, hours=F.hours_text(m))
                  for fy, n, m in hours_by_fiscal_year(rows)]
        lines += ["", T["record_attended"]]
        lines += [f"・{day_text(s.starts_at, ctx.now)}{hm(s.starts_at)}〜{hm(s.ends_at)} {o.title[:30]}"
                  f"（{F.hours_text(s.minutes)}）" for s, o in rows[:RECORD_LINES]]
    else:
        lines += ["", T["record_none"]]
    if upcoming:
        shifts = {s.id: s for s in ctx.db.scalars(select(Shift).where(Shift.id.in_({sl.ref_id for _, sl in upcoming})))}
        lines += ["", T["record_upcoming"]]
        for reg, slot in upcoming[:RECORD_LINES]:
            s = shifts.get(slot.ref_id)
            if s is not None:
                mark = "" if reg.status != WAITLISTED else "（キャンセル待ち）"
                lines.append(f"・{F.shift_when(s, ctx.now)} {s.opportunity.title[:30]}{mark}")
    return [ui.text("\n".join(lines), _record_quick(prof is not None))]


def record_command(ctx: Ctx) -> list[dict] | None:
    return record(ctx) if ctx.text in ("活動記録", "ボランティア活動記録", "活動の記録") else None


# -- 申込状況 for shifts (handlers/registrations.py draws it) -----------------------------------------------------------

@registrations.describer(KIND)
def describe(ctx: Ctx, pairs: list) -> dict:
    shifts = {s.id: s for s in ctx.db.scalars(select(Shift).where(Shift.id.in_({sl.ref_id for _, sl in pairs})))}
    out = {}
    for reg, slot in pairs:
        s = shifts.get(slot.ref_id)
        if s is None:
            continue
        title = s.opportunity.title
        # An offered place is answered here too: its button is 参加する (辞退する is the cancel button).
        details = ui.postback(T["btn_accept"], "volunteer.accept", T["btn_accept"], reg=reg.id) \
            if reg.status == OFFERED else ui.postback(T["btn_details"], "volunteer.show", f"{title[:40]}を見る", id=s.id)
        out[reg.id] = registrations.F.Described(title=title, when=F.shift_when(s, ctx.now), kind_label=T["kind_label"],
                                                details=details, cancelled=s.status != OPEN)
    return out


def on_text(ctx: Ctx) -> list[dict]:
    """ボランティア, ボランティアしたい, 手伝いたい ...: the shifts at once (one tap from 申し込む)."""
    return show_list(ctx)


POSTBACKS = {"volunteer": show_list, "volunteer.find": find, "volunteer.week": week, "volunteer.pick": pick,
             "volunteer.show": show, "volunteer.join": join, "volunteer.no": no_join, "volunteer.accept": accept,
             "volunteer.record": record, "volunteer.name_change": name_change, "volunteer.name_delete": name_delete,
             "volunteer.name_keep": name_keep, "volunteer.name_stop": name_stop}
INTENTS = {"volunteer": on_text}
EVENTS: dict = {}
FLOWS = {NAME_FLOW: name_flow}
COMMANDS = {"volunteer.record": record_command}

