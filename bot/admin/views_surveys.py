"""アンケート in the admin (step 9): a survey team builds its surveys (staff: every team's): settings, questions
with skip rules (移動先), a preview of each question as LINE shows it, and the status steps 公開 / 締め切る /
下書きに戻す / 削除.

Who may open which survey is policy.py's (`load=Survey` on every item route: another team's survey is a 403).
A question is reached only through its survey (/admin/surveys/<item_id>/questions/<qid>/...): a question of
another survey is a 404. The rules of a structure and of an edit are bot/survey_logic.py's: after every change
structure_problems is shown on the survey's page (a draft may be incomplete; opening is refused while any
remain, and an open survey is never left unanswerable), and once anyone has answered, breaking_changes refuses
what would break their answers (409, the page says why, nothing saved).

The LINE side's pieces: handlers/surveys_flex.py draws the preview; bot/survey_notices.py queues the invitation on
公開 and withdraws what has not been sent on 締め切る / 下書きに戻す / 削除.
"""
from __future__ import annotations

import re

from flask import abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import exists, func, select

from bot import publish as publishing
from bot import segments
from bot import survey_logic as logic
from bot import survey_notices
from bot.admin import announce_flow, audit
from bot.admin import listing_flow as flow
from bot.admin import survey_forms as sf
from bot.admin.blueprint import bp
from bot.admin.forms import choices
from bot.admin.policy import CONTENT_ALL, SURVEYS_MANAGE, has, requires, scope
from bot.clock import to_tokyo, utc
from handlers import surveys_flex
from models.accounts import AuditEntry, SurveyTeam
from models.publications import EXPANDING, SCHEDULED, Publication
from models.surveys import (CLOSED, DRAFT, END, IN_PROGRESS, MULTI, NUMBER, OPEN, SCALE, SINGLE, SUBMITTED, TEXT,
                            DATE, DISTRICT, Survey, SurveyQuestion, SurveyResponse)

STATUS_LABELS = {DRAFT: "下書き", OPEN: "公開中", CLOSED: "締切"}
PAGE_SIZE = 50
KEY_RE = re.compile(r"^q(\d+)\b")


# --- reading --------------------------------------------------------------------------------------------------

def _question_of(item: Survey, qid: int) -> SurveyQuestion:
    """The question named in the URL, only under its own survey (the policy checked the survey)."""
    q = g.db.get(SurveyQuestion, qid)
    if q is None or q.survey_id != item.id:
        abort(404)
    return q


def _has_responses(item: Survey) -> bool:
    """Anyone has started or submitted an answer: from then on edits must not break their answers."""
    return bool(g.db.scalar(select(exists().where(SurveyResponse.survey_id == item.id))))


def _response_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {SUBMITTED: 0, IN_PROGRESS: 0} for i in ids}
    if ids:
        rows = g.db.execute(select(SurveyResponse.survey_id, SurveyResponse.status, func.count())
                            .where(SurveyResponse.survey_id.in_(ids))
                            .group_by(SurveyResponse.survey_id, SurveyResponse.status))
        for sid, status, n in rows:
            out[sid][status] = n
    return out


def _teams() -> list[SurveyTeam]:
    return list(g.db.scalars(select(SurveyTeam).order_by(SurveyTeam.name)))


def team_name(team_id: int | None) -> str:
    if team_id is None:
        return "市（職員）"
    team = g.db.get(SurveyTeam, team_id)
    return team.name if team is not None else "市（職員）"


def period(item: Survey) -> str:
    a, b = to_tokyo(item.opens_at), to_tokyo(item.closes_at)
    return f"{a:%Y/%m/%d %H:%M}〜{b:%Y/%m/%d %H:%M}"


def _district_pairs() -> list[tuple[str, str]]:
    return list(flow.district_names().items())


def target_text(item: Survey) -> str:
    seg = segments.Segment.from_json(item.segment or {})
    if seg.is_everyone():
        return "友だち全員"
    return announce_flow.describe(seg, g.rt.config.city, dict(announce_flow.projects(g.db)))


