"""よくある質問 in the admin (step 10): the city's staff write question → answer entries with the ways residents
phrase them, see the answer as LINE shows it, publish and unpublish them; and read what residents asked that the
bot did not understand (text, count, last seen: no resident), to turn a line of it into a new entry, into one
more phrasing of an existing entry, or into a phrase that opens a menu feature, a project or an action
(models/faq.NluPhrase, read by the router through bot/faq.phrase_route) in one step.

Staff only (FAQ_MANAGE). Every save bumps the entry's `revision`, which is how bot/faq.py's per-process index in
every web and worker process notices the change: this process at its next message (`_commit` calls
bot/faq.forget), the others within bot/faq.CHECK_INTERVAL_S. The not-understood texts are residents'
words: they never go into the audit log's summary.
"""
from __future__ import annotations

import unicodedata

from flask import flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Optional, ValidationError

from bot import faq as matching
from bot.admin import audit
from bot.admin import listing_flow as flow
from bot.admin.blueprint import bp
from bot.admin.forms import REQUIRED, JaDateField, JaForm, max_len
from bot.admin.policy import FAQ_MANAGE, requires
from bot.clock import to_tokyo
from handlers import faq_flex
from models import plan as P
from models.faq import ANSWER_MAX, DRAFT, PUBLISHED, QUESTION_MAX, FaqEntry, NluMiss, NluPhrase

STATUS_LABELS = {DRAFT: "下書き", PUBLISHED: "公開中"}
PAGE_SIZE = 50
MISSES_PAGE_SIZE = 100
EXAMPLES_MAX = 50
SORTS = {"count": "多い順", "recent": "新しい順"}


def _lines(raw: str | None) -> list[str]:
    """One phrasing per line: trimmed, NFKC-compared duplicates and empty lines dropped, order kept."""
    out, seen = [], set()
    for line in (raw or "").replace("\r\n", "\n").split("\n"):
        s = line.strip()
        key = unicodedata.normalize("NFKC", s).lower()
        if s and key not in seen:
            seen.add(key)
            out.append(s)
    return out


class FaqForm(JaForm):
    question = StringField("質問", [InputRequired(REQUIRED), max_len(QUESTION_MAX)])
    answer = TextAreaField("答え（LINEに表示されます）", [InputRequired(REQUIRED), max_len(ANSWER_MAX)],
                           render_kw={"rows": 6}, filters=[lambda s: s.replace("\r\n", "\n").strip() if s else s])
    examples = TextAreaField("住民の方の言い方の例（1行に1つ）", [Optional()], render_kw={"rows": 6})
    department = StringField("担当課", [Optional(), max_len(100)])
    review_on = JaDateField("見直す日", [Optional()], render_kw={"type": "date"})

    def validate_examples(self, field) -> None:
        lines = _lines(field.data)
        if len(lines) > EXAMPLES_MAX:
            raise ValidationError(f"言い方の例は{EXAMPLES_MAX}行までです。")
        if long := [s for s in lines if len(s) > QUESTION_MAX]:
            raise ValidationError(f"1行は{QUESTION_MAX}文字以内にしてください（{len(long)}行が長すぎます）。")

    def fill(self, entry: FaqEntry) -> None:
        self.question.data, self.answer.data = entry.question, entry.answer
        self.examples.data = "\n".join(entry.examples or [])
        self.department.data, self.review_on.data = entry.department or "", entry.review_on


def _today():
    return to_tokyo(g.now).date()


def touch(entry: FaqEntry) -> None:
    """Every change: bot/faq.py's index in each process sees the revision move and rebuilds."""
    entry.revision = (entry.revision or 0) + 1
    entry.updated_at = g.now


def _commit() -> None:
    """Commit a change to entries or phrases; this process's bot/faq.py copies look at it at the next message
    (other processes within bot/faq.CHECK_INTERVAL_S)."""
    g.db.commit()
    matching.forget()


def _miss_from_args() -> NluMiss | None:
    raw = request.values.get("miss", "")
    return g.db.get(NluMiss, int(raw)) if raw.isdigit() and 0 < int(raw) < 2 ** 31 else None


# --- the list ---------------------------------------------------------------------------------------------------

