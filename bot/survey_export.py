"""CSV exports of a survey for Excel: one row per submitted response, and the aggregated tables.

The admin view writes them with views_events.csv_response (UTF-8 with BOM, CRLF, a Japanese filename); this
module gives the header and the rows. Rows are generated from keyset chunks of (id, answers, district,
submitted_at, user_id) tuples, so 20,000 responses never become 20,000 objects at once. Every cell is guarded
against spreadsheet formulas: a resident's free text starting with = + - @ (or a tab / CR) would otherwise run
as a formula when the file is opened.

Anonymous surveys: the time is to the hour (as stored) and there is no 回答者番号; named surveys add the
resident's number in this system (users.id), never a LINE id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from sqlalchemy.orm import Session

from bot import survey_logic as sl
from bot.clock import to_tokyo
from bot.survey_results import Summary, stream
from models.surveys import DATE, DISTRICT, MULTI, NUMBER, SCALE, SINGLE, TEXT, Survey, SurveyQuestion, SurveyResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value) -> str:
    """A cell as text that a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _number_cell(value) -> str:
    """A negative number typed by a resident is a number, not a formula: keep it as one for Excel."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else guard(value)


def question_title(number: int, q: SurveyQuestion) -> str:
    return f"Q{number} {q.text}"


def responses_header(survey: Survey) -> list[str]:
    head = ["回答番号"] + ([] if survey.anonymous else ["回答者番号"]) + ["回答日時", "地区（設定）"]
    for i, q in enumerate(sl.ordered(survey.questions), start=1):
        if q.kind == MULTI:
            head += [f"{question_title(i, q)}：{opt}" for opt in q.options or []]
        else:
            head.append(question_title(i, q))
    return [guard(h) for h in head]


def when_text(survey: Survey, at: datetime | None) -> str:
    if at is None:
        return ""
    t = to_tokyo(at)
    return f"{t:%Y/%m/%d %H}:00" if survey.anonymous else f"{t:%Y/%m/%d %H:%M}"


def _answer_cells(q: SurveyQuestion, answers: dict, names: dict[str, str]) -> list[str]:
    value = answers.get(q.key)
    if q.kind == MULTI:
        if value is None or not isinstance(value, list):
            return [""] * len(q.options or [])
        chosen = set(value)
        return ["1" if i in chosen else "0" for i in range(len(q.options or []))]
    if value is None:
        return [""]
    if q.kind == SINGLE:
        return [guard(sl.answer_text(q, value))]
    if q.kind in (SCALE, NUMBER):
        return [_number_cell(value)]
    if q.kind == DATE:
        return [guard(value)]  # ISO 2026-12-05: Excel reads it as a date
    if q.kind == DISTRICT:
        return [guard(names.get(value, value))]
    if q.kind == TEXT:
        return [guard(value)]
    return [guard(value)]


def response_rows(db: Session, survey: Survey, *, district_names: dict[str, str]) -> Iterator[list[str]]:
    """One row per submitted response, in response order, read in chunks."""
    qs = sl.ordered(survey.questions)
    for rid, answers, district, at, user_id in stream(db, survey.id, SurveyResponse.answers,
                                                        SurveyResponse.district, SurveyResponse.submitted_at,
                                                        SurveyResponse.user_id):
        answers = answers or {}
        row = [str(rid)] + ([] if survey.anonymous else ["" if user_id is None else str(user_id)])
        row += [when_text(survey, at), guard(district_names.get(district, district) if district else "")]
        for q in qs:
            row += _answer_cells(q, answers, district_names)
        yield row


TABLES_HEADER = ["質問", "選択肢", "件数", "割合（%）", "基数（回答した人）"]


def table_rows(summary: Summary) -> Iterator[list[str]]:
    """The per-question counts as the results page shows them: one row per option, then 無回答 and 対象外."""
    for r in summary.questions:
        title = guard(question_title(r.number, r.q))
        if r.q.kind == TEXT:
            yield [title, "（自由記述の回答）", str(r.base), "", str(r.base)]
        for line in r.lines:
            yield [title, guard(line.label), str(line.count), "" if line.percent is None else f"{line.percent:.1f}",
                   str(r.base)]
        for label, key in (("平均", "mean"), ("中央値", "median"), ("最小", "min"), ("最大", "max")):
            if r.stats.get(key) is not None:
                yield [title, f"（{label}）", _stat(r.stats[key]), "", str(r.base)]
        yield [title, "（無回答）", str(r.skipped), "", str(r.base)]
        if r.not_asked:
            yield [title, "（対象外：回答による移動で質問されなかった）", str(r.not_asked), "", str(r.base)]


def _stat(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def filename(survey: Survey, what: str, now: datetime) -> str:
    return f"アンケート{what}_{survey.id}_{to_tokyo(now):%Y%m%d}.csv"


__all__ = ["TABLES_HEADER", "filename", "guard", "question_title", "response_rows", "responses_header",
           "table_rows", "when_text"]
