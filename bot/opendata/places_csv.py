"""公共施設一覧 (デジタル庁 推奨データセット) in and out of the places table (こどもの居場所).

The file: the layout's 24 columns with their published names, then these extra columns for what the
layout has no place for (the export writes all of them; an import takes whichever the file has, and a
column the file lacks leaves the stored value alone):

    種別            こども食堂 / 学習支援 / 子育てひろば / 放課後の居場所 / 遊び場 / その他 (or the keys shokudo,
                    study, hiroba, afterschool, play, other). Without it, a new row's kind is guessed from 名称
    地区            the 地区's key (kozu) or name (国府津). Blank or absent: the nearest 地区 centre to 緯度・経度,
                    else a 地区 name in 住所; a row with none of these is refused
    対象年齢(下限), 対象年齢(上限)  whole years, 0-120
    料金区分        無料 / 金額 / 1食あたり (or free / amount / per_meal)
    料金(基本)      「無料」「300円」「有料」 (as in イベント一覧)
    料金(詳細)      e.g. こども無料・大人300円
    予約            要 / 不要
    連絡先名称
    関連プロジェクト, 関連アクション  the plan's numbers (303 = こどもの多様な居場所づくり)
    状態            下書き / 承認待ち / 公開 / 掲載終了 (or draft / pending / published / withdrawn); a new row
                    without it is 公開 (承認待ち for an organisation whose listings need approval)
    開所時間        the weekly hours, readable and exact: 「土 10:00-12:00 第2・第4; 水 15:00-18:00」
                    (bot/opendata/hours.py). When present it is used instead of 利用可能曜日 + 開始時間 + 終了時間
    祝日休み        はい / いいえ (closed on national holidays; default はい, or いいえ when 利用可能曜日 says 祝)
    年末年始休み     はい / いいえ (closed 12/29-1/3; default はい)
    休業日          dates off, 「;」 between them: 2026-12-05;2027-01-09
    臨時開所日       dates open outside the week: 2026-12-26 10:00-12:00;2027-01-05 13:00-15:00
    最終確認日       when someone last checked the facts

利用可能曜日: 月;火;水 / 月曜日～金曜日 / 平日 / 第2・第4土曜; 開始時間 and 終了時間 apply to every day, or pair
with the day entries when they hold as many 「;」-separated times. Identity: コード + NO; without NO, 名称 + 住所.
POIコード and 法人番号 are not kept (exported blank).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import event_notices
from bot.opendata import common as C
from bot.opendata import hours as H
from bot.opendata import importer as I
from models.places import DRAFT, PENDING, PUBLISHED, WITHDRAWN, Place, PlaceHours

COLUMNS = [
    "都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称", "名称_カナ", "名称_通称", "POIコード",
    "住所", "方書", "緯度", "経度", "電話番号", "内線番号", "法人番号", "団体名", "利用可能曜日", "開始時間", "終了時間",
    "利用可能日時特記事項", "説明", "バリアフリー情報", "URL", "備考",
]
EXTRA = ["種別", "地区", "対象年齢(下限)", "対象年齢(上限)", "料金区分", "料金(基本)", "料金(詳細)", "予約", "連絡先名称",
         "関連プロジェクト", "関連アクション", "状態", "開所時間", "祝日休み", "年末年始休み", "休業日", "臨時開所日",
         "最終確認日"]
assert len(COLUMNS) == 24
KIND_LABELS = {"shokudo": "こども食堂", "study": "学習支援", "hiroba": "子育てひろば", "afterschool": "放課後の居場所",
               "play": "遊び場", "other": "その他"}
# A new row from a file without 種別: words in its name, first match wins.
KIND_WORDS = [("shokudo", ("食堂",)), ("study", ("学習", "塾", "勉強")),
              ("hiroba", ("ひろば", "広場", "子育て支援", "子育て")),
              ("afterschool", ("放課後", "児童クラブ", "学童")), ("play", ("遊び", "児童館", "プレーパーク", "公園"))]
STATUS_LABELS = {DRAFT: "下書き", PENDING: "承認待ち", PUBLISHED: "公開", WITHDRAWN: "掲載終了"}
TEXTS = [
    ("名称_カナ", "name_kana", 200), ("名称_通称", "name_common", 200), ("方書", "address_note", 200),
    ("電話番号", "phone", 40), ("内線番号", "phone_ext", 20), ("団体名", "organiser_name", 200),
    ("利用可能日時特記事項", "hours_note", 10_000), ("説明", "description", 10_000),
    ("バリアフリー情報", "accessibility", 10_000), ("備考", "note", 10_000), ("連絡先名称", "contact_name", 200),
]
HOURS_COLUMN = "開所時間"
STANDARD_HOURS = ("利用可能曜日", "開始時間", "終了時間")


def guess_kind(name: str) -> str:
    for kind, words in KIND_WORDS:
        if any(w in name for w in words):
            return kind
    return "other"


def _dates(value: str) -> list[str]:
    days = [C.parse_date(v) for v in C.split_multi(value)]
    return sorted({d.isoformat() for d in days if d})


def _extra_dates(value: str) -> list[dict]:
    out = {}
    for part in C.split_multi(value):
        bits = C.nfkc(part).split(None, 1)
        day = C.parse_date(bits[0])
        span = bits[1] if len(bits) > 1 else ""
        m = H._SPAN.fullmatch(span.strip())
        if m is None:
            raise C.CellError(f"「{part}」は「2026-12-26 10:00-12:00」の形にしてください。")
        opens = C.parse_minutes(m.group(1))
        closes = C.parse_minutes(m.group(2), allow_24=True, upto=2880)
        if closes <= opens:
            raise C.CellError(f"「{part}」の終わりが始まりより前です。")
        out[day.isoformat()] = {"date": day.isoformat(), "open": C.fmt_minutes(opens), "close": C.fmt_minutes(closes)}
    return [out[k] for k in sorted(out)]


def _hours(cells: I.Cells, row: I.Row) -> None:
    holidays_open = False
    if cells.has(HOURS_COLUMN) and cells.raw(HOURS_COLUMN):
        got = cells.take(HOURS_COLUMN, H.parse_weekly)
        if got is None:
            return
        openings, holidays_open = got
        row.values["hours"] = openings
    elif any(cells.has(c) for c in STANDARD_HOURS):
        try:
            openings, holidays_open = H.parse_standard(*(cells.raw(c) for c in STANDARD_HOURS))
        except C.CellError as e:
            cells.refuse(e.column or "利用可能曜日", str(e))
            return
        row.values["hours"] = openings
    elif cells.has(HOURS_COLUMN):
        row.values["hours"] = []
    if cells.has("祝日休み") and cells.raw("祝日休み"):
        row.values["closed_on_holidays"] = cells.take("祝日休み", C.parse_bool)
    elif "hours" in row.values:
        row.values["closed_on_holidays"] = not holidays_open
    if cells.has("年末年始休み"):
        row.values["closed_year_end"] = cells.take("年末年始休み", C.parse_bool, True)


def parse(cells: I.Cells, city: C.City) -> I.Row | None:
    row = I.Row(cells.record.line)
    I.identity(cells, city, row, "名称", "住所")
    name = row.values["name"] = cells.text("名称", 200, required=True)
    if cells.has("住所"):
        row.values["address"] = cells.text("住所", 300) or ""
    for column, attr, n in TEXTS:
        cells.put_text(row, column, attr, n)
    if cells.has("URL"):
        row.values["url"] = cells.take("URL", C.parse_url)
    if cells.has("種別") and cells.raw("種別"):
        row.values["kind"] = cells.take("種別", C.parse_choice, KIND_LABELS, "種別")
    else:
        row.defaults["kind"] = guess_kind(name or "")
    I.parse_cost(cells, "料金区分", "料金(基本)", "料金(詳細)", row)
    if cells.has("予約"):
        row.values["booking_required"] = bool(cells.take("予約", C.parse_bool, False))
    I.parse_ages(cells, "対象年齢(下限)", "対象年齢(上限)", row)
    I.parse_plan(cells, city, "関連プロジェクト", "関連アクション", row)
    if cells.has("状態"):
        row.status = cells.take("状態", C.parse_choice, STATUS_LABELS, "状態")
    _hours(cells, row)
    if cells.has("休業日"):
        row.values["closed_dates"] = cells.take("休業日", _dates) or []
    if cells.has("臨時開所日"):
        row.values["extra_dates"] = cells.take("臨時開所日", _extra_dates) or []
    if cells.has("最終確認日"):
        row.values["verified_on"] = cells.take("最終確認日", C.parse_date)
    mark = cells.mark()
    lat, lon = I.parse_point(cells, city, row)
    if not cells.failed_since(mark) or cells.raw("地区"):  # a 地区 given is checked whatever the point
        _, district = I.district_of(cells, city, "地区", lat, lon, row.values.get("address"), required=True)
        row.values["district"] = district
    return None if cells.bad else row


def _openings(place: Place) -> list[H.Opening]:
    return sorted(H.Opening(h.weekday, h.opens, h.closes, h.weeks or 0) for h in place.hours)


def write(db: Session, place: Place | None, row: I.Row, ctx: I.Context) -> str:
    """Add or update one place and its weekly hours; a place newly published is announced to its
    subscribers, as the admin does."""
    now, scope = ctx.now, ctx.scope
    status = I.decide_status(row, place, scope)
    values = dict(row.values)
    openings = values.pop("hours", None)
    if status is not None:
        values["status"] = status
    if place is None:
        place = Place(external_key=row.key, organisation_id=scope.organisation_id, source="csv", created_at=now,
                      updated_at=now, **{**row.defaults, **values})
        if place.status == PUBLISHED:
            place.published_at = now
        place.hours = [PlaceHours(weekday=o.weekday, opens=o.opens, closes=o.closes, weeks=o.weeks)
                       for o in openings or ()]
        db.add(place)
        if place.status == PUBLISHED and ctx.announce:
            db.flush()
            event_notices.announce_listing(db, place, now=now, base_url=ctx.base_url)
        return "added"
    was = place.status
    changed = I.assign(place, values)
    if openings is not None and _openings(place) != sorted(openings):
        place.hours = [PlaceHours(weekday=o.weekday, opens=o.opens, closes=o.closes, weeks=o.weeks) for o in openings]
        changed.append("hours")
    if not changed:
        return "unchanged"
    place.updated_at, place.source = now, "csv"
    if place.status == PUBLISHED and was != PUBLISHED:
        place.published_at = place.published_at or now
        if ctx.announce:
            db.flush()
            event_notices.announce_listing(db, place, now=now, base_url=ctx.base_url)
    return "updated"


LAYOUT = I.Layout(Place, COLUMNS + EXTRA, ("名称",), parse, write, load=(selectinload(Place.hours),))


def import_csv(db: Session, data: bytes, *, scope: I.Scope, now: datetime, dry_run: bool = False,
               announce: bool = True, base_url: str | None = None) -> C.ImportReport:
    """Read a 公共施設一覧 file into `db` (the caller commits). Raises encoding.UnreadableFile."""
    return I.run(db, data, LAYOUT, I.Context(scope, now, announce, base_url), dry_run=dry_run)


# -- export -------------------------------------------------------------------------------------------------

def _row(p: Place, city: C.City) -> list[str]:
    code, no = C.split_key(p.external_key, city.code)
    if not p.external_key:
        no = f"kyodo-{p.id}"
    openings = _openings(p)
    days, opens, closes = H.format_standard(openings)
    basic, cost_kind = I.export_cost(p)
    extra_dates = C.SEP.join(f"{d.get('date')} {d.get('open')}-{d.get('close')}" for d in p.extra_dates or ())
    standard = [
        code, no, city.prefecture, city.name, p.name, p.name_kana, p.name_common, "", p.address, p.address_note,
        p.lat, p.lon, p.phone, p.phone_ext, "", p.organiser_name, days, opens, closes, p.hours_note, p.description,
        p.accessibility, p.url, p.note,
    ]
    extra = [
        KIND_LABELS.get(p.kind, p.kind), p.district, p.age_min, p.age_max, cost_kind, basic, p.cost_note,
        "要" if p.booking_required else "不要", p.contact_name, p.project, p.action,
        STATUS_LABELS.get(p.status, p.status), H.format_weekly(openings),
        "はい" if p.closed_on_holidays else "いいえ", "はい" if p.closed_year_end else "いいえ",
        C.SEP.join(p.closed_dates or ()), extra_dates, p.verified_on.isoformat() if p.verified_on else "",
    ]
    return [C.cell(v) for v in standard + extra]


def export_csv(db: Session, *, organisation_id: int | None = None, own_only: bool = False) -> bytes:
    """Every place (an organisation's own with `own_only`), oldest first, as UTF-8 with BOM and CRLF."""
    city = C.City.load(db, need_districts=False)
    stmt = select(Place).options(selectinload(Place.hours)).order_by(Place.id)
    if own_only:
        stmt = stmt.where(Place.organisation_id == organisation_id)
    return C.write_csv(COLUMNS + EXTRA, [_row(p, city) for p in db.scalars(stmt)])
