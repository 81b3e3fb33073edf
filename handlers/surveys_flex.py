"""LINE views of アンケート: one question as the resident sees it (also the admin's preview, so it works on unsaved
objects and never touches the database), the confirmation screen, the survey card and the list. Pure functions
from rows and plain values to message dicts; wording from surveys_vocab.yaml, pieces from handlers.flex.

Every question carries its progress (3/8) and ends with 戻る, スキップ (optional questions) and 中断 as quick
replies. Choices: up to 10 options as quick replies, more as a Flex list paged by 10 (survey.pg); 5-point scales
as 1..5 quick replies; 地区 as a carousel of kana groups; multiple choice as one bubble of toggles whose 次へ says
how many are selected; dates through LINE's date picker (typing is accepted too); numbers and text typed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from bot.survey_logic import answer_text, kept_answers, number_range_text, ordered, position_label, walk
from handlers import ui
from handlers.events_flex import day_text, hm
from handlers.flex import (ACCENT, ACCENT_SOFT, MUTED, NOW, NOW_SOFT, box, bubble, button, flex_message, pack,
                           separator, tail_quick, text)
from handlers.texts import vocab
from models.surveys import DATE, DISTRICT, MULTI, NUMBER, SCALE, SINGLE, TEXT

V = vocab("surveys")
T: dict[str, str] = V["texts"]

QUICK_CHOICES = 10    # SINGLE options shown as quick replies (10 + 戻る + スキップ + 中断 = LINE's 13)
LIST_PAGE = 10        # options per page of a long list
DISTRICTS_PER_CARD = 9  # 地区 per card when no kana groups are given
CONFIRM_ROWS = 10     # questions per card of the confirmation screen
CONFIRM_TEXT = 60     # characters of a question / answer shown there
OFF_BG = "#F2F2F2"
CHECK_ON, CHECK_OFF = "☑", "☐"
PICKED = "✓"

# response states shown on the card and in the list
NEW, PROGRESS, EDITING, DONE = "new", "progress", "editing", "done"


def deadline_text(survey, now: datetime | None = None) -> str:
    """締切 as 12月3日（木）17:00 (Tokyo)."""
    return f"{day_text(survey.closes_at, now)}{hm(survey.closes_at)}"


def _cut(s: str, n: int) -> str:
    s = s or ""
    return s if len(s) <= n else s[: n - 1] + "…"


# -- the pieces every question has ---------------------------------------------------------------------------------

def _act(survey, action: str, label: str, display: str | None = None, **params) -> dict:
    return ui.postback(label, action, display or label, s=getattr(survey, "id", None), **params)


def tail(survey, q, *, keep: bool = False) -> list[dict]:
    """The quick replies after a question's own: 前回のまま (editing a typed answer), 戻る, スキップ, 中断."""
    items = []
    if keep:
        items.append(_act(survey, "survey.n", T["btn_keep"], q=q.key))
    items.append(_act(survey, "survey.back", T["btn_back"], q=q.key))
    if not q.required:
        items.append(_act(survey, "survey.skip", T["btn_skip"], q=q.key))
    items.append(_act(survey, "survey.pause", T["btn_pause"]))
    return items


def _hint(q) -> str:
    if q.kind == SINGLE:
        return T["hint_single"] if len(q.options or []) <= QUICK_CHOICES else T["hint_single_list"]
    if q.kind == MULTI:
        return T["hint_multi_max"].format(n=q.max_choices) if q.max_choices else T["hint_multi"]
    if q.kind == SCALE:
        labels = list(q.scale_labels or [])
        if len(labels) >= 2 and labels[0] and labels[1]:
            return T["hint_scale"].format(low=labels[0], high=labels[1])
        return T["hint_scale_plain"]
    if q.kind == NUMBER:
        return number_range_text(q)
    if q.kind == TEXT:
        from bot.survey_logic import DEFAULT_TEXT_LENGTH

        return T["hint_text"].format(n=q.max_length or DEFAULT_TEXT_LENGTH)
    if q.kind == DATE:
        return T["hint_date"]
    return T["hint_district"]