def _labels(questions) -> dict[str, str]:
    """key -> 'Q3' by position, and END -> 終了."""
    out = {q.key: f"Q{i}" for i, q in enumerate(logic.ordered(questions), start=1)}
    out[END] = "終了"
    return out


def _rules_text(q: SurveyQuestion, labels: dict[str, str]) -> list[str]:
    """「いいえ」→ Q5: the question's skip rules in the team's words."""
    answers = dict(sf.branch_answers(q.kind, list(q.options or []), list(q.scale_labels or [])))
    rules = sorted((q.branches or {}).items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
    return [f"「{answers.get(a, a)}」→ {labels.get(t, t)}" for a, t in rules]


def _detail_text(q: SurveyQuestion) -> str:
    """What the question asks for beyond its text: options, limits."""
    if q.kind in (SINGLE, MULTI):
        text = "／".join(q.options or [])
        return text + (f"（{q.max_choices}つまで）" if q.kind == MULTI and q.max_choices else "")
    if q.kind == SCALE:
        labels = list(q.scale_labels or []) + ["", ""]
        return f"1（{labels[0] or '—'}）〜5（{labels[1] or '—'}）"
    if q.kind == NUMBER:
        unit = q.unit or ""
        lo = "" if q.min_value is None else f"{q.min_value}{unit}"
        hi = "" if q.max_value is None else f"{q.max_value}{unit}"
        return f"{lo}〜{hi}" if (lo or hi) else "範囲の指定なし"
    if q.kind == TEXT:
        return f"{q.max_length or logic.DEFAULT_TEXT_LENGTH}文字まで"
    if q.kind == DATE:
        return "カレンダーから選ぶ（入力も可）"
    if q.kind == DISTRICT:
        return "地区の一覧から選ぶ"
    return ""


# --- the list ---------------------------------------------------------------------------------------------------

@bp.get("/surveys")
@requires(SURVEYS_MANAGE)
def surveys():
    status = flow.status_filter(STATUS_LABELS)
    page = flow.page_number()
    stmt = scope(select(Survey), Survey, g.account)
    if status:
        stmt = stmt.where(Survey.status == status)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = g.db.scalars(stmt.order_by(Survey.updated_at.desc(), Survey.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("admin/surveys.html", items=items, status=status, labels=STATUS_LABELS, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), counts=_response_counts([s.id for s in items]),
                           team_names={t.id: t.name for t in _teams()}, period=period, now=g.now,
                           live=lambda s: logic.is_live(s, g.now), upcoming=lambda s: utc(s.opens_at) > g.now)


# --- settings ---------------------------------------------------------------------------------------------------

def _settings_form(item: Survey | None) -> sf.SurveyForm:
    form = sf.SurveyForm()
    form.districts.choices = choices(announce_flow.districts(g.rt.config.city))
    form.projects.choices = choices(announce_flow.projects(g.db))
    if has(g.account, CONTENT_ALL):
        form.survey_team_id.choices = choices([(0, "（なし・市の職員）")] + [(t.id, t.name) for t in _teams()])
    else:
        del form.survey_team_id  # a team writes for itself only: not offered, so it cannot be forged
    if request.method == "GET" and item is not None:
        form.fill(item)
    return form


def _render_settings(form, item: Survey | None, status: int = 200, refused: list[str] | None = None):
    return render_template(
        "admin/surveys_form.html", form=form, item=item, refused=refused or [],
        answered=item is not None and _has_responses(item),
        district_groups=announce_flow.district_groups(g.rt.config.city),
        project_choices=announce_flow.projects(g.db), topic_choices=list(announce_flow.TOPIC_LABELS.items()),
        anonymous_note=sf.ANONYMOUS_NOTE, named_note=sf.NAMED_NOTE,
    ), status


def _same_target(a: dict, b: dict) -> bool:
    def norm(raw):
        s = segments.Segment.from_json(raw or {})
        kinds = sum(bool(x) for x in (s.districts, s.projects, s.topics))
        return (sorted(s.districts), sorted(s.projects), sorted(s.topics), s.match if kinds > 1 else None)

    return norm(a) == norm(b)


def _settings_refusals(form: sf.SurveyForm, item: Survey) -> bool:
    """Once anyone has answered: what would change the meaning of their answers is refused (errors beside the
    fields). True when nothing is refused."""
    ok = True
    if (form.privacy.data == sf.ANONYMOUS) != bool(item.anonymous):
        form.privacy.errors.append("回答があるため、無記名・記名は変えられません（回答の保存のしかたが違うため）。")
        ok = False
    if not _same_target(form.segment(), item.segment):
        form.target.errors.append("回答があるため、回答をお願いする相手は変えられません（答えた方と対象が食い違うため）。")
        ok = False
    if form.opens_at.when is not None and form.opens_at.when != utc(item.opens_at):
        form.opens_at.errors.append("回答があるため、受付開始は変えられません。")
        ok = False
    if form.closes_at.when is not None and form.closes_at.when < utc(item.closes_at):
        form.closes_at.errors.append("回答があるため、締切は後ろにのばすことだけできます。"
                                     "すぐに締め切るときは、アンケートの画面で「締め切る」を押してください。")
        ok = False
    return ok


def _compose(item: Survey | None):
    form = _settings_form(item)
    if request.method == "GET":
        return _render_settings(form, item)
    ok = form.validate()
    ok = form.window_problems(g.now, item) and ok
    if not ok:
        return _render_settings(form, item, 422)
    if item is not None and _has_responses(item) and not _settings_refusals(form, item):
        return _render_settings(form, item, 409)
    new = item is None
    if new:
        item = Survey(status=DRAFT, source="admin", created_at=g.now, updated_at=g.now, segment={})
        g.db.add(item)
    was = None if new else _invite_facts(item)
    item.survey_team_id = (form.survey_team_id.data or None) if "survey_team_id" in form else g.account.survey_team_id
    item.title, item.intro = form.title.data.strip(), (form.intro.data or None)
    item.opens_at, item.closes_at, item.remind_at = form.opens_at.when, form.closes_at.when, form.remind_at.when
    item.anonymous, item.allow_edit = form.privacy.data == sf.ANONYMOUS, bool(form.allow_edit.data)
    item.segment, item.updated_at = form.segment(), g.now
    told = "" if new else _refresh_invitation(item, was)
    audit.record(g.db, "survey.create" if new else "survey.update", actor=g.account, obj=item, summary=item.title)
    g.db.commit()
    flash("アンケートを保存しました。" + ("「質問を追加」から質問を作ってください。" if new else told), "success")
    return redirect(url_for("admin.survey", item_id=item.id))


def _invite_facts(item: Survey) -> tuple:
    """What the invitation card and its audience are made of."""
    seg = segments.Segment.from_json(item.segment or {})
    return (item.title, item.intro, utc(item.opens_at), utc(item.closes_at), seg.to_json())


def _refresh_invitation(item: Survey, was: tuple) -> str:
    """An open survey's invitation that has not started sending follows a change of its title, introduction,
    times or target: the queued one is cancelled and bot.survey_notices.on_opened queues it again (its next
    round). One already sending is left as it is."""
    if item.status != OPEN or item.invite_publication_id is None or was == _invite_facts(item):
        return ""
    status = g.db.scalar(select(Publication.status).where(Publication.id == item.invite_publication_id))
    if status not in (SCHEDULED, EXPANDING):
        return ""
    publishing.cancel(g.db, item.invite_publication_id)
    survey_notices.on_opened(g.db, item, now=g.now)
    return "まだ送っていない回答のお願いも、新しい内容にしました。"


@bp.route("/surveys/new", methods=["GET", "POST"])
@requires(SURVEYS_MANAGE)
def survey_new():
    return _compose(None)


@bp.route("/surveys/<int:item_id>/edit", methods=["GET", "POST"])
@requires(SURVEYS_MANAGE, load=Survey)
def survey_edit(item: Survey):
    return _compose(item)


# --- the survey's page ------------------------------------------------------------------------------------------

def _detail(item: Survey, error: str | None = None, reasons: list[str] | None = None, status: int = 200):
    qs = logic.ordered(item.questions)
    labels = _labels(qs)
    rows = [{"q": q, "label": labels[q.key], "kind": logic.KIND_LABELS.get(q.kind, q.kind), "detail": _detail_text(q),
             "rules": _rules_text(q, labels)} for q in qs]
    counts = _response_counts([item.id])[item.id]
    return render_template(
        "admin/surveys_detail.html", item=item, labels=STATUS_LABELS, rows=rows, problems=logic.structure_problems(qs),
        error=error, reasons=reasons or [], counts=counts, answered=_has_responses(item),
        team=team_name(item.survey_team_id),
        period=period(item), target=target_text(item), live=logic.is_live(item, g.now),
        privacy_note=sf.ANONYMOUS_NOTE if item.anonymous else sf.NAMED_NOTE, max_questions=logic.MAX_QUESTIONS,
    ), status


@bp.get("/surveys/<int:item_id>")
@requires(SURVEYS_MANAGE, load=Survey)
def survey(item: Survey):
    return _detail(item)


def _refuse(item: Survey, message: str, reasons: list[str] | None = None, status: int = 409):
    """The survey's page again with why; nothing of this request is kept."""
    g.db.rollback()
    return _detail(g.db.get(Survey, item.id), message, reasons, status)


def _done(item_id: int, message: str, category: str = "success"):
    g.db.commit()
    flash(message, category)
    return redirect(url_for("admin.survey", item_id=item_id))


# --- questions -------------------------------------------------------------------------------------------------

def _next_key(item: Survey) -> str:
    """"q" + (the highest number this survey has used + 1): never a key used before, a deleted question's
    included (its number is in the audit entry of its deletion), so no stored answer or rule can point at a
    different question later."""
    used = [int(m.group(1)) for q in item.questions if (m := KEY_RE.match(q.key))]
    deleted = g.db.scalars(select(AuditEntry.summary).where(
        AuditEntry.action == "survey.question_delete", AuditEntry.object_type == "surveys",
        AuditEntry.object_id == str(item.id)))
    used += [int(m.group(1)) for s in deleted if (m := KEY_RE.match(s or ""))]
    return f"q{max(used, default=0) + 1}"


def _edit_refusals(item: Survey, before: list[dict]) -> list[str]:
    """Why the change just made to `item`'s questions (in the session, not committed) must not be kept."""
    qs = logic.ordered(item.questions)
    if _has_responses(item):
        if reasons := logic.breaking_changes(before, [logic.snapshot(q) for q in qs]):
            return reasons
    if item.status == OPEN and (problems := logic.structure_problems(qs)):
        return ["公開中のアンケートを、答えられない形にはできません。直すときは、先に「締め切る」を押してください。"] + problems
    return []


def _saved(item: Survey, message: str):
    """After a change to the questions: commit, and say what still keeps it from being opened."""
    item.updated_at = g.now
    g.db.commit()
    problems = logic.structure_problems(g.db.get(Survey, item.id).questions)
    flash(message, "success")
    if problems:
        flash(f"このままでは公開できません（{len(problems)}件）。下の「直すところ」を見てください。", "warning")
    return redirect(url_for("admin.survey", item_id=item.id))


def _question_page(item: Survey, q: SurveyQuestion | None, form, branches: dict, status: int = 200,
                   branch_errors: dict | None = None, refused: list[str] | None = None):
    qs = logic.ordered(item.questions)
    labels = _labels(qs)
    if q is None or q not in qs:
        later: list[SurveyQuestion] = []
    else:
        later = qs[qs.index(q) + 1:]
    kind = form.kind.data or SINGLE
    options = form.option_list()
    scale = [form.scale_low.data or "", form.scale_high.data or ""]
    return render_template(
        "admin/surveys_question_form.html", item=item, q=q, form=form, refused=refused or [],
        number=labels.get(q.key) if q is not None and q.key in labels else f"Q{len(qs) + 1}",
        targets=sf.target_choices([(x.key, f"{labels[x.key]} {x.text[:30]}") for x in later]),
        single_answers=sf.branch_answers(SINGLE, options) if kind == SINGLE else [],
        scale_answers=sf.branch_answers(SCALE, [], scale), kind=kind,
        branches={f"go_{a}": t for a, t in (branches or {}).items()}, branch_errors=branch_errors or {},
        answered=_has_responses(item), kind_labels=logic.KIND_LABELS,
    ), status


def _question_compose(item: Survey, q: SurveyQuestion | None):
    form = sf.QuestionForm()
    if request.method == "GET":
        if q is not None:
            form.fill(q)
        return _question_page(item, q, form, dict(q.branches or {}) if q is not None else {})
    qs = logic.ordered(item.questions)
    if q is None and len(qs) >= logic.MAX_QUESTIONS:
        return _refuse(item, f"質問は{logic.MAX_QUESTIONS}問までです。", status=422)
    ok = form.validate()
    later = {x.key for x in qs[qs.index(q) + 1:]} if q is not None else set()
    kind = form.kind.data
    rules, branch_errors = ({}, {})
    if kind in logic.BRANCHING and request.form.get("branch_kind") == kind:  # selects drawn for this kind
        rules, branch_errors = sf.read_branches(request.form, kind, form.option_list(), later)
    elif q is not None and q.kind == kind and kind in logic.BRANCHING:  # no selects sent: the rules stay
        rules = {a: t for a, t in (q.branches or {}).items() if a in dict(sf.branch_answers(kind, form.option_list()))}
    if not ok or branch_errors:
        raw = {k.removeprefix("go_"): v for k, v in request.form.items() if k.startswith("go_") and v}
        return _question_page(item, q, form, raw, 422, branch_errors)
    before = [logic.snapshot(x) for x in qs]
    new = q is None
    if new:
        q = SurveyQuestion(key=_next_key(item), position=len(qs) + 1)
        item.questions.append(q)
    for name, value in form.values().items():
        setattr(q, name, value)
    q.branches = rules
    if refused := _edit_refusals(item, before):
        g.db.rollback()
        item = g.db.get(Survey, item.id)
        q = None if new else g.db.get(SurveyQuestion, q.id)
        raw = {k.removeprefix("go_"): v for k, v in request.form.items() if k.startswith("go_") and v}
        return _question_page(item, q, form, raw, 409, refused=refused)
    audit.record(g.db, "survey.question_create" if new else "survey.question_update", actor=g.account, obj=item,
                 summary=f"{q.key}: {q.text[:60]}")
    return _saved(item, "質問を追加しました。" if new else "質問を保存しました。")


@bp.route("/surveys/<int:item_id>/questions/new", methods=["GET", "POST"])
@requires(SURVEYS_MANAGE, load=Survey)
def survey_question_new(item: Survey):
    return _question_compose(item, None)


@bp.route("/surveys/<int:item_id>/questions/<int:qid>/edit", methods=["GET", "POST"])
@requires(SURVEYS_MANAGE, load=Survey)
def survey_question_edit(item: Survey, qid: int):
    return _question_compose(item, _question_of(item, qid))


@bp.post("/surveys/<int:item_id>/questions/<int:qid>/delete")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_question_delete(item: Survey, qid: int):
    q = _question_of(item, qid)
    before = [logic.snapshot(x) for x in logic.ordered(item.questions)]
    key, text = q.key, q.text
    item.questions.remove(q)
    dropped = 0
    for i, other in enumerate(logic.ordered(item.questions), start=1):
        other.position = i
        if any(t == key for t in (other.branches or {}).values()):
            other.branches = {a: t for a, t in other.branches.items() if t != key}
            dropped += 1
    if refused := _edit_refusals(item, before):
        return _refuse(item, "この質問は削除できません。", refused)
    audit.record(g.db, "survey.question_delete", actor=g.account, obj=item, summary=f"{key}: {text[:60]}")
    note = f"この質問へ進む移動の設定（{dropped}問）は外しました。" if dropped else ""
    return _saved(item, "質問を削除しました。" + note)


@bp.post("/surveys/<int:item_id>/questions/<int:qid>/move")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_question_move(item: Survey, qid: int):
    q = _question_of(item, qid)
    qs = logic.ordered(item.questions)
    before = [logic.snapshot(x) for x in qs]
    i = qs.index(q)
    j = i - 1 if request.form.get("direction") == "up" else i + 1
    if not 0 <= j < len(qs):
        return _refuse(item, "これ以上は動かせません。", status=422)
    qs[i], qs[j] = qs[j], qs[i]
    for n, x in enumerate(qs, start=1):
        x.position = n
    if refused := _edit_refusals(item, before):
        return _refuse(item, "質問の順番を変えられません。", refused)
    audit.record(g.db, "survey.question_move", actor=g.account, obj=item, summary=f"{q.key}: Q{i + 1}→Q{j + 1}")
    return _saved(item, f"質問の順番を変えました（Q{i + 1} → Q{j + 1}）。")


# --- status -----------------------------------------------------------------------------------------------------

@bp.post("/surveys/<int:item_id>/open")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_open(item: Survey):
    if item.status == OPEN:
        return _refuse(item, "このアンケートはすでに公開中です。")
    if problems := logic.structure_problems(item.questions):
        return _refuse(item, "直すところがあるため、公開できません。", problems, 422)
    if utc(item.closes_at) <= g.now:
        return _refuse(item, "締切が過ぎているため、公開できません。「設定を編集」で締切をのばしてください。", status=422)
    if item.remind_at is not None and utc(item.remind_at) <= g.now:
        item.remind_at = None  # a reminder time already past would go out at once: dropped, and said so
        flash("リマインドの日時が過ぎていたため、リマインドは送りません。送るときは設定で日時を入れ直してください。", "warning")
    item.status, item.updated_at = OPEN, g.now
    survey_notices.on_opened(g.db, item, now=g.now)
    told = "対象の方に、回答のお願いをLINEでお送りします（夜間は朝になってから届きます）。"
    item.opened_at = item.opened_at or g.now
    audit.record(g.db, "survey.open", actor=g.account, obj=item, summary=item.title)
    start = "" if utc(item.opens_at) <= g.now else f"受付開始（{to_tokyo(item.opens_at):%m/%d %H:%M}）から"
    return _done(item.id, f"公開しました。{start}LINEの「アンケート」に表示されます。" + told)


def _stop_notices(item: Survey) -> None:
    survey_notices.on_closed(g.db, item)


@bp.post("/surveys/<int:item_id>/close")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_close(item: Survey):
    if item.status != OPEN:
        return _refuse(item, "締め切れるのは、公開中のアンケートです。")
    item.status, item.updated_at = CLOSED, g.now
    _stop_notices(item)
    audit.record(g.db, "survey.close", actor=g.account, obj=item, summary=item.title)
    return _done(item.id, "締め切りました。これからは回答できません（回答中の方にもそう伝わります）。")


@bp.post("/surveys/<int:item_id>/draft")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_draft(item: Survey):
    if item.status == DRAFT:
        return _refuse(item, "このアンケートはすでに下書きです。")
    if _has_responses(item):
        return _refuse(item, "回答があるため、下書きには戻せません（締め切ることはできます）。")
    item.status, item.updated_at = DRAFT, g.now
    _stop_notices(item)  # an invitation not sent yet is withdrawn
    audit.record(g.db, "survey.draft", actor=g.account, obj=item, summary=item.title)
    return _done(item.id, "下書きに戻しました。LINEには表示されません。")


@bp.post("/surveys/<int:item_id>/delete")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_delete(item: Survey):
    if _has_responses(item):
        return _refuse(item, "回答があるため、削除できません（締め切ることはできます）。")
    if item.status == OPEN:
        _stop_notices(item)
    audit.record(g.db, "survey.delete", actor=g.account, obj=item, summary=item.title)
    g.db.delete(item)
    g.db.commit()
    flash("アンケートを削除しました。", "success")
    return redirect(url_for("admin.surveys"))


# --- preview ----------------------------------------------------------------------------------------------------

def _draw(message: dict) -> Markup:
    """One LINE message as the preview draws it: text, Flex (listing_flow.flex_html), a template's text and
    buttons; its quick replies as buttons under it."""
    kind = message.get("type")
    if kind == "text":
        body = Markup('<div class="bubble bubble-text" data-message="text">{}</div>').format(message.get("text", ""))
    elif kind == "flex":
        body = Markup('<div class="bubble bubble-buttons" data-message="flex">{}</div>').format(flow.flex_html(message))
    elif kind == "template":
        t = message.get("template") or {}
        actions = Markup("").join(Markup('<span class="link-button">{}</span>').format(a.get("label", ""))
                                  for a in t.get("actions") or ())
        body = Markup('<div class="bubble bubble-buttons" data-message="template"><p>{}</p>{}</div>').format(
            t.get("text", ""), actions)
    else:
        body = Markup('<div class="bubble" data-message="{}">［{}］</div>').format(kind or "", kind or "")
    items = (message.get("quickReply") or {}).get("items") or ()
    if items:
        chips = Markup("").join(Markup('<span class="link-button quick-reply">{}</span>').format(
            (i.get("action") or {}).get("label", "")) for i in items)
        body += Markup('<div class="bubble bubble-buttons quick-replies" data-message="quick-replies">{}</div>'
                       ).format(chips)
    return body


def _plain_messages(item: Survey, q: SurveyQuestion, district_names: list[tuple[str, str]]) -> list[dict]:
    """A plain stand-in for the LINE side's view while handlers/surveys_flex.py is not there."""
    lines = [logic.position_label(item.questions, q.key), q.text] + ([q.note] if q.note else [])
    labels: list[str] = []
    if q.kind in (SINGLE, MULTI):
        labels = list(q.options or [])
    elif q.kind == SCALE:
        labels = [str(v) for v in range(1, logic.SCALE_POINTS + 1)]
    elif q.kind == DISTRICT:
        labels = [name for _k, name in district_names][:10]
    elif q.kind == DATE:
        labels = ["日付を選ぶ"]
    else:
        lines.append("（文字で入力してください）")
    labels += ["戻る"] + ([] if q.required else ["スキップ"]) + ["中断"]
    return [{"type": "text", "text": "\n".join(lines),
             "quickReply": {"items": [{"type": "action", "action": {"type": "message", "label": x, "text": x}}
                                      for x in labels]}}]


def _example_answer(q: SurveyQuestion, district_keys: list[str]):
    """A valid answer of each kind, for the confirmation screen's preview."""
    if q.kind == SINGLE:
        return 0
    if q.kind == MULTI:
        return [0]
    if q.kind == SCALE:
        return 3
    if q.kind == NUMBER:
        if q.min_value is not None:
            return q.min_value
        return q.max_value if q.max_value is not None and q.max_value < 1 else 1
    if q.kind == TEXT:
        return "（自由記述の回答）"
    if q.kind == DATE:
        return f"{to_tokyo(g.now):%Y-%m-%d}"
    if q.kind == DISTRICT:
        return district_keys[0] if district_keys else None
    return None


@bp.get("/surveys/<int:item_id>/preview")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_preview(item: Survey):
    pairs = _district_pairs()
    qs = logic.ordered(item.questions)
    labels = _labels(qs)
    shown, failed = [], False
    for q in qs:
        messages = flow.safe_bubble(surveys_flex.question_messages, item, q, district_names=pairs)
        failed = failed or messages is None
        if messages is None:
            messages = _plain_messages(item, q, pairs)
        shown.append({"q": q, "label": labels[q.key], "kind": logic.KIND_LABELS.get(q.kind, q.kind),
                      "html": Markup("").join(_draw(m) for m in messages), "rules": _rules_text(q, labels)})
    confirm = None
    if qs and not logic.structure_problems(qs):
        keys = [k for k, _ in pairs]
        answers: dict = {}
        key = logic.first_key(qs)
        by_key = logic.by_key(qs)
        while key != END and key not in answers:
            answers[key] = _example_answer(by_key[key], keys)
            key = logic.next_key(qs, key, answers[key])
        messages = flow.safe_bubble(surveys_flex.confirmation_messages, item, answers, district_names=pairs)
        if messages:
            confirm = Markup("").join(_draw(m) for m in messages)
    return render_template("admin/surveys_preview.html", item=item, shown=shown, confirm=confirm,
                           failed=failed)
