"""アンケートの集計: per-question counts, cross-tabulations, response rates, and the small-cell protection that
keeps a breakdown from pointing at a few residents.

Only submitted responses count (`SurveyResponse.answers`; in-progress work is never read). A question's base is
the responses that answered it: an optional question skipped (None) is 無回答, a question the skip rules led
past is 対象外; neither is in the base. Responses are read in keyset chunks of columns (never a list of every
row), so 20,000 responses cost a few chunks of tuples.

Small cells (`protect`): in a breakdown (cross-tab, response rate by 地区) any entry with 1 <= n < threshold is
shown as `<5`; then, in every line of the table (a row with its row total, a column with its column total, the
totals row with the grand total, the row totals with the grand total) where exactly one entry is hidden, the
smallest other non-zero entry is hidden too (cells before totals), until no line has exactly one hidden entry,
so no hidden number can be worked out by subtraction. The whole survey's per-question counts are not a
breakdown and are shown as they are.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import survey_logic as sl
from bot.clock import to_tokyo, utc
from bot.svg_chart import HChart, hbars
from models.surveys import (DATE, DISTRICT, MULTI, NUMBER, SCALE, SINGLE, SUBMITTED, TEXT, Survey, SurveyQuestion,
                            SurveyResponse)

DEFAULT_MIN_CELL = 5
CHUNK = 1000
UNSET = "未設定"           # a response without a 地区 (the resident had none, or several, in 設定)
ROW_KINDS = (SINGLE, SCALE, DISTRICT)          # may be the rows of a cross-tab
COL_KINDS = (SINGLE, SCALE, MULTI, DISTRICT)   # may be its columns
MAX_DAYS_BY_DATE = 12      # a DATE question with answers on more days is counted by month


def min_cell(config) -> int:
    """The threshold under which a breakdown cell is hidden (KYODO_SURVEY_MIN_CELL, default 5, at least 1)."""
    return max(1, int(getattr(config, "survey_min_cell", DEFAULT_MIN_CELL) or DEFAULT_MIN_CELL))


def pct(n: int, base: int) -> float | None:
    return round(n * 100 / base, 1) if base else None


# --- reading responses ------------------------------------------------------------------------------------------

def stream(db: Session, survey_id: int, *columns, chunk: int | None = None) -> Iterator[tuple]:
    """(id, *columns) of the survey's submitted responses in id order, read `chunk` rows at a time."""
    chunk = chunk or CHUNK
    after = 0
    base = select(SurveyResponse.id, *columns).where(SurveyResponse.survey_id == survey_id,
                                                     SurveyResponse.status == SUBMITTED)
    while True:
        rows = db.execute(base.where(SurveyResponse.id > after).order_by(SurveyResponse.id).limit(chunk)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def submitted_count(db: Session, survey_id: int) -> int:
    return db.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.survey_id == survey_id, SurveyResponse.status == SUBMITTED)) or 0


def in_progress_count(db: Session, survey_id: int) -> int:
    return db.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.survey_id == survey_id, SurveyResponse.status != SUBMITTED)) or 0


# --- per question -----------------------------------------------------------------------------------------------

@dataclass
class Line:
    """One row of a question's table: an option, a scale point, a bin, a day."""
    label: str
    count: int
    percent: float | None


@dataclass
class QuestionResult:
    q: SurveyQuestion
    number: int             # Q1, Q2 ... by position
    base: int = 0           # answered
    skipped: int = 0        # optional, left unanswered (無回答)
    not_asked: int = 0      # the skip rules led past it (対象外)
    lines: list[Line] = field(default_factory=list)
    stats: dict = field(default_factory=dict)   # NUMBER: n, mean, median, min, max; SCALE: mean
    chart: HChart | None = None

    @property
    def name(self) -> str:
        return f"Q{self.number}"

    @property
    def kind_label(self) -> str:
        return sl.KIND_LABELS.get(self.q.kind, self.q.kind)

    @property
    def percent_note(self) -> str:
        return "割合は、この質問に答えた人に占める割合です（複数選択のため合計は100%を超えることがあります）。" \
            if self.q.kind == MULTI else "割合は、この質問に答えた人に占める割合です。"


@dataclass
class Summary:
    survey: Survey
    total: int                       # submitted responses
    questions: list[QuestionResult]


