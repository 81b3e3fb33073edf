"""The import flow both files share: read the records, let the layout turn each into values (refusing rows
with problems), give each row its identity (external key), refuse duplicates and other organisations'
rows, then add / update / leave alone, all in the caller's transaction (the caller commits once, after
the audit entry: nothing is half-written). A dry run does everything and rolls back.

Identity: 市区町村コード + "-" + NO. A row without NO gets a stable key from its content (the layout says
which cells). A row exported from here that had no key (written in the admin) carries NO `kyodo-<id>`:
it updates row <id> itself when that row still has no key, so an export edited in Excel comes back as
the same rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utc
from bot.opendata import common as C
from bot.registrations import SlotError
from models.places import FREE, PENDING, PUBLISHED

OWN_ID = re.compile(r"kyodo-(\d{1,12})")
CODE, NO = "都道府県コード又は市区町村コード", "NO"
CHUNK = 500


@dataclass(frozen=True)
class Scope:
    """Who imports. `organisation_id`: new rows belong to it. `own_only`: only rows of that organisation
    may be changed (an organisation's account). `allow_publish`: False when an organisation's listings
    wait for the city's approval (KYODO_LISTING_APPROVAL): a row asking to be published becomes pending."""

    organisation_id: int | None = None
    own_only: bool = False
    allow_publish: bool = True


@dataclass(frozen=True)
class Context:
    """What a row's write needs besides the row: who imports, the time, and whether newly published rows
    are announced to their subscribers (bot.event_notices.announce_listing, as the admin does)."""

    scope: Scope
    now: datetime
    announce: bool = True
    base_url: str | None = None


class Refused(Exception):
    """Raised by a layout's write, before it changes anything, when a row cannot be applied to what is
    stored (e.g. fewer places than residents already confirmed)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass
class Row:
    """One record turned into model values. `values` holds only what the file says (a column the file does
    not have leaves the stored value alone); `defaults` what a new row gets when the file does not say."""

    line: int
    key: str = ""
    own_id: int | None = None
    values: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    status: str | None = None


class Cells:
    """Reads one record's cells, collecting each problem (line, column, reason) into the report."""

    def __init__(self, record: C.Record, report: C.ImportReport) -> None:
        self.record, self.report, self.bad = record, report, False

    def has(self, column: str) -> bool:
        return self.record.has(column)

    def mark(self) -> int:
        """For `failed_since`: so one group of cells can be judged apart from the rest of the row."""
        return len(self.report.problems)

    def failed_since(self, mark: int) -> bool:
        return len(self.report.problems) > mark

    def raw(self, column: str) -> str:
        return self.record.get(column)

    def refuse(self, column: str, reason: str) -> None:
        self.report.refuse(self.record.line, column, reason)
        self.bad = True

    def take(self, column: str, parse: Callable, *args, **kw):
        try:
            C.check_text(self.raw(column), None)
            return parse(self.raw(column), *args, **kw)
        except C.CellError as e:
            self.refuse(e.column or column, str(e))
            return None

    def text(self, column: str, max_len: int | None, *, required: bool = False) -> str | None:
        value = self.raw(column)
        if required and not value:
            self.refuse(column, "入力してください。")
            return None
        try:
            return C.check_text(value, max_len) or None
        except C.CellError as e:
            self.refuse(column, str(e))
            return None

    def put_text(self, row: Row, column: str, attr: str, max_len: int | None = 10_000) -> None:
        if self.has(column):
            row.values[attr] = self.text(column, max_len)


def identity(cells: Cells, city: C.City, row: Row, *content_columns: str) -> None:
    """Set row.key (and row.own_id for NO kyodo-<id>) from the code and NO columns."""
    code = C.nfkc(cells.raw(CODE))
    if code and not re.fullmatch(r"\d{2,6}", code):
        cells.refuse(CODE, f"都道府県コードか市区町村コード（数字）にしてください（{cells.raw(CODE)}）。")
        return
    code = code or city.code
    no = C.nfkc(cells.raw(NO))
    if len(no) > 100 or C._CONTROL.search(no):
        cells.refuse(NO, "NO は100文字以内の番号にしてください。")
        return
    if not no:
        row.key = C.stable_key(code, *(cells.raw(c) for c in content_columns))
        return
    row.key = f"{code}-{no}"
    if m := OWN_ID.fullmatch(no):
        row.own_id = int(m.group(1))


def parse_cost(cells: Cells, kind_col: str, basic_col: str, note_col: str, row: Row) -> None:
    """料金区分 (extra) + 料金(基本) ("無料", "500円", "有料") + 料金(詳細) -> cost_kind, cost_yen, cost_note.
    Both blank: the cost is not known from the file (a new row is free, a stored one keeps its cost)."""
    kind = cells.take(kind_col, C.parse_choice, COST_LABELS, "料金区分")
    raw = cells.raw(basic_col)
    basic = C.nfkc(raw).replace(",", "").replace(" ", "")
    note = cells.text(note_col, 300) if cells.has(note_col) else None
    yen, paid = None, None
    if basic:
        if basic in ("無料", "0", "0円", "なし", "無"):
            paid = False
        elif basic == "有料":
            paid = True
        elif m := re.fullmatch(r"[¥￥]?(\d{1,7})円?", basic):
            yen = int(m.group(1))
            paid = yen > 0
        else:  # 「大人500円、子ども300円」: paid, the words kept as the detail
            paid = True
            note = note or cells.text(basic_col, 300)
    if cells.has(note_col) or note:
        row.values["cost_note"] = note
    if kind is None and paid is None:
        return
    if kind is None:
        kind = "amount" if paid else FREE
    elif kind == FREE and paid:
        cells.refuse(basic_col, f"料金区分が「無料」なのに料金があります（{raw}）。")
        return
    elif kind != FREE and paid is False:
        cells.refuse(basic_col, f"料金区分が「{COST_LABELS[kind]}」なのに「{raw}」となっています。")
        return
    row.values.update(cost_kind=kind, cost_yen=None if kind == FREE else yen)


COST_LABELS = {"free": "無料", "amount": "金額", "per_meal": "1食あたり"}


def export_cost(obj) -> tuple[str, str]:
    """(料金(基本), 料金区分) of a row."""
    if obj.cost_kind == FREE:
        return "無料", COST_LABELS[FREE]
    basic = f"{obj.cost_yen}円" if obj.cost_yen is not None else "有料"
    return basic, COST_LABELS.get(obj.cost_kind, obj.cost_kind)


def parse_ages(cells: Cells, low_col: str, high_col: str, row: Row) -> None:
    low = cells.take(low_col, C.parse_int, low=0, high=120, what="年齢", suffixes=("歳", "才")) if cells.has(low_col) else None
    high = cells.take(high_col, C.parse_int, low=0, high=120, what="年齢", suffixes=("歳", "才")) if cells.has(high_col) else None
    if low is not None and high is not None and low > high:
        cells.refuse(high_col, f"対象年齢の上限（{high}）が下限（{low}）より小さくなっています。")
    if cells.has(low_col):
        row.values["age_min"] = low
    if cells.has(high_col):
        row.values["age_max"] = high


def parse_plan(cells: Cells, city: C.City, project_col: str, action_col: str, row: Row) -> None:
    if not (cells.has(project_col) or cells.has(action_col)):
        return
    project = cells.take(project_col, C.parse_int, low=1, high=99, what="プロジェクト番号", suffixes=()) \
        if cells.has(project_col) else None
    action = cells.take(action_col, C.parse_int, low=1, high=9999, what="アクション番号") \
        if cells.has(action_col) else None
    try:
        project, action = city.project_action(project, action)
    except C.CellError as e:
        cells.refuse(action_col if action is not None else project_col, str(e))
        return
    row.values.update(project=project, action=action)


def parse_point(cells: Cells, city: C.City, row: Row) -> tuple[float | None, float | None]:
    mark = cells.mark()
    lat = cells.take("緯度", C.parse_float, "緯度")
    lon = cells.take("経度", C.parse_float, "経度")
    if cells.failed_since(mark):
        return None, None
    if (problem := city.check_point(lat, lon)) is not None:
        cells.refuse(*problem)
        return None, None
    if cells.has("緯度") or cells.has("経度"):
        row.values.update(lat=lat, lon=lon)
    return lat, lon


def district_of(cells: Cells, city: C.City, column: str, lat, lon, address: str | None, *, required: bool) -> tuple[bool, str | None]:
    """(known, key): the 地区 column when the file has it; else from the point, else from the address."""
    if cells.has(column) and cells.raw(column):
        return True, cells.take(column, city.district)
    if cells.has(column) and not required:
        return True, None  # our own layout, left blank: city-wide
    if lat is not None and lon is not None:
        return True, city.district_near(lat, lon)
    if address and (key := city.district_in_address(address)):
        return True, key
    if required:
        cells.refuse(column, "地区を入力してください（緯度・経度や住所からも分かりませんでした）。")
    return False, None


# -- the flow --------------------------------------------------------------------------------------------

def _same(old, new) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return utc(old) == utc(new)
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) < 1e-9
    return old == new


