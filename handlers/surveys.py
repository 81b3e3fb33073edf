"""アンケート on LINE (step 9): the surveys a resident may answer, a survey's card, and answering one question per
message (skip rules, 戻る, スキップ, toggles with 次へ, the date picker, typed numbers, text and dates), the
confirmation screen, submission once, editing where the team allows it, and pausing.

While a question waits, the conversation state "survey" ({"s": survey id}) sends typed text to `typed`; a
stop word (やめる, 中断, もうやめたい ...: handlers/flow_exit.py) pauses, and text that is not an answer but another feature's words pauses and is
answered by that feature. Any other feature's button pauses too (PAUSED_BY_OTHER_BUTTONS, handlers/router.py).
The resident's place is kept in the response row (bot/survey_answers.py), so アンケート → 続きから resumes it
until the survey closes, however long the state lasted.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from bot import survey_answers as A
from bot.clock import utc
from bot.survey_logic import (by_key, is_live, may_answer, open_for, ordered, parse_typed, position_label,
                              tokyo_today, typed_date, value_problem, walk)
from handlers import flow_exit, ui
from handlers import surveys_flex as F
from handlers.context import Ctx, raw_text
from handlers.flex import tail_quick
from handlers.menu import main_menu_quick
from models import plan as P
from models.surveys import CLOSED, CONFIRM, DATE, DISTRICT, DRAFT, END, MULTI, SCALE, SINGLE, TEXT, Survey

T = F.T
FLOW = "survey"
STATE_TTL = timedelta(hours=2)  # how long typed text counts as an answer; the place itself is kept longer
LIST_MAX = 10


# -- lookups ------------------------------------------------------------------------------------------------------

def _survey(ctx: Ctx) -> Survey | None:
    sid = ctx.postback.int("s") if ctx.postback is not None else None
    survey = ctx.db.get(Survey, sid) if sid is not None and 0 < sid < 2 ** 63 else None
    return None if survey is None or survey.status == DRAFT else survey


def _district_names(ctx: Ctx) -> list[tuple[str, str]]:
    return [(d.key, d.name) for d in P.districts(ctx.db)]


def _groups(ctx: Ctx) -> list[tuple[str, tuple]]:
    from handlers.settings import groups  # the kana groups 設定 uses: one way to pick a 地区 across the bot

    return [(g.label, g.districts) for g in groups(P.districts(ctx.db))]


def _closed_text(survey: Survey, ctx: Ctx) -> str:
    ended = survey.status == CLOSED or utc(survey.closes_at) <= utc(ctx.now)
    return T["closed"] if ended else T["not_open"]


def _state_of(survey: Survey, r) -> tuple[str, str | None]:
    if r is None:
        return F.NEW, None
    if r.editing:
        return F.EDITING, None
    if A.is_answering(r):
        qs = survey.questions
        if r.current == CONFIRM or r.current not in by_key(qs):
            n = len(qs)
            return F.PROGRESS, f"{n}/{n}"
        return F.PROGRESS, position_label(qs, r.current)
    return F.DONE, None


# -- the list and the card ---------------------------------------------------------------------------------------------

def show_list(ctx: Ctx) -> list[dict]:
    """アンケート: the live surveys this resident may answer, closing soonest first, each with its state."""
    surveys = open_for(ctx.db, ctx.user.id, ctx.now) if ctx.user is not None else []
    if not surveys:
        return [ui.text(T["none"], main_menu_quick())]
    shown = surveys[:LIST_MAX]
    mine = A.find_many(ctx.db, shown, ctx.user.line_user_id)
    items = [(s, *_state_of(s, mine.get(s.id))) for s in shown]
    return ui.with_quick(F.list_messages(items, now=ctx.now, more=len(surveys) - len(shown)), tail_quick())


def _refused(ctx: Ctx, sentence: str) -> list[dict]:
    """A polite sentence, then the list (what the resident can answer instead)."""
    return [ui.text(sentence), *show_list(ctx)][:5]


def _check(ctx: Ctx, survey: Survey | None) -> list[dict] | None:
    """Why this resident cannot answer `survey` now (messages), or None."""
    if survey is None:
        return _refused(ctx, T["not_found"])
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    if not is_live(survey, ctx.now) or not survey.questions:
        return _refused(ctx, _closed_text(survey, ctx))
    if not may_answer(ctx.db, survey, ctx.user.id):
        return _refused(ctx, T["not_target"])
    return None


def open_card(ctx: Ctx) -> list[dict]:
    """A survey's card: title, introduction, questions, 締切, 無記名 / 記名, and the button for the resident's state."""
    survey = _survey(ctx)
    if (refused := _check(ctx, survey)) is not None:
        return refused
    state, pos = _state_of(survey, A.find(ctx.db, survey, ctx.user.line_user_id))
    return [F.card_message(survey, now=ctx.now, state=state, position=pos)]


# -- showing where the resident is ----------------------------------------------------------------------------------------

def _show(ctx: Ctx, survey: Survey, r, *, notice: str | None = None, page: int = 0) -> list[dict]:
    """The current question (or the confirmation screen), with the state set so typed text answers it."""
    keyed = by_key(survey.questions)
    if r.current != CONFIRM and r.current not in keyed:  # a question gone since: on along the answers given
        _, nxt = walk(ordered(survey.questions), dict(r.pending or {}))
        r.current = CONFIRM if nxt == END else nxt
    ctx.set_state(FLOW, data={"s": survey.id}, ttl=STATE_TTL)
    names = _district_names(ctx)
    if r.current == CONFIRM:
        msgs = F.confirmation_messages(survey, dict(r.pending or {}), district_names=names)
    else:
        q = keyed[r.current]
        pending = r.pending or {}
        msgs = F.question_messages(
            survey, q, district_names=names, page=page,
            selected=A.selection(r, q.key) if q.kind == MULTI else (),
            previous=pending.get(q.key) if q.kind != MULTI else None,
            groups=_groups(ctx) if q.kind == DISTRICT else None)
    if notice:
        msgs = [ui.text(notice), *msgs]
    return msgs[:5]


def _stop(ctx: Ctx, text: str) -> list[dict]:
    if ctx.state is not None and ctx.state.flow == FLOW:
        ctx.clear_state()
    return [ui.text(text, tail_quick(ui.postback(T["btn_list"], "survey")))]


def _live_survey(ctx: Ctx) -> Survey | list[dict]:
    """The open survey a button names, or what to say instead (not found, no resident, closed: nothing recorded)."""
    survey = _survey(ctx)
    if survey is None:
        return _refused(ctx, T["not_found"])
    if ctx.user is None:
        return [ui.text(T["no_user"], main_menu_quick())]
    if not is_live(survey, ctx.now):
        return _stop(ctx, _closed_text(survey, ctx))
    return survey


def _answering(ctx: Ctx) -> tuple[Survey, object] | list[dict]:
    """The survey and response a button acts on, or what to say instead: the survey closed (nothing recorded),
    nothing started (the card), already submitted, or an old button (the current question again)."""
    survey = _live_survey(ctx)
    if isinstance(survey, list):
        return survey
    r = A.find(ctx.db, survey, ctx.user.line_user_id)
    if r is None:
        return open_card(ctx)
    if not A.is_answering(r):
        return _stop(ctx, T["already"])
    q = ctx.postback.get("q")
    if q is not None and q != r.current:
        return _show(ctx, survey, r, notice=T["old_button"])
    return survey, r


def _question(survey: Survey, r):
    return by_key(survey.questions).get(r.current)


def _on_response(handler):
    """A button that acts on the response being answered: `handler(ctx, survey, r)` runs only when
    `_answering` finds one; otherwise what `_answering` says instead is the answer."""
    @wraps(handler)
    def run(ctx: Ctx) -> list[dict]:
        got = _answering(ctx)
        return got if isinstance(got, list) else handler(ctx, *got)
    return run


def _record(ctx: Ctx, survey: Survey, r, q, value) -> list[dict]:
    """The answer kept, then the next question (or the confirmation screen)."""
    A.record(ctx.db, survey, r, q.key, value, ctx.now)
    return _show(ctx, survey, r)


# -- buttons ----------------------------------------------------------------------------------------------------------------

def start(ctx: Ctx) -> list[dict]:
    """はじめる / 続きから: the response is made at the first tap; a resident who stopped continues where they were."""
    survey = _survey(ctx)
    if (refused := _check(ctx, survey)) is not None:
        return refused
    existed = A.find(ctx.db, survey, ctx.user.line_user_id) is not None
    r = A.start(ctx.db, survey, ctx.user, ctx.now)
    if not A.is_answering(r):
        quick = [ui.postback(T["btn_edit"], "survey.edit", T["btn_edit"], s=survey.id)] if survey.allow_edit else []
        return [ui.text(T["already_edit"] if survey.allow_edit else T["already"],
                        tail_quick(*quick, ui.postback(T["btn_list"], "survey")))]
    return _show(ctx, survey, r, notice=T["resumed"] if existed and (r.path or r.pending) else None)


@_on_response
def answer(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """survey.a: a choice tapped, x = the SINGLE index, the SCALE value or the DISTRICT key."""
    q = _question(survey, r)
    if q is None or q.kind not in (SINGLE, SCALE, DISTRICT):
        return _show(ctx, survey, r, notice=T["old_button"])
    raw = ctx.postback.get("x")  # not "v": that is the codec's version (bot/postback.py)
    value = raw if q.kind == DISTRICT else ctx.postback.int("x")
    keys = [k for k, _ in _district_names(ctx)] if q.kind == DISTRICT else ()
    if value is None or value_problem(q, value, keys) is not None:
        return _show(ctx, survey, r, notice=T["use_buttons"])
    return _record(ctx, survey, r, q, value)


@_on_response
def toggle(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """survey.t: one option of a multiple choice on (on=1) or off (on=0): a double tap never flips twice."""
    q = _question(survey, r)
    o = ctx.postback.int("o")
    if q is None or q.kind != MULTI or o is None or not 0 <= o < len(q.options or []):
        return _show(ctx, survey, r, notice=T["old_button"])
    chosen = A.selection(r, q.key)
    notice = None
    if ctx.postback.get("on") == "0":
        chosen = [i for i in chosen if i != o]
    elif o not in chosen:
        if q.max_choices and len(chosen) >= q.max_choices:
            notice = T["max_reached"].format(n=q.max_choices)
        else:
            chosen.append(o)
    A.set_selection(ctx.db, survey, r, q.key, chosen, ctx.now)
    return _show(ctx, survey, r, notice=notice)


@_on_response
def next_(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """survey.n: 次へ after the toggles, or 前回のまま (the answer given before, when editing or after 戻る)."""
    q = _question(survey, r)
    if q is None:
        return _show(ctx, survey, r)
    if q.kind == MULTI:
        value = A.selection(r, q.key) or None
        if value is None and q.required:
            return _show(ctx, survey, r, notice=T["need_one"])
    else:
        value = (r.pending or {}).get(q.key)
        if value is None:
            return _show(ctx, survey, r)
    if (problem := value_problem(q, value, [k for k, _ in _district_names(ctx)])) is not None:
        return _show(ctx, survey, r, notice=problem)
    return _record(ctx, survey, r, q, value)


@_on_response
def skip(ctx: Ctx, survey: Survey, r) -> list[dict]:
    q = _question(survey, r)
    if q is None:
        return _show(ctx, survey, r)
    if q.required:
        return _show(ctx, survey, r, notice=T["required"])
    return _record(ctx, survey, r, q, None)


@_on_response
def picked_date(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """survey.d: LINE's date picker answers with params.date (YYYY-MM-DD)."""
    q = _question(survey, r)
    params = (ctx.event.get("postback") or {}).get("params") or {}
    value = params.get("date") if isinstance(params, dict) else None
    if q is None or q.kind != DATE or not isinstance(value, str) or value_problem(q, value) is not None:
        return _show(ctx, survey, r, notice=T["hint_date"])
    return _record(ctx, survey, r, q, value)


