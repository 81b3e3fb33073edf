"""イベント一覧 (デジタル庁 推奨データセット) in and out of the events table.

The file: the layout's 32 columns with their published names, then these extra columns for what the
layout has no place for (the export writes all of them; an import takes whichever the file has, and a
column the file lacks leaves the stored value alone):

    対象年齢(下限), 対象年齢(上限)  whole years, 0-120 (「6歳」 also read)
    料金区分        無料 / 金額 / 1食あたり (or free / amount / per_meal); 料金(基本) holds 「無料」「500円」「有料」
    地区            the 地区's key (kozu) or name (国府津); blank = city-wide. Without the column, the 地区 is
                    taken from 緯度・経度 (the nearest 地区 centre) or from a 地区 name in 住所
    関連プロジェクト  the plan's project number (1-7)
    関連アクション    the plan's action number (e.g. 303); its project is filled in from it
    申込            要 / 不要 (参加申込が必要か). Without it: 要 when 参加申込終了日 or 参加申込方法 is given
    タグ            words separated by 「;」
    状態            下書き / 承認待ち / 公開 / 中止 (or draft / pending / published / cancelled); a new row
                    without it is 公開 (承認待ち for an organisation whose listings need approval)
    繰り返し(RRULE)  an RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=SA;COUNT=10 (not with 申込 要)
    中止理由         shown with 中止

Dates: 2026-12-05, 2026/12/5, 2026年12月5日, 令和8年12月5日. Times: 10:00, 10時, 10時30分. No 開始時間: an
all-day event (終了日 is then its last day). 参加申込終了時間 blank: the end of that day (23:59).
Identity: 都道府県コード又は市区町村コード + NO; without NO, the イベント名 + 開始日 + 開始時間.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import event_notices
from bot import registrations as regs
from bot.event_occurrences import materialise, validate_rrule
from bot.opendata import common as C
from bot.opendata import importer as I
from models.events import CANCELLED, DRAFT, PENDING, PUBLISHED, Event

COLUMNS = [
    "都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "イベント名", "イベント名_カナ",
    "イベント名_英語", "開始日", "終了日", "開始時間", "終了時間", "開始日時特記事項", "説明", "料金(基本)",
    "料金(詳細)", "連絡先名称", "連絡先電話番号", "連絡先内線番号", "主催者", "場所名称", "住所", "方書", "緯度",
    "経度", "アクセス方法", "駐車場情報", "定員", "参加申込終了日", "参加申込終了時間", "参加申込方法", "URL", "備考",
]
EXTRA = ["対象年齢(下限)", "対象年齢(上限)", "料金区分", "地区", "関連プロジェクト", "関連アクション", "申込", "タグ",
         "状態", "繰り返し(RRULE)", "中止理由"]
assert len(COLUMNS) == 32
STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開", CANCELLED: "中止"}
TEXTS = [  # column, attribute, longest text
    ("イベント名_カナ", "title_kana", 200), ("イベント名_英語", "title_en", 200), ("開始日時特記事項", "time_note", 500),
    ("説明", "description", 10_000), ("連絡先名称", "contact_name", 200), ("連絡先電話番号", "phone", 40),
    ("連絡先内線番号", "phone_ext", 20), ("主催者", "organiser_name", 200), ("場所名称", "place_name", 200),
    ("住所", "address", 300), ("方書", "address_note", 200), ("アクセス方法", "access", 10_000),
    ("駐車場情報", "parking", 10_000), ("参加申込方法", "registration_method", 10_000), ("備考", "note", 10_000),
    ("中止理由", "cancel_reason", 300),
]
DEADLINE_DEFAULT = 23 * 60 + 59
NO_REGISTRATION = {"不要", "申込不要", "なし", "不要です", "当日自由参加", "自由参加"}
# What registered residents are told about when it changes (as the admin: bot/admin/views_events.py).
TIME_FIELDS = {"starts_at", "ends_at", "all_day", "rrule"}
PLACE_FIELDS = {"place_name", "address", "lat", "lon", "district"}
MAX_TAGS, MAX_TAG = 20, 30


def _times(cells: I.Cells, row: I.Row) -> None:
    mark = cells.mark()
    start_day = cells.take("開始日", C.parse_date)
    if start_day is None and not cells.failed_since(mark):
        cells.refuse("開始日", "入力してください。")
    start_min = cells.take("開始時間", C.parse_minutes)
    end_day = cells.take("終了日", C.parse_date)
    end_min = cells.take("終了時間", C.parse_minutes, allow_24=True, upto=1440)
    if cells.failed_since(mark):
        return
    if start_min is None and end_min is not None:
        cells.refuse("開始時間", "終了時間があるときは、開始時間も入力してください。")
        return
    if end_day is not None and end_day < start_day:
        cells.refuse("終了日", f"終了日（{end_day:%Y-%m-%d}）が開始日（{start_day:%Y-%m-%d}）より前です。")
        return
    all_day = start_min is None
    starts = C.tokyo_datetime(start_day, start_min or 0)
    if all_day:
        ends = C.tokyo_datetime(end_day, 1440) if end_day else None
    elif end_min is not None:
        ends = C.tokyo_datetime(end_day or start_day, end_min)
    else:
        ends = C.tokyo_datetime(end_day, 1440) if end_day else None
    if ends is not None and ends < starts:
        cells.refuse("終了時間", f"終了（{C.fmt_minutes(end_min)}）が開始（{C.fmt_minutes(start_min)}）より前です。")
        return
    row.values.update(starts_at=starts, ends_at=ends, all_day=all_day)


def _registration(cells: I.Cells, row: I.Row) -> None:
    day = cells.take("参加申込終了日", C.parse_date)
    minutes = cells.take("参加申込終了時間", C.parse_minutes, allow_24=True, upto=1440)
    if day is None and minutes is not None:
        cells.refuse("参加申込終了日", "参加申込終了時間があるときは、参加申込終了日も入力してください。")
    deadline = C.tokyo_datetime(day, DEADLINE_DEFAULT if minutes is None else minutes) if day else None
    if cells.has("参加申込終了日"):
        row.values["registration_deadline"] = deadline
    method = row.values.get("registration_method")
    if cells.has("申込") and cells.raw("申込"):
        required = cells.take("申込", C.parse_bool)
    else:
        required = deadline is not None or bool(method and C.nfkc(method) not in NO_REGISTRATION)
    row.values["registration_required"] = bool(required)
    if required and row.values.get("rrule"):
        cells.refuse("繰り返し(RRULE)", "申込が必要なイベントは繰り返しにできません。日ごとに1行ずつにしてください。")


def _tags(value: str) -> list[str]:
    tags = C.split_multi(value)
    if len(tags) > MAX_TAGS:
        raise C.CellError(f"タグは{MAX_TAGS}個までにしてください（{len(tags)}個）。")
    for t in tags:
        C.check_text(t, MAX_TAG)
    return list(dict.fromkeys(tags))


def _rrule(value: str) -> str | None:
    body = value.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:].strip()
    if not body:
        return None
    if (problem := validate_rrule(body)) is not None:
        raise C.CellError(problem)
    return C.check_text(body, 500)


def parse(cells: I.Cells, city: C.City) -> I.Row | None:
    row = I.Row(cells.record.line)
    I.identity(cells, city, row, "イベント名", "開始日", "開始時間")
    row.values["title"] = cells.text("イベント名", 200, required=True)
    for column, attr, n in TEXTS:
        cells.put_text(row, column, attr, n)
    if cells.has("URL"):
        row.values["url"] = cells.take("URL", C.parse_url)
    _times(cells, row)
    I.parse_cost(cells, "料金区分", "料金(基本)", "料金(詳細)", row)
    if cells.has("定員"):
        raw = C.nfkc(cells.raw("定員"))
        row.values["capacity"] = None if raw in ("なし", "制限なし", "無制限", "-") else \
            cells.take("定員", C.parse_int, low=1, high=1_000_000, what="定員", suffixes=("人", "名"))
    if cells.has("繰り返し(RRULE)"):
        row.values["rrule"] = cells.take("繰り返し(RRULE)", _rrule)
    _registration(cells, row)
    I.parse_ages(cells, "対象年齢(下限)", "対象年齢(上限)", row)
    I.parse_plan(cells, city, "関連プロジェクト", "関連アクション", row)
    if cells.has("タグ"):
        row.values["tags"] = cells.take("タグ", _tags) or []
    if cells.has("状態"):
        row.status = cells.take("状態", C.parse_choice, STATUS_LABELS, "状態")
    mark = cells.mark()
    lat, lon = I.parse_point(cells, city, row)
    if not cells.failed_since(mark) or cells.raw("地区"):  # a 地区 given is checked whatever the point
        known, district = I.district_of(cells, city, "地区", lat, lon, row.values.get("address"), required=False)
        if known:
            row.values["district"] = district
    return None if cells.bad else row


def _check_registrations(db: Session, event: Event, values: dict) -> None:
    """Refuse (before anything changes) what the registrations already taken forbid, as the admin form does."""
    slot = regs.find_slot(db, "event", event.id)
    if slot is None or values.get("status", event.status) == CANCELLED:
        return
    taken = slot.confirmed + slot.waiting
    required = values.get("registration_required", event.registration_required)
    capacity = values.get("capacity", event.capacity)
    if not required and taken:
        raise I.Refused("申込", f"すでに{taken}人が申し込んでいるため「不要」にできません。取りやめるときは状態を「中止」にしてください。")
    if required and capacity is not None and capacity < slot.confirmed:
        raise I.Refused("定員", f"参加が確定している方が{slot.confirmed}人いるため、定員を{capacity}人には減らせません。")


def _what_changed(changed: list[str]) -> list[str]:
    what = []
    if TIME_FIELDS.intersection(changed):
        what.append("time")
    if PLACE_FIELDS.intersection(changed):
        what.append("place")
    return what


def _registration_slot(db: Session, event: Event, now: datetime) -> None:
    if event.registration_required and event.status != CANCELLED:
        slot = regs.slot_for(db, "event", event.id, capacity=event.capacity, starts_at=event.starts_at,
                             ends_at=event.ends_at, closes_at=event.registration_deadline, now=now)
        if not slot.open:
            slot.open = True
    elif (slot := regs.find_slot(db, "event", event.id)) is not None and slot.open:
        regs.close_slot(db, "event", event.id, now=now)


def write(db: Session, event: Event | None, row: I.Row, ctx: I.Context) -> str:
    """Add or update one event: its dates (materialise), its registration slot, and what residents are told
    (a new listing to subscribers; a change or cancellation to those registered), as the admin does."""
    now = ctx.now
    status = I.decide_status(row, event, ctx.scope)
    values = dict(row.values)
    if status is not None:
        values["status"] = status
    if event is None:
        event = Event(external_key=row.key, organisation_id=ctx.scope.organisation_id, source="csv", created_at=now,
                      updated_at=now, revision=1, **values)
        if event.status == PUBLISHED:
            event.published_at = now
        db.add(event)
        db.flush()
        materialise(db, event, now=now)
        _registration_slot(db, event, now)
        if event.status == PUBLISHED and ctx.announce:
            event_notices.announce_listing(db, event, now=now, base_url=ctx.base_url)
        return "added"
    _check_registrations(db, event, values)
    was = event.status
    changed = I.assign(event, values)
    if not changed:
        return "unchanged"
    event.updated_at, event.source = now, "csv"
    db.flush()
    materialise(db, event, now=now)
    _registration_slot(db, event, now)
    if event.status == CANCELLED and was != CANCELLED:
        event.revision = (event.revision or 1) + 1
        event_notices.event_cancelled(db, event, now=now)
    elif event.status == PUBLISHED and was == PUBLISHED and (what := _what_changed(changed)):
        event.revision = (event.revision or 1) + 1
        event_notices.event_changed(db, event, now=now, what=what, base_url=ctx.base_url)
    elif event.status == PUBLISHED and was != PUBLISHED:
        event.published_at = event.published_at or now
        if ctx.announce:
            event_notices.announce_listing(db, event, now=now, base_url=ctx.base_url)
    return "updated"


LAYOUT = I.Layout(Event, COLUMNS + EXTRA, ("イベント名", "開始日"), parse, write)


def import_csv(db: Session, data: bytes, *, scope: I.Scope, now: datetime, dry_run: bool = False,
               announce: bool = True, base_url: str | None = None) -> C.ImportReport:
    """Read a イベント一覧 file into `db` (the caller commits). Raises encoding.UnreadableFile."""
    return I.run(db, data, LAYOUT, I.Context(scope, now, announce, base_url), dry_run=dry_run)


# -- export -------------------------------------------------------------------------------------------------

def _date(dt) -> str:
    return C.tokyo_parts(dt)[0].isoformat()


def _row(e: Event, city: C.City) -> list[str]:
    code, no = C.split_key(e.external_key, city.code)
    if not e.external_key:
        no = f"kyodo-{e.id}"
    start_day, start_min = C.tokyo_parts(e.starts_at)
    end_day = end_time = ""
    if e.ends_at is not None:
        d, m = C.tokyo_parts(e.ends_at)
        if e.all_day:
            end_day = (d - timedelta(days=1) if m == 0 else d).isoformat()
        else:
            end_day, end_time = d.isoformat(), C.fmt_minutes(m)
    deadline_day = deadline_time = ""
    if e.registration_deadline is not None:
        d, m = C.tokyo_parts(e.registration_deadline)
        deadline_day, deadline_time = d.isoformat(), C.fmt_minutes(m)
    basic, cost_kind = I.export_cost(e)
    standard = [
        code, no, city.prefecture, city.name, e.title, e.title_kana, e.title_en, start_day.isoformat(), end_day,
        "" if e.all_day else C.fmt_minutes(start_min), end_time, e.time_note, e.description, basic, e.cost_note,
        e.contact_name, e.phone, e.phone_ext, e.organiser_name, e.place_name, e.address, e.address_note, e.lat,
        e.lon, e.access, e.parking, e.capacity, deadline_day, deadline_time, e.registration_method, e.url, e.note,
    ]
    extra = [e.age_min, e.age_max, cost_kind, e.district, e.project, e.action,
             "要" if e.registration_required else "不要", C.SEP.join(e.tags or []),
             STATUS_LABELS.get(e.status, e.status), e.rrule, e.cancel_reason]
    return [C.cell(v) for v in standard + extra]


def export_csv(db: Session, *, organisation_id: int | None = None, own_only: bool = False) -> bytes:
    """Every event (an organisation's own with `own_only`), oldest first, as UTF-8 with BOM and CRLF."""
    city = C.City.load(db, need_districts=False)
    stmt = select(Event).order_by(Event.id)
    if own_only:
        stmt = stmt.where(Event.organisation_id == organisation_id)
    return C.write_csv(COLUMNS + EXTRA, [_row(e, city) for e in db.scalars(stmt)])