def assign(obj, values: dict) -> list[str]:
    """Set the values that differ; returns the names of the attributes changed."""
    changed = []
    for attr, value in values.items():
        if not _same(getattr(obj, attr), value):
            setattr(obj, attr, value)
            changed.append(attr)
    return changed


def decide_status(row: Row, existing, scope: Scope) -> str | None:
    """The status to store: the file's (a new row without one: published); an organisation's listing that
    needs approval waits as pending unless it is published already."""
    wanted = row.status
    if wanted is None:
        if existing is not None:
            return None  # the file does not say: keep
        wanted = PUBLISHED
    if wanted == PUBLISHED and not scope.allow_publish and (existing is None or existing.status != PUBLISHED):
        return PENDING
    return wanted


@dataclass
class Layout:
    """What differs between events and places."""

    model: type
    columns: list[str]
    required: tuple[str, ...]
    parse: Callable[[Cells, C.City], Row | None]
    # (db, obj or None, row, context) -> "added" | "updated" | "unchanged"; raises Refused
    write: Callable
    load: tuple = ()  # loader options for the stored rows (a place's hours: one query, not one per place)


def _existing(db: Session, layout: Layout, rows: list[Row]) -> tuple[dict, dict]:
    model = layout.model
    keys = [r.key for r in rows]
    ids = [r.own_id for r in rows if r.own_id is not None]
    by_key, by_id = {}, {}
    for i in range(0, len(keys), CHUNK):
        stmt = select(model).options(*layout.load).where(model.external_key.in_(keys[i:i + CHUNK]))
        for obj in db.scalars(stmt):
            by_key[obj.external_key] = obj
    for i in range(0, len(ids), CHUNK):
        for obj in db.scalars(select(model).options(*layout.load).where(model.id.in_(ids[i:i + CHUNK]))):
            by_id[obj.id] = obj
    return by_key, by_id