@_on_response
def page(ctx: Ctx, survey: Survey, r) -> list[dict]:
    return _show(ctx, survey, r, page=max(0, min(ctx.postback.int("p", 0) or 0, 100)))


@_on_response
def back(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """戻る: the previous question on the way, its answer shown; from the first question, the card."""
    if A.back(ctx.db, survey, r, ctx.now) is None:
        ctx.clear_state()
        return open_card(ctx)
    return _show(ctx, survey, r)


def _deadline_quick(survey: Survey) -> list[dict]:
    return tail_quick(ui.postback(T["btn_resume"], "survey.start", T["btn_resume"], s=survey.id),
                      ui.postback(T["btn_list"], "survey"))


def pause(ctx: Ctx) -> list[dict]:
    """中断: the place is kept in the response; typed text is no longer taken as an answer."""
    if ctx.state is not None and ctx.state.flow == FLOW:
        ctx.clear_state()
    survey = _survey(ctx)
    if survey is None:
        return _refused(ctx, T["not_found"])
    if not is_live(survey, ctx.now):
        return _stop(ctx, _closed_text(survey, ctx))
    return [ui.text(T["paused"].format(deadline=F.deadline_text(survey, ctx.now)), _deadline_quick(survey))]


@_on_response
def submit(ctx: Ctx, survey: Survey, r) -> list[dict]:
    """送信する: submitted once; a second tap (or an old confirmation) answers 回答済み."""
    if r.current != CONFIRM:
        return _show(ctx, survey, r, notice=T["old_button"])
    edited = bool(r.editing)
    ok = A.submit(ctx.db, survey, r, ctx.user, ctx.now)
    ctx.clear_state()
    text = (T["submitted_edit"] if edited else T["submitted"]) if ok else T["already"]
    return [ui.text(text, tail_quick(ui.postback(T["btn_list"], "survey")))]


def edit(ctx: Ctx) -> list[dict]:
    """回答を修正する (a submitted response, where the team allows it) and 最初から直す (on the confirmation
    screen): back to Q1 with the answers given shown and kept until changed."""
    survey = _live_survey(ctx)
    if isinstance(survey, list):
        return survey
    r = A.find(ctx.db, survey, ctx.user.line_user_id)
    if r is None:
        return start(ctx)
    was_submitted = not A.is_answering(r)
    if not A.restart(ctx.db, survey, r, ctx.now):
        return _stop(ctx, T["no_edit"])
    return _show(ctx, survey, r, notice=T["editing"] if was_submitted else None)


# -- typed text -------------------------------------------------------------------------------------------------------------

def _other_feature(raw: str) -> bool:
    """Does the NLU read this as another feature's words (then it is answered by that feature)? Only a clear
    reading counts: 「たくさん」 typed for an age is an answer to ask again, whatever route a guess leans to."""
    return flow_exit.other_request(raw)


def typed(ctx: Ctx) -> list[dict] | None:
    """Text while a question waits: an answer to it (parse_typed), a pause word, another feature's words (paused,
    then answered as usual: None), or something to ask again politely."""
    sid = (ctx.state.data or {}).get("s")
    survey = ctx.db.get(Survey, sid) if isinstance(sid, int) else None
    if survey is None or ctx.user is None:
        ctx.clear_state()
        return None
    if not is_live(survey, ctx.now):
        return _stop(ctx, _closed_text(survey, ctx))
    r = A.find(ctx.db, survey, ctx.user.line_user_id)
    if not A.is_answering(r):
        ctx.clear_state()
        return None
    raw = raw_text(ctx)
    q = _question(survey, r)
    value, problem = parse_typed(q, raw, _district_names(ctx), tokyo_today(ctx.now)) if q is not None else (None, "")
    if q is not None and q.kind != TEXT and problem is None:  # an option typed as it reads wins, even 「やめたい」
        return _record(ctx, survey, r, q, value)
    # 「もうやめたい」 in a survey stops the survey (paused, resumable), never the account: only 退会 / データを消して
    # reach the 退会 screen. A free-text answer stops only when it is nothing but a stop word (「中止してほしい」 is an
    # opinion).
    if flow_exit.wants_to_stop(raw, whole_only=q is not None and q.kind == TEXT):
        ctx.clear_state()
        return [ui.text(T["paused"].format(deadline=F.deadline_text(survey, ctx.now)), _deadline_quick(survey))]
    if q is None:  # the confirmation screen
        if _other_feature(raw):
            ctx.clear_state()
            return None
        return _show(ctx, survey, r, notice=T["use_buttons"])
    if problem is None:
        return _record(ctx, survey, r, q, value)
    # A date question keeps a text that reads as a date (来週の日曜, 2月30日, 今週末): asked again, never routed.
    if q.kind != TEXT and not (q.kind == DATE and typed_date(raw, tokyo_today(ctx.now))[1]) \
            and _other_feature(raw):
        ctx.clear_state()
        return None
    return _show(ctx, survey, r, notice=problem)


POSTBACKS = {"survey": show_list, "survey.open": open_card, "survey.start": start, "survey.a": answer,
             "survey.t": toggle, "survey.n": next_, "survey.skip": skip, "survey.d": picked_date,
             "survey.pg": page, "survey.back": back, "survey.pause": pause, "survey.submit": submit,
             "survey.edit": edit}
INTENTS = {"survey": show_list}
FLOWS = {FLOW: typed}
PAUSED_BY_OTHER_BUTTONS = ("survey",)