def summarize(db: Session, survey: Survey, *, district_names: dict[str, str]) -> Summary:
    """Every question's counts from one pass over the submitted answers."""
    qs = sl.ordered(survey.questions)
    tallies: dict[str, Counter] = {q.key: Counter() for q in qs}
    answered = Counter()
    skipped = Counter()
    total = 0
    for _id, answers in stream(db, survey.id, SurveyResponse.answers):
        total += 1
        for q in qs:
            if q.key not in (answers or {}):
                continue
            value = answers[q.key]
            if value is None:
                skipped[q.key] += 1
                continue
            answered[q.key] += 1
            if q.kind == MULTI:
                tallies[q.key].update(v for v in value if isinstance(v, int))
            elif q.kind != TEXT:
                tallies[q.key][value] += 1
    out = []
    for i, q in enumerate(qs, start=1):
        r = QuestionResult(q=q, number=i, base=answered[q.key], skipped=skipped[q.key],
                           not_asked=total - answered[q.key] - skipped[q.key])
        r.lines, r.stats = _lines(q, tallies[q.key], r.base, district_names)
        if q.kind != TEXT and r.lines:
            r.chart = hbars([(ln.label, ln.count, ln.percent) for ln in r.lines])
        out.append(r)
    return Summary(survey=survey, total=total, questions=out)