@bp.get("/faq")
@requires(FAQ_MANAGE)
def faq():
    status = flow.status_filter(STATUS_LABELS)
    page = flow.page_number()
    stmt = select(FaqEntry)
    if status:
        stmt = stmt.where(FaqEntry.status == status)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = g.db.scalars(stmt.order_by(FaqEntry.updated_at.desc(), FaqEntry.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    misses = g.db.scalar(select(func.count()).select_from(NluMiss)) or 0
    return render_template("admin/faq.html", items=items, status=status, labels=STATUS_LABELS, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), today=_today(), misses=misses)


# --- add and edit -----------------------------------------------------------------------------------------------

def _compose(item: FaqEntry | None):
    form = FaqForm()
    miss = _miss_from_args() if item is None else None
    if request.method == "GET":
        if item is not None:
            form.fill(item)
        elif miss is not None:  # 「FAQを作る」 from the not-understood list: the resident's words twice
            form.question.data, form.examples.data = miss.text, miss.text
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 422
        return render_template("admin/faq_form.html", form=form, item=item, miss=miss), status
    new = item is None
    if new:
        item = FaqEntry(status=DRAFT, created_at=g.now, updated_at=g.now, revision=0, created_by=g.account.id)
        g.db.add(item)
    item.question, item.answer = form.question.data.strip(), form.answer.data
    item.examples = [s for s in _lines(form.examples.data) if s != item.question]
    item.department = (form.department.data or "").strip() or None
    item.review_on = form.review_on.data
    publish = request.form.get("then") == "publish"
    if publish:
        item.status = PUBLISHED
    touch(item)
    audit.record(g.db, "faq.create" if new else "faq.update", actor=g.account, obj=item, summary=item.question[:100])
    if publish:
        audit.record(g.db, "faq.publish", actor=g.account, obj=item, summary=item.question[:100])
    if miss is not None:  # the line is answered now: it leaves the list
        g.db.delete(miss)
    _commit()
    flash(("公開しました。LINEで質問されると、この答えをお返しします。" if publish else "保存しました（下書き）。"
           "「公開する」を押すとLINEで答えます。") if new or publish else "保存しました。", "success")
    return redirect(url_for("admin.faq_entry", item_id=item.id))


@bp.route("/faq/new", methods=["GET", "POST"])
@requires(FAQ_MANAGE)
def faq_new():
    return _compose(None)


@bp.route("/faq/<int:item_id>/edit", methods=["GET", "POST"])
@requires(FAQ_MANAGE, load=FaqEntry)
def faq_edit(item: FaqEntry):
    return _compose(item)


# --- the entry's page: facts, the LINE preview, status steps ---------------------------------------------------

def _draw(message: dict) -> Markup:
    """One LINE message as the preview draws it (Flex through listing_flow.flex_html), quick replies under it."""
    if message.get("type") == "flex":
        body = Markup('<div class="bubble bubble-buttons" data-message="flex">{}</div>').format(flow.flex_html(message))
    else:
        body = Markup('<div class="bubble bubble-text" data-message="text">{}</div>').format(message.get("text", ""))
    items = (message.get("quickReply") or {}).get("items") or ()
    if items:
        chips = Markup("").join(Markup('<span class="link-button quick-reply">{}</span>').format(
            (i.get("action") or {}).get("label", "")) for i in items)
        body += Markup('<div class="bubble bubble-buttons quick-replies" data-message="quick-replies">{}</div>'
                       ).format(chips)
    return body


@bp.get("/faq/<int:item_id>")
@requires(FAQ_MANAGE, load=FaqEntry)
def faq_entry(item: FaqEntry):
    messages = flow.safe_bubble(faq_flex.answer_messages, item) or []
    return render_template("admin/faq_detail.html", item=item, labels=STATUS_LABELS, today=_today(),
                           preview=Markup("").join(_draw(m) for m in messages))


def _step(item: FaqEntry, status: str, action: str, message: str):
    if item.status != status:
        item.status = status
        touch(item)
        audit.record(g.db, action, actor=g.account, obj=item, summary=item.question[:100])
    _commit()
    flash(message, "success")
    return redirect(url_for("admin.faq_entry", item_id=item.id))


@bp.post("/faq/<int:item_id>/publish")
@requires(FAQ_MANAGE, load=FaqEntry)
def faq_publish(item: FaqEntry):
    return _step(item, PUBLISHED, "faq.publish", "公開しました。LINEで質問されると、この答えをお返しします。")


@bp.post("/faq/<int:item_id>/unpublish")
@requires(FAQ_MANAGE, load=FaqEntry)
def faq_unpublish(item: FaqEntry):
    return _step(item, DRAFT, "faq.unpublish", "公開をやめました（下書き）。LINEではこの答えを使いません。")


@bp.post("/faq/<int:item_id>/delete")
@requires(FAQ_MANAGE, load=FaqEntry)
def faq_delete(item: FaqEntry):
    audit.record(g.db, "faq.delete", actor=g.account, obj=item, summary=item.question[:100])
    g.db.delete(item)
    _commit()
    flash("削除しました。", "success")
    return redirect(url_for("admin.faq"))


# --- what residents asked that was not understood ---------------------------------------------------------------

@bp.get("/faq/misses")
@requires(FAQ_MANAGE)
def faq_misses():
    sort = request.args.get("sort", "count")
    sort = sort if sort in SORTS else "count"
    page = flow.page_number()
    order = ((NluMiss.count.desc(), NluMiss.last_seen.desc()) if sort == "count"
             else (NluMiss.last_seen.desc(), NluMiss.count.desc()))
    total = g.db.scalar(select(func.count()).select_from(NluMiss)) or 0
    rows = g.db.scalars(select(NluMiss).order_by(*order, NluMiss.id.desc())
                        .offset((page - 1) * MISSES_PAGE_SIZE).limit(MISSES_PAGE_SIZE)).all()
    return render_template("admin/faq_misses.html", rows=rows, sort=sort, sorts=SORTS, page=page,
                           pages=max(1, -(-total // MISSES_PAGE_SIZE)), total=total, keep_days=matching.KEEP_DAYS)


def _entries() -> list[FaqEntry]:
    return list(g.db.scalars(select(FaqEntry).order_by(FaqEntry.status.desc(), FaqEntry.question)))


@bp.route("/faq/misses/<int:item_id>/append", methods=["GET", "POST"])
@requires(FAQ_MANAGE, load=NluMiss)
def faq_miss_append(item: NluMiss):
    """「既存のFAQの言い換えに追加」: choose an entry; the text becomes one more of its phrasings."""
    entries = _entries()
    if request.method == "GET":
        chosen = matching.suggest(g.db, item.text, entries)
        return render_template("admin/faq_append.html", miss=item, entries=entries, chosen=chosen, labels=STATUS_LABELS,
                               error=None)
    raw = request.form.get("entry_id", "")
    entry = g.db.get(FaqEntry, int(raw)) if raw.isdigit() and 0 < int(raw) < 2 ** 31 else None
    if entry is None:
        return render_template("admin/faq_append.html", miss=item, entries=entries, chosen=None, labels=STATUS_LABELS,
                               error="追加する先のよくある質問を選んでください。"), 422
    examples = list(entry.examples or [])
    known = {unicodedata.normalize("NFKC", s).lower() for s in [entry.question, *examples]}
    if unicodedata.normalize("NFKC", item.text).lower() not in known:
        if len(examples) >= EXAMPLES_MAX:
            return render_template("admin/faq_append.html", miss=item, entries=entries, chosen=entry.id,
                                   labels=STATUS_LABELS,
                                   error=f"このよくある質問には、言い方の例がすでに{EXAMPLES_MAX}行あります。"
                                         "編集画面で整理してから追加してください。"), 409
        entry.examples = examples + [item.text]
        touch(entry)
    audit.record(g.db, "faq.add_example", actor=g.account, obj=entry, summary=entry.question[:100])
    g.db.delete(item)
    _commit()
    flash(f"「{entry.question}」の言い方の例に追加しました。", "success")
    return redirect(url_for("admin.faq_misses"))


@bp.post("/faq/misses/<int:item_id>/delete")
@requires(FAQ_MANAGE, load=NluMiss)
def faq_miss_delete(item: NluMiss):
    audit.record(g.db, "faq_miss.delete", actor=g.account, object_type=NluMiss.__tablename__, object_id=item.id)
    g.db.delete(item)
    g.db.commit()
    flash("一覧から削除しました。", "success")
    return redirect(url_for("admin.faq_misses", sort=request.args.get("sort") or None))


# --- phrases: a not-understood wording that should open a feature, a project or an action ----------------------

# The rich menu's features, as the router's intents (handlers/router.py INTENTS) and the menu names them.
PHRASE_FEATURES = (("plan.list", "プロジェクト一覧"), ("places", "こどもの居場所"), ("events", "イベント"),
                   ("volunteer", "ボランティア"), ("survey", "アンケート"), ("settings", "設定"), ("regs", "申込状況"),
                   ("help", "ヘルプ"), ("leave", "退会"))


def destinations() -> list[tuple[str, list[tuple[str, str]]]]:
    """Where a phrase may lead, grouped for the form: (group label, [(value, label)]). A value is the intent,
    with ':' and the project or action number for the plan (numbers from the plan in the database)."""
    groups = [("メニューの機能", [(intent, label) for intent, label in PHRASE_FEATURES])]
    projects = P.projects(g.db)
    if projects:
        groups.append(("プロジェクト", [(f"plan.project:{p.number}", f"プロジェクト{p.number} {p.name}")
                                    for p in projects]))
    for p in projects:
        actions = sorted(p.actions, key=lambda a: a.number)
        if actions:
            groups.append((f"プロジェクト{p.number}のアクション",
                           [(f"plan.action:{a.number}", f"アクション{a.number} {a.name}") for a in actions]))
    return groups


def _route_value(intent: str, target: str | None) -> str:
    return f"{intent}:{target}" if target else intent


def _labels() -> dict[str, str]:
    return {value: label for _group, options in destinations() for value, label in options}


def _phrase_form(miss: NluMiss, chosen: str | None, error: str | None, status: int = 200):
    return render_template("admin/faq_phrase.html", miss=miss, groups=destinations(), chosen=chosen,
                           error=error), status


@bp.route("/faq/misses/<int:item_id>/phrase", methods=["GET", "POST"])
@requires(FAQ_MANAGE, load=NluMiss)
def faq_miss_phrase(item: NluMiss):
    """「言い換えとして登録」: the wording opens the chosen feature, project or action from now on."""
    if request.method == "GET":
        return _phrase_form(item, None, None)
    value = request.form.get("route", "")
    labels = _labels()
    if value not in labels:
        return _phrase_form(item, None, "開く先を選んでください。", 422)
    matching.forget()  # the check below reads the phrases as they are now, not this process's copy of them
    routes = matching.phrase_table(g.db)
    taken = next((routes[k] for k in matching.phrase_keys(item.text) if k in routes), None)
    if taken is not None:  # the same wording (or one that folds alike) is already registered
        where = labels.get(_route_value(*taken), taken[0])
        return _phrase_form(item, value, f"同じ言葉がすでに「{where}」を開くよう登録されています。"
                                         "変えるときは、言い換えの一覧で削除してから登録してください。", 409)
    intent, _, target = value.partition(":")
    phrase = NluPhrase(text=item.text, intent=intent, target=target or None, created_at=g.now,
                       created_by=(g.account.display_name or g.account.email)[:64])
    g.db.add(phrase)
    audit.record(g.db, "faq_phrase.create", actor=g.account, obj=phrase, summary=labels[value][:100])
    g.db.delete(item)
    _commit()
    flash(f"言い換えとして登録しました。LINEでこの言葉が送られると「{labels[value]}」を開きます。", "success")
    return redirect(url_for("admin.faq_misses"))


@bp.get("/faq/phrases")
@requires(FAQ_MANAGE)
def faq_phrases():
    rows = g.db.scalars(select(NluPhrase).order_by(NluPhrase.created_at.desc(), NluPhrase.id.desc())).all()
    labels = _labels()
    return render_template("admin/faq_phrases.html", rows=rows,
                           where={r.id: labels.get(_route_value(r.intent, r.target),
                                                   _route_value(r.intent, r.target) + "（計画にありません）")
                                  for r in rows})


@bp.post("/faq/phrases/<int:item_id>/delete")
@requires(FAQ_MANAGE, load=NluPhrase)
def faq_phrase_delete(item: NluPhrase):
    audit.record(g.db, "faq_phrase.delete", actor=g.account, obj=item,
                 summary=_labels().get(_route_value(item.intent, item.target), item.intent)[:100])
    g.db.delete(item)
    _commit()
    flash("言い換えを削除しました。LINEではこの言葉を、ほかの言葉と同じように読み取ります。", "success")
    return redirect(url_for("admin.faq_phrases"))