def question_text(survey, q, *, previous=None, district_names: Sequence[tuple[str, str]] = ()) -> str:
    """【3/8】 the question (任意), its note, how to answer, the previous answer when there is one."""
    head = f"【{position_label(survey.questions, q.key)}】{q.text}" + ("" if q.required else T["optional"])
    lines = [head]
    if q.note:
        lines.append(q.note)
    lines.append(_hint(q))
    if not q.required:
        lines.append(T["hint_skip"])
    if previous is not None and q.kind != MULTI:
        lines.append(T["previous"].format(answer=answer_text(q, previous, dict(district_names))))
    return "\n".join(lines)


def _choice_row(label: str, action: dict, chosen: bool) -> dict:
    """A tappable row with the whole label (wrapped), so long options are read in full."""
    return box([text(label, size="sm", weight="bold" if chosen else None, color=ACCENT if chosen else "#1F1F1F")],
               action=action, backgroundColor=ACCENT_SOFT if chosen else OFF_BG, cornerRadius="6px",
               paddingAll="10px")


def _header(survey, q) -> list[dict]:
    return [text(position_label(survey.questions, q.key), size="sm", color=ACCENT, weight="bold"),
            text(q.text, weight="bold")]


# -- one question ----------------------------------------------------------------------------------------------------

def question_messages(survey, q, *, district_names: list[tuple[str, str]], selected: Iterable[int] = (),
                      previous=None, page: int = 0,
                      groups: Sequence[tuple[str, Sequence[tuple[str, str]]]] | None = None) -> list[dict]:
    """The LINE messages for question `q` of `survey`, exactly as sent. `selected`: a multiple choice's toggled
    options; `previous`: the answer given before (戻る, editing), marked and shown; `page`: of a long list;
    `groups`: 地区 as (label, [(key, name)]) kana groups (handlers/settings.groups), else cards in city order."""
    body = question_text(survey, q, previous=previous, district_names=district_names)
    editing_keep = previous is not None
    if q.kind == SINGLE and len(q.options or []) <= QUICK_CHOICES:
        quick = [_act(survey, "survey.a", ((PICKED + " ") if previous == i else "") + opt, opt, q=q.key, x=i)
                 for i, opt in enumerate(q.options or [])]
        return [ui.text(body, quick + tail(survey, q))]
    if q.kind == SINGLE:
        return [_single_list(survey, q, body, previous=previous, page=page)]
    if q.kind == SCALE:
        quick = [_act(survey, "survey.a", ((PICKED + " ") if previous == v else "") + str(v), _scale_display(q, v),
                      q=q.key, x=v) for v in range(1, 6)]
        return [ui.text(body, quick + tail(survey, q))]
    if q.kind == MULTI:
        return [_multi(survey, q, selected)]
    if q.kind == DISTRICT:
        return [ui.text(body), _districts(survey, q, district_names, groups, previous, editing_keep)]
    quick = []
    if q.kind == DATE:
        picker = {"type": "datetimepicker", "label": T["btn_pick_date"],
                  "data": _act(survey, "survey.d", "x", q=q.key)["data"], "mode": "date"}
        if isinstance(previous, str):
            picker["initial"] = previous
        quick.append(picker)
    return [ui.text(body, quick + tail(survey, q, keep=editing_keep))]


def _scale_display(q, v: int) -> str:
    labels = list(q.scale_labels or [])
    if v == 1 and labels and labels[0]:
        return f"1（{labels[0]}）"
    if v == 5 and len(labels) > 1 and labels[1]:
        return f"5（{labels[1]}）"
    return str(v)