def _lines(q: SurveyQuestion, tally: Counter, base: int, names: dict[str, str]) -> tuple[list[Line], dict]:
    if q.kind in (SINGLE, MULTI):
        known = range(len(q.options or []))
        return [Line(q.options[i], tally[i], pct(tally[i], base)) for i in known], {}
    if q.kind == SCALE:
        lines = [Line(sl.answer_text(q, v), tally[v], pct(tally[v], base)) for v in range(1, sl.SCALE_POINTS + 1)]
        n = sum(tally[v] for v in range(1, sl.SCALE_POINTS + 1))
        mean = sum(v * tally[v] for v in range(1, sl.SCALE_POINTS + 1)) / n if n else None
        return lines, {"mean": _round(mean)}
    if q.kind == DISTRICT:
        order = [k for k in names if tally[k]] + sorted(k for k in tally if k not in names)
        return [Line(names.get(k, str(k)), tally[k], pct(tally[k], base)) for k in order], {}
    if q.kind == NUMBER:
        return _number_lines(q, tally, base)
    if q.kind == DATE:
        return _date_lines(tally, base), {}
    return [], {}  # TEXT: listed, never counted in a chart


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _number_lines(q: SurveyQuestion, tally: Counter, base: int) -> tuple[list[Line], dict]:
    values = sorted(v for v in tally if isinstance(v, int))
    n = sum(tally[v] for v in values)
    if not n:
        return [], {"n": 0}
    mean = sum(v * tally[v] for v in values) / n
    stats = {"n": n, "mean": _round(mean), "median": _median(values, tally, n), "min": values[0], "max": values[-1]}
    lo, hi = values[0], values[-1]
    unit = q.unit or ""
    if hi - lo + 1 <= 6:
        return [Line(f"{v}{unit}", tally[v], pct(tally[v], base)) for v in range(lo, hi + 1)], stats
    width = _nice_width((hi - lo + 1) / 5)
    start = (lo // width) * width
    lines = []
    while start <= hi:
        end = start + width - 1
        c = sum(tally[v] for v in values if start <= v <= end)
        lines.append(Line(f"{start}〜{end}{unit}", c, pct(c, base)))
        start += width
    return lines, stats


def _nice_width(raw: float) -> int:
    """1, 2, 5, 10, 20, 50 ...: bins a person reads at a glance (20〜29歳)."""
    k = 1
    while True:
        for m in (1, 2, 5):
            if m * k >= raw:
                return m * k
        k *= 10


def _median(values: list[int], tally: Counter, n: int) -> float:
    def nth(i: int) -> int:  # 0-based i-th value in sorted order
        seen = 0
        for v in values:
            seen += tally[v]
            if i < seen:
                return v
        return values[-1]

    if n % 2:
        return float(nth(n // 2))
    return (nth(n // 2 - 1) + nth(n // 2)) / 2


def _date_lines(tally: Counter, base: int) -> list[Line]:
    days = {}
    for v, c in tally.items():
        try:
            days[date.fromisoformat(v)] = c
        except (TypeError, ValueError):
            continue
    if len(days) <= MAX_DAYS_BY_DATE:
        return [Line(f"{d.year}年{d.month}月{d.day}日", c, pct(c, base)) for d, c in sorted(days.items())]
    months = Counter()
    for d, c in days.items():
        months[(d.year, d.month)] += c
    return [Line(f"{y}年{m}月", c, pct(c, base)) for (y, m), c in sorted(months.items())]


# --- free text ------------------------------------------------------------------------------------------------

@dataclass
class TextAnswer:
    response_id: int
    submitted_at: datetime | None
    text: str


def texts(db: Session, survey: Survey, q: SurveyQuestion, *, page: int = 1, per_page: int = 50
          ) -> tuple[list[TextAnswer], int]:
    """One page of a free-text question's answers, newest first, and how many there are (filtered in SQL)."""
    value = SurveyResponse.answers[q.key].as_string()
    where = (SurveyResponse.survey_id == survey.id, SurveyResponse.status == SUBMITTED, value.is_not(None))
    total = db.scalar(select(func.count()).select_from(SurveyResponse).where(*where)) or 0
    rows = db.execute(select(SurveyResponse.id, SurveyResponse.submitted_at, SurveyResponse.answers).where(*where)
                      .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
                      .offset((max(1, page) - 1) * per_page).limit(per_page)).all()
    out = [TextAnswer(rid, at, sl.answer_text(q, (answers or {}).get(q.key))) for rid, at, answers in rows]
    return out, total


# --- small-cell protection ------------------------------------------------------------------------------------

def protect(values: dict, lines: Sequence[Sequence], totals: Iterable, threshold: int) -> set:
    """The entries to hide. `values`: entry -> count; `lines`: groups of entries whose numbers are tied by a
    sum (a row and its total ...); `totals`: the entries that are totals (hidden after cells when a second
    entry must go)."""
    totals = set(totals)
    hidden = {e for e, n in values.items() if 1 <= n < threshold}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(e in hidden for e in line) != 1:
                continue
            others = [e for e in line if e not in hidden and values[e] > 0]
            if not others:
                continue
            hidden.add(min(others, key=lambda e: (e in totals, values[e])))
            changed = True
    return hidden


@dataclass(frozen=True)
class Cell:
    n: int
    hidden: bool = False

    def shown(self, threshold: int) -> str:
        return f"<{threshold}" if self.hidden else f"{self.n:,}"


@dataclass
class Table:
    """A protected breakdown: rows × columns with row totals, column totals and the grand total."""
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[Cell]]
    row_totals: list[Cell]
    col_totals: list[Cell]
    grand: Cell
    threshold: int

    def row_percent(self, i: int, j: int) -> float | None:
        """A cell's share of its row, only when both are shown (a percent of a shown total would reveal a
        hidden cell)."""
        c, t = self.cells[i][j], self.row_totals[i]
        return None if c.hidden or t.hidden else pct(c.n, t.n)

    @property
    def any_hidden(self) -> bool:
        return any(c.hidden for row in self.cells for c in row) or any(c.hidden for c in self.row_totals) or \
            any(c.hidden for c in self.col_totals) or self.grand.hidden


def protected_table(row_labels: list[str], col_labels: list[str], counts: list[list[int]], row_totals: list[int],
                    col_totals: list[int], grand: int, threshold: int) -> Table:
    values: dict = {("g",): grand}
    lines: list[list] = []
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            values[("c", i, j)] = n
        values[("r", i)] = row_totals[i]
        lines.append([("c", i, j) for j in range(len(col_labels))] + [("r", i)])
    for j in range(len(col_labels)):
        values[("k", j)] = col_totals[j]
        lines.append([("c", i, j) for i in range(len(row_labels))] + [("k", j)])
    lines.append([("k", j) for j in range(len(col_labels))] + [("g",)])
    lines.append([("r", i) for i in range(len(row_labels))] + [("g",)])
    totals = [e for e in values if e[0] != "c"]
    hidden = protect(values, lines, totals, threshold)
    return Table(
        row_labels=row_labels, col_labels=col_labels, threshold=threshold,
        cells=[[Cell(n, ("c", i, j) in hidden) for j, n in enumerate(row)] for i, row in enumerate(counts)],
        row_totals=[Cell(n, ("r", i) in hidden) for i, n in enumerate(row_totals)],
        col_totals=[Cell(n, ("k", j) in hidden) for j, n in enumerate(col_totals)],
        grand=Cell(grand, ("g",) in hidden))


# --- cross-tabulation -------------------------------------------------------------------------------------------

@dataclass
class CrossTab:
    row_title: str
    col_title: str
    table: Table
    multi: bool          # columns from a multiple-choice question: a person may be in several columns
    excluded: int        # submitted responses outside the table (did not answer one of the two questions)


def categories(q: SurveyQuestion, names: dict[str, str]) -> list[tuple[object, str]]:
    """(stored value, label) of a choice question's answers, in their order."""
    if q.kind in (SINGLE, MULTI):
        return list(enumerate(q.options or []))
    if q.kind == SCALE:
        return [(v, sl.answer_text(q, v)) for v in range(1, sl.SCALE_POINTS + 1)]
    if q.kind == DISTRICT:
        return list(names.items())
    return []


def crosstab(db: Session, survey: Survey, row: str, col: str, *, district_names: dict[str, str],
             threshold: int) -> CrossTab | None:
    """Rows by 地区 (`row="district"`: the response's own 地区, 「未設定」 last) or by a SINGLE / SCALE /
    DISTRICT question; columns by a SINGLE / SCALE / MULTI / DISTRICT question. None when the choice is not
    one of these (or rows and columns are the same question)."""
    qs = sl.by_key(survey.questions)
    cq = qs.get(col)
    if cq is None or cq.kind not in COL_KINDS or row == col:
        return None
    numbers = {q.key: i for i, q in enumerate(sl.ordered(survey.questions), start=1)}
    if row == "district":
        rq = None
        row_cats = list(district_names.items())
        row_title = "地区（設定）"
    else:
        rq = qs.get(row)
        if rq is None or rq.kind not in ROW_KINDS:
            return None
        row_cats = categories(rq, district_names)
        row_title = f"Q{numbers[rq.key]} {rq.text}"
    col_cats = categories(cq, district_names)
    row_index = {v: i for i, (v, _) in enumerate(row_cats)}
    col_index = {v: j for j, (v, _) in enumerate(col_cats)}
    extra_rows: dict = {}  # values not in the list (an old 地区 key, 未設定): appended in first-seen order
    counts: list[list[int]] = [[0] * len(col_cats) for _ in row_cats]
    row_n: list[int] = [0] * len(row_cats)
    excluded = 0
    multi = cq.kind == MULTI
    for _id, answers, district in stream(db, survey.id, SurveyResponse.answers, SurveyResponse.district):
        answers = answers or {}
        rv = district if rq is None else answers.get(rq.key)
        cv = answers.get(col)
        if (rq is not None and rv is None) or cv is None:
            excluded += 1
            continue
        picked = [v for v in (cv if multi else [cv]) if v in col_index]
        if not multi and not picked:
            excluded += 1
            continue
        i = row_index.get(rv)
        if i is None:
            if rv not in extra_rows:
                extra_rows[rv] = len(row_cats)
                row_index[rv] = len(row_cats)
                row_cats.append((rv, UNSET if rv is None else district_names.get(rv, str(rv))))
                counts.append([0] * len(col_cats))
                row_n.append(0)
            i = row_index[rv]
        row_n[i] += 1
        for v in picked:
            counts[i][col_index[v]] += 1
    # 未設定 last, then drop rows and columns where nobody is: 26 empty 地区 tell nothing.
    order = sorted(range(len(row_cats)), key=lambda i: (row_cats[i][0] is None, i))
    keep_rows = [i for i in order if row_n[i]]
    keep_cols = [j for j in range(len(col_cats)) if cq.kind != DISTRICT or any(counts[i][j] for i in keep_rows)]
    table = protected_table(
        [row_cats[i][1] for i in keep_rows], [col_cats[j][1] for j in keep_cols],
        [[counts[i][j] for j in keep_cols] for i in keep_rows], [row_n[i] for i in keep_rows],
        [sum(counts[i][j] for i in keep_rows) for j in keep_cols], sum(row_n[i] for i in keep_rows), threshold)
    return CrossTab(row_title=row_title, col_title=f"Q{numbers[cq.key]} {cq.text}", table=table, multi=multi,
                    excluded=excluded)


def crosstab_choices(survey: Survey) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(value, label) for the row and column selects of the cross-tab form."""
    qs = sl.ordered(survey.questions)
    rows = [("district", "地区（設定）")] + [(q.key, f"Q{i} {q.text}") for i, q in enumerate(qs, start=1)
                                          if q.kind in ROW_KINDS]
    cols = [(q.key, f"Q{i} {q.text}") for i, q in enumerate(qs, start=1) if q.kind in COL_KINDS]
    return rows, cols


# --- response rate -------------------------------------------------------------------------------------------------

@dataclass
class Day:
    day: date
    count: int
    cumulative: int


@dataclass
class Rate:
    submitted: int
    invited: int
    invited_source: str     # "invitation" (the invitation's reached count) | "segment" (the current count)
    days: list[Day]
    by_district: Table | None
    chart: HChart | None

    @property
    def percent(self) -> float | None:
        return pct(self.submitted, self.invited)


def invited_count(db: Session, survey: Survey) -> tuple[int, str]:
    """Those the invitation reached when one was sent, else the residents in the survey's target now."""
    from bot import publish, segments

    if survey.invite_publication_id:
        try:
            rep = publish.report(db, survey.invite_publication_id)
        except LookupError:
            rep = None
        if rep is not None and rep["reached"]:
            return rep["reached"], "invitation"
    return segments.count(db, segments.Segment.from_json(survey.segment or {}), topic=None), "segment"


def by_day(survey: Survey, now: datetime, counts: Counter) -> list[Day]:
    """Submitted per day (Tokyo; `counts`: date -> responses) from the day it opened to today or its close,
    with the running total."""
    first = to_tokyo(survey.opens_at).date()
    last = to_tokyo(min(utc(now), utc(survey.closes_at))).date()
    if counts:
        first, last = min(first, min(counts)), max(last, max(counts))
    days, running, d = [], 0, first
    while d <= last:
        running += counts[d]
        days.append(Day(d, counts[d], running))
        d += timedelta(days=1)
    return days


def district_residents(db: Session, survey: Survey) -> dict[str | None, int]:
    """Residents of the survey's target by their own 地区 (exactly one chosen in 設定; None: none or several),
    counted like the invited number (bot/segments.recipients with no topic)."""
    from bot import segments
    from models.subscriptions import SubscribedDistrict

    base = segments.recipients(segments.Segment.from_json(survey.segment or {}), topic=None).order_by(None).subquery()
    single = (select(SubscribedDistrict.user_id).group_by(SubscribedDistrict.user_id)
              .having(func.count() == 1)).subquery()
    rows = db.execute(select(SubscribedDistrict.district, func.count())
                      .join(base, base.c.id == SubscribedDistrict.user_id)
                      .join(single, single.c.user_id == SubscribedDistrict.user_id)
                      .group_by(SubscribedDistrict.district)).all()
    out: dict[str | None, int] = {d: n for d, n in rows}
    everyone = db.scalar(select(func.count()).select_from(base)) or 0
    out[None] = max(0, everyone - sum(out.values()))
    return out


def district_rate(db: Session, survey: Survey, responses: Counter, *, district_names: dict[str, str],
                  threshold: int) -> Table | None:
    """Responses (`responses`: 地区 key or None -> count) and residents not (yet) answered per 地区, protected:
    the rate is 回答 / 対象者."""
    residents = district_residents(db, survey)
    keys = [k for k in district_names if residents.get(k) or responses.get(k)]
    keys += sorted(k for k in set(residents) | set(responses) if k is not None and k not in district_names
                   and (residents.get(k) or responses.get(k)))
    if residents.get(None) or responses.get(None):
        keys.append(None)
    if not keys:
        return None
    labels = [UNSET if k is None else district_names.get(k, k) for k in keys]
    counts, totals = [], []
    for k in keys:
        answered = responses.get(k, 0)
        total = max(residents.get(k, 0), answered)  # a resident who moved 地区 since answering
        counts.append([answered, total - answered])
        totals.append(total)
    return protected_table(labels, ["回答", "未回答"], counts, totals,
                           [sum(c[0] for c in counts), sum(c[1] for c in counts)], sum(totals), threshold)


def rate(db: Session, survey: Survey, now: datetime, *, district_names: dict[str, str], threshold: int) -> Rate:
    """Response rate over time and by 地区, from one pass over the submitted responses."""
    per_day: Counter = Counter()
    per_district: Counter = Counter()
    for _id, at, district in stream(db, survey.id, SurveyResponse.submitted_at, SurveyResponse.district):
        if at is not None:
            per_day[to_tokyo(at).date()] += 1
        per_district[district] += 1
    days = by_day(survey, now, per_day)
    submitted = sum(per_district.values())
    invited, source = invited_count(db, survey)
    chart = hbars([(f"{d.day.month}/{d.day.day}", d.count, None) for d in days[-31:]]) if days else None
    return Rate(submitted=submitted, invited=invited, invited_source=source, days=days,
                by_district=district_rate(db, survey, per_district, district_names=district_names,
                                          threshold=threshold),
                chart=chart)


__all__ = ["Cell", "CrossTab", "DEFAULT_MIN_CELL", "Line", "QuestionResult", "Rate", "Summary", "Table",
           "TextAnswer", "categories", "crosstab", "crosstab_choices", "district_rate", "in_progress_count",
           "invited_count", "min_cell", "protect", "protected_table", "rate", "stream", "submitted_count",
           "summarize", "texts"]
