"""アンケートの集計 in the admin: a survey's results page (per-question counts and charts, response rate over time
and by 地区, a cross-tab by 地区 or by another question), its free-text answers, and two CSV exports for Excel.

Every route loads the survey through `@requires(SURVEYS_MANAGE, load=Survey)`: another team's survey is a 403
(written to the audit log) on every one of them. The numbers come from bot/survey_results.py (which also hides
small breakdown cells), the CSV rows from bot/survey_export.py; this module only wires them to pages.
"""
from __future__ import annotations

from flask import abort, g, render_template, request

from bot import survey_export as export
from bot import survey_results as results
from bot.admin import audit
from bot.admin import listing_flow as flow
from bot.admin.blueprint import bp
from bot.admin.listing_forms import districts as city_districts
from bot.admin.policy import SURVEYS_MANAGE, requires
from bot.admin.views_events import csv_response
from bot.clock import to_tokyo
from bot.survey_logic import by_key, ordered
from models.surveys import CLOSED, DRAFT, OPEN, TEXT, Survey

STATUS_LABELS = {DRAFT: "下書き", OPEN: "回答受付中", CLOSED: "締切"}
TEXTS_PER_PAGE = 50
TEXTS_ON_RESULTS = 5


def _district_names() -> dict[str, str]:
    """The city's 地区 in their usual order (key -> name)."""
    return {d.key: d.name for d in city_districts(g.db, g.rt.config.city)}


def _threshold() -> int:
    return results.min_cell(g.rt.config)


def _period(item: Survey) -> str:
    a, b = to_tokyo(item.opens_at), to_tokyo(item.closes_at)
    return f"{a.year}年{a.month}月{a.day}日 {a:%H:%M} 〜 {b.year}年{b.month}月{b.day}日 {b:%H:%M}"


@bp.get("/surveys/<int:item_id>/results")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_results(item: Survey):
    names = _district_names()
    threshold = _threshold()
    summary = results.summarize(g.db, item, district_names=names)
    rate = results.rate(g.db, item, g.now, district_names=names, threshold=threshold)
    row_choices, col_choices = results.crosstab_choices(item)
    row = request.args.get("row", "")
    col = request.args.get("col", "")
    cross, cross_error = None, None
    if row or col:
        cross = results.crosstab(g.db, item, row, col, district_names=names, threshold=threshold)
        if cross is None:
            cross_error = "行と列には、それぞれ別の項目を選んでください（列は選択式の質問です）。"
    latest = {r.q.key: results.texts(g.db, item, r.q, per_page=TEXTS_ON_RESULTS)[0]
              for r in summary.questions if r.q.kind == TEXT}
    return render_template(
        "admin/survey_results.html", item=item, summary=summary, rate=rate, cross=cross, cross_error=cross_error,
        row=row, col=col, row_choices=row_choices, col_choices=col_choices, threshold=threshold, latest=latest,
        in_progress=results.in_progress_count(g.db, item.id), status_label=STATUS_LABELS.get(item.status, item.status),
        period=_period(item), when=lambda at: export.when_text(item, at)), 200 if cross_error is None else 400


@bp.get("/surveys/<int:item_id>/results/texts/<key>")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_results_texts(item: Survey, key: str):
    q = by_key(item.questions).get(key)
    if q is None or q.kind != TEXT:
        abort(404)
    page = flow.page_number()
    rows, total = results.texts(g.db, item, q, page=page, per_page=TEXTS_PER_PAGE)
    number = [x.key for x in ordered(item.questions)].index(q.key) + 1
    return render_template("admin/survey_results_texts.html", item=item, q=q, number=number, rows=rows,
                           total=total, page=page, pages=max(1, -(-total // TEXTS_PER_PAGE)),
                           when=lambda at: export.when_text(item, at))


@bp.get("/surveys/<int:item_id>/results.csv")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_results_csv(item: Survey):
    total = results.submitted_count(g.db, item.id)
    audit.record(g.db, "survey.export", actor=g.account, obj=item, summary=f"{item.title}（回答一覧・{total}件）")
    g.db.commit()
    rows = export.response_rows(g.db, item, district_names=_district_names())
    return csv_response(export.filename(item, "回答", g.now), export.responses_header(item), rows)


@bp.get("/surveys/<int:item_id>/results/tables.csv")
@requires(SURVEYS_MANAGE, load=Survey)
def survey_results_tables_csv(item: Survey):
    summary = results.summarize(g.db, item, district_names=_district_names())
    audit.record(g.db, "survey.export_tables", actor=g.account, obj=item,
                 summary=f"{item.title}（集計表・{summary.total}件）")
    g.db.commit()
    return csv_response(export.filename(item, "集計", g.now), export.TABLES_HEADER, list(export.table_rows(summary)))