def _single_list(survey, q, body: str, *, previous, page: int) -> dict:
    opts = list(q.options or [])
    pages = max(1, -(-len(opts) // LIST_PAGE))
    page = min(max(0, page), pages - 1)
    lo, hi = page * LIST_PAGE, min(len(opts), (page + 1) * LIST_PAGE)
    rows = [text(body, size="sm"), separator(),
            text(T["page"].format(first=lo + 1, last=hi, total=len(opts)), size="xs", color=MUTED)]
    rows += [_choice_row(((PICKED + " ") if previous == i else "") + f"{i + 1}. {opts[i]}",
                         _act(survey, "survey.a", f"{i + 1}. {opts[i]}", opts[i], q=q.key, x=i), previous == i)
             for i in range(lo, hi)]
    footer = []
    if page > 0:
        footer.append(button(_act(survey, "survey.pg", T["btn_page_prev"], q=q.key, p=page - 1)))
    if page + 1 < pages:
        footer.append(button(_act(survey, "survey.pg", T["btn_page_next"], q=q.key, p=page + 1)))
    b = bubble(rows, header=_header(survey, q)[:1], footer=footer or None, size="mega")
    alt = T["question_alt"].format(pos=position_label(survey.questions, q.key), text=q.text)
    return ui.flex(alt, b, tail(survey, q))


def _multi(survey, q, selected: Iterable[int]) -> dict:
    chosen = sorted(set(int(i) for i in selected or ()))
    rows = [text(_hint(q), size="sm", color=MUTED)]
    if q.note:
        rows.insert(0, text(q.note, size="sm", color=MUTED))
    if not q.required:
        rows.append(text(T["hint_skip"], size="xs", color=MUTED))
    for i, opt in enumerate(q.options or []):
        on = i in chosen
        rows.append(_choice_row(f"{CHECK_ON if on else CHECK_OFF} {opt}",
                                _act(survey, "survey.t", f"{CHECK_ON if on else CHECK_OFF} {opt}",
                                     f"{opt}を外す" if on else f"{opt}を選ぶ", q=q.key, o=i, on=0 if on else 1), on))
    labels = "、".join(q.options[i] for i in chosen if 0 <= i < len(q.options or []))
    rows.append(text(T["selected"].format(labels=labels) if chosen else T["selected_none"], size="sm",
                     color=ACCENT if chosen else MUTED, weight="bold", margin="md"))
    nxt = T["btn_next"].format(n=len(chosen)) if chosen else T["btn_next_none"]
    footer = [button(_act(survey, "survey.n", nxt, q=q.key), "primary")]
    header = [*_header(survey, q)]
    if not q.required:
        header[1] = text(q.text + T["optional"], weight="bold")
    alt = T["question_alt"].format(pos=position_label(survey.questions, q.key), text=q.text)
    return ui.flex(alt, bubble(rows, header=header, footer=footer), tail(survey, q))


def _district_groups(district_names, groups) -> list[tuple[str, list[tuple[str, str]]]]:
    if groups:
        return [(label, list(ds)) for label, ds in groups if ds]
    ds = list(district_names)
    return [(f"{i + 1}〜{min(len(ds), i + DISTRICTS_PER_CARD)}", ds[i:i + DISTRICTS_PER_CARD])
            for i in range(0, len(ds), DISTRICTS_PER_CARD)]


def _districts(survey, q, district_names, groups, previous, keep: bool) -> dict:
    cards = []
    for label, ds in _district_groups(district_names, groups):
        rows = [_choice_row(((PICKED + " ") if previous == key else "") + name,
                            _act(survey, "survey.a", name, f"{name}地区" if not name.endswith("地区") else name,
                                 q=q.key, x=key), previous == key)
                for key, name in ds]
        header = [text(position_label(survey.questions, q.key), size="sm", color=ACCENT, weight="bold"),
                  text(T["district_page"].format(label=label), size="lg", weight="bold")]
        cards.append(bubble(rows, header=header, size="kilo"))
    alt = T["question_alt"].format(pos=position_label(survey.questions, q.key), text=q.text)
    return ui.flex(alt, {"type": "carousel", "contents": cards[:12]} if len(cards) > 1 else
                   (cards[0] if cards else bubble([text(T["not_found"])])), tail(survey, q, keep=keep))


# -- the confirmation screen -------------------------------------------------------------------------------------------

def confirmation_messages(survey, answers: dict, *, district_names: list[tuple[str, str]]) -> list[dict]:
    """Each answered question on the way (skip rules followed) with its answer; 送信する / 戻る / 最初から直す."""
    qs = ordered(survey.questions)
    keyed = {q.key: q for q in qs}
    names = dict(district_names)
    path, _ = walk(qs, answers)
    kept = kept_answers(qs, answers)
    number = {q.key: i + 1 for i, q in enumerate(qs)}
    rows = []
    for key in path:
        q = keyed[key]
        rows.append([text(f"Q{number[key]} {_cut(q.text, CONFIRM_TEXT)}", size="xs", color=MUTED),
                     text(_cut(answer_text(q, kept.get(key), names), CONFIRM_TEXT * 2), size="sm", weight="bold")])
    submit = _act(survey, "survey.submit", T["btn_submit"])
    back = _act(survey, "survey.back", T["btn_back"], q="confirm")
    redo = _act(survey, "survey.edit", T["btn_redo"])
    chunks = [rows[i:i + CONFIRM_ROWS] for i in range(0, len(rows), CONFIRM_ROWS)] or [[]]
    cards = []
    for n, chunk in enumerate(chunks):
        body = [text(T["confirm_intro"], size="sm", color=MUTED)] if n == 0 else []
        for pair in chunk:
            body += [separator("sm"), *pair]
        last = n == len(chunks) - 1
        footer = [button(submit, "primary"), button(back), button(redo, "link")] if last else None
        cards.append(bubble(body, header=[text(T["confirm_title"], size="lg", weight="bold"),
                                          text(_cut(survey.title, 60), size="sm", color=MUTED)],
                            footer=footer))
    alt = T["confirm_alt"].format(title=_cut(survey.title, 60))
    msgs = [flex_message(alt, group) for group in pack(cards)][:4]
    return ui.with_quick(msgs, [submit, back, redo, _act(survey, "survey.pause", T["btn_pause"])])


# -- the survey card and the list ---------------------------------------------------------------------------------------

def state_label(state: str, *, position: str | None = None, allow_edit: bool = False) -> str:
    if state == PROGRESS:
        return T["state_progress"].format(pos=position or "…")
    if state == EDITING:
        return T["state_editing"]
    if state == DONE:
        return T["state_done_edit"] if allow_edit else T["state_done"]
    return T["state_new"]


def privacy_sentence(survey) -> str:
    return T["anonymous"] if survey.anonymous else T["named"]


def card_buttons(survey, state: str, *, live: bool = True) -> list[dict]:
    if not live:
        return []
    if state == NEW:
        return [_act(survey, "survey.start", T["btn_start"], f"「{_cut(survey.title, 40)}」をはじめる")]
    if state in (PROGRESS, EDITING):
        return [_act(survey, "survey.start", T["btn_resume"], f"「{_cut(survey.title, 40)}」の続き")]
    if survey.allow_edit:
        return [_act(survey, "survey.edit", T["btn_edit"])]
    return [_act(survey, "survey.start", T["btn_done"])]


def survey_bubble(survey, *, now: datetime | None, state: str = NEW, position: str | None = None,
                  details: bool = False, live: bool = True) -> dict:
    """A survey: title, (intro), number of questions, 締切, its state, 無記名/記名; the button for its state."""
    done = state == DONE
    header = [text(state_label(state, position=position, allow_edit=survey.allow_edit), size="sm", weight="bold",
                   color=MUTED if done else (NOW if state in (PROGRESS, EDITING) else ACCENT)),
              {**text(survey.title, size="lg", weight="bold"), "maxLines": 3}]
    body = []
    if details and survey.intro:
        body.append(text(_cut(survey.intro, 500), size="sm"))
    body += [text(T["card_count"].format(n=len(survey.questions)), size="sm", color=MUTED),
             text(T["card_deadline"].format(deadline=deadline_text(survey, now)), size="sm", color=MUTED)]
    if details:
        body += [separator("sm"), text(privacy_sentence(survey), size="xs", color=MUTED)]
    footer = [button(a, "primary" if i == 0 and not done else "secondary")
              for i, a in enumerate(card_buttons(survey, state, live=live))]
    if not details:
        footer.append(button(_act(survey, "survey.open", T["btn_open"], f"「{_cut(survey.title, 40)}」を見る")))
    return bubble(body, header=header, footer=footer or None,
                  header_bg=NOW_SOFT if state in (PROGRESS, EDITING) else ACCENT_SOFT)


def card_message(survey, *, now: datetime | None, state: str, position: str | None = None,
                 live: bool = True) -> dict:
    return flex_message(_cut(survey.title, 300), [survey_bubble(survey, now=now, state=state, position=position,
                                                                details=True, live=live)])


def list_quick() -> list[dict]:
    return tail_quick()


def list_messages(items: list[tuple[object, str, str | None]], *, now: datetime | None, more: int = 0) -> list[dict]:
    """The surveys the resident may answer: (survey, state, position) each, closing soonest first."""
    intro = T["list_intro"] + ("\n" + T["list_more"].format(n=more) if more else "")
    bubbles = [survey_bubble(s, now=now, state=st, position=pos) for s, st, pos in items]
    msgs = [ui.text(intro)] + [flex_message(T["list_intro"], group) for group in pack(bubbles)][:3]
    return msgs