def _write_all(db: Session, layout: Layout, ctx: Context, rows: list[Row], report: C.ImportReport) -> None:
    by_key, by_id = _existing(db, layout, rows)
    for row in rows:
        obj = by_key.get(row.key)
        if obj is None and row.own_id is not None and (mine := by_id.get(row.own_id)) is not None:
            if mine.external_key is not None:
                report.refuse(row.line, NO, f"NO「kyodo-{row.own_id}」の行は、別の番号で登録されています。NO を書き換えないでください。")
                continue
            obj = mine
        if obj is not None and ctx.scope.own_only and obj.organisation_id != ctx.scope.organisation_id:
            report.refuse(row.line, NO, "ほかの団体（または市）が登録した行のため、変更できません。")
            continue
        try:
            outcome = layout.write(db, obj, row, ctx)
        except Refused as e:
            report.refuse(row.line, e.column, e.reason)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)


def run(db: Session, data: bytes, layout: Layout, ctx: Context, *, dry_run: bool = False) -> C.ImportReport:
    """Import one file into `db` (not committed: the caller commits, or rolls back). Raises UnreadableFile /
    FileProblem when nothing can be read."""
    report = C.ImportReport(dry_run=dry_run)
    city = C.City.load(db)
    records = C.read_records(data, layout.columns, layout.required, report)
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    for record in records:
        cells = Cells(record, report)
        row = layout.parse(cells, city)
        if row is None or cells.bad:
            continue
        if row.key in first_line:
            no = C.nfkc(cells.raw(NO))
            cells.refuse(NO, f"NO「{no}」が{first_line[row.key]}行目と重複しています。" if no else
                         f"{first_line[row.key]}行目と同じ内容の行です（NO がなく、名前と日時・住所が同じ）。")
            continue
        first_line[row.key] = row.line
        rows.append(row)
    try:
        _write_all(db, layout, ctx, rows, report)
        db.flush()
    except (IntegrityError, SlotError):
        # Another import (or a resident registering) got there between our checks and our writes.
        db.rollback()
        raise C.FileProblem("取り込み中に同じ行が別の操作で変更されました。何も書き込んでいません。もう一度お試しください。") from None
    if dry_run:
        db.rollback()
    report.problems.sort(key=lambda p: p.line)
    return report
