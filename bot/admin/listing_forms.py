"""The event and こどもの居場所 forms of the admin: read what was typed, check it, and say what is wrong in
Japanese beside the field.

Hand-written rather than WTForms because a place's opening hours are a variable number of rows (曜日, 開始,
終了, 第N週) and both forms share most of their checks. `parse_event` / `parse_place` take the submitted
form (a MultiDict) and return a `Parsed`: `values` (model attribute -> value, only meaningful without
errors), `errors` (field name -> message) and `raw` (what to show in the fields again). `event_raw` /
`place_raw` fill `raw` from a stored row for the edit page.

Times are typed in Tokyo wall time and stored in UTC (bot/clock.py).
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable, Mapping

from bot.clock import TOKYO, to_tokyo, utc
from bot.file_cache import read_per_change
from models.places import AMOUNT, COST_KINDS, FREE, KINDS, PER_MEAL

KIND_LABELS = {"shokudo": "こども食堂", "study": "学習支援", "hiroba": "子育てひろば・子育て支援センター",
               "afterschool": "放課後の居場所", "play": "遊び場", "other": "その他"}
COST_LABELS = {FREE: "無料", AMOUNT: "有料（1回あたり）", PER_MEAL: "有料（1食あたり）"}
WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")
WEEKS = (1, 2, 3, 4, 5)  # 第1 ... 第5 (bit n of PlaceHours.weeks)
HOURS_BLANK_ROWS = 3  # empty rows offered under the stored ones (no script needed to add a row)
HOURS_MAX_ROWS = 30
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
CITY_MARGIN_DEG = 0.04  # about 4 km around the outermost 地区 centres: the city's edge lies beyond them
AGE_MAX = 120
YEN_MAX = 1_000_000
CAPACITY_MAX = 100_000


@dataclass(frozen=True)
class DistrictInfo:
    key: str
    name: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Box:
    """The area a listing's lat/lon must fall in: the 地区 centres' bounding box, widened by a margin."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


@dataclass
class Context:
    """What the checks need to know besides the form: the city's 地区, the plan's numbers, the clock."""

    districts: list[DistrictInfo]
    now: datetime
    projects: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    action_exists: Callable[[int], bool] = lambda n: True
    validate_rrule: Callable[[str], str | None] | None = None

    @property
    def district_keys(self) -> set[str]:
        return {d.key for d in self.districts}

    @property
    def box(self) -> Box | None:
        points = [(d.lat, d.lon) for d in self.districts if d.lat is not None and d.lon is not None]
        if not points:
            return None
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        m = CITY_MARGIN_DEG
        return Box(min(lats) - m, max(lats) + m, min(lons) - m, max(lons) + m)


@dataclass
class HoursRow:
    weekday: str = ""
    open: str = ""
    close: str = ""
    overnight: bool = False
    weeks: tuple[int, ...] = ()
    error: str | None = None


@dataclass
class Parsed:
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    hours: list[HoursRow] = field(default_factory=list)  # places only

    @property
    def ok(self) -> bool:
        return not self.errors


# --- the city's 地区 ------------------------------------------------------------------------------------

def districts(db, city: str) -> list[DistrictInfo]:
    """The 地区 from the database (loaded with the plan), else the city's districts.yaml."""
    from models import plan

    rows = plan.districts(db)
    if rows:
        return [DistrictInfo(d.key, d.name, d.lat, d.lon) for d in rows]
    return districts_from_yaml(city)


def districts_from_yaml(city: str) -> list[DistrictInfo]:
    """The city's districts.yaml, in its order: read once per change of the file, not once per admin page."""
    from bot.config import ROOT

    path = Path(ROOT) / "cities" / city / "districts.yaml"
    if not path.is_file():
        return []
    return list(_read_districts(path) or ())


def _parse_districts(path: Path) -> tuple[DistrictInfo, ...]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for d in data.get("districts") or ():
        centre = d.get("center") or {}
        out.append(DistrictInfo(str(d["key"]), str(d["name"]), centre.get("lat"), centre.get("lon")))
    return tuple(out)


_read_districts = read_per_change(_parse_districts, maxsize=8)


# --- reading one field ----------------------------------------------------------------------------------

def _norm(s: str | None) -> str:
    """Full-width digits and letters to ASCII (a Japanese keyboard types ２０２６／１２／０５), trimmed."""
    return unicodedata.normalize("NFKC", s or "").strip()


class Reader:
    """Reads fields from the submitted form, remembering what was typed and the first problem per field."""

    def __init__(self, form: Mapping, parsed: Parsed) -> None:
        self.form, self.p = form, parsed

    def raw(self, name: str) -> str:
        value = self.form.get(name, "")
        value = value if isinstance(value, str) else ""
        value = value.replace("\r\n", "\n").replace("\x00", "")
        self.p.raw[name] = value
        return value

    def fail(self, name: str, message: str) -> None:
        self.p.errors.setdefault(name, message)

    def text(self, name: str, label: str, limit: int, *, required: bool = False) -> str | None:
        value = self.raw(name).strip()
        if not value:
            if required:
                self.fail(name, f"{label}を入力してください。")
            return None
        if len(value) > limit:
            self.fail(name, f"{label}は{limit:,}文字以内で入力してください（いま{len(value):,}文字）。")
        return value

    def check(self, name: str) -> bool:
        value = self.form.get(name)
        on = value not in (None, "", "0", "off", "false")
        self.p.raw[name] = on
        return on

    def integer(self, name: str, label: str, *, lo: int, hi: int, unit: str = "") -> int | None:
        text = _norm(self.raw(name)).replace(",", "")
        if unit:
            text = text.removesuffix(unit).strip()
        if not text:
            return None
        if not re.fullmatch(r"-?\d{1,9}", text):
            self.fail(name, f"{label}は数字で入力してください。")
            return None
        n = int(text)
        if not lo <= n <= hi:
            self.fail(name, f"{label}は{lo:,}から{hi:,}までの数で入力してください。")
            return None
        return n

    def number(self, name: str, label: str) -> float | None:
        text = _norm(self.raw(name))
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not re.fullmatch(r"[-+]?\d{1,3}(\.\d+)?", text):
            self.fail(name, f"{label}は 35.256 のような数で入力してください。")
            return None
        return value

    def day(self, name: str, label: str) -> date | None:
        text = self.raw(name)
        if not _norm(text):
            return None
        d = parse_date(text)
        if d is None:
            self.fail(name, f"{label}は 2026-12-05 のように入力してください。")
        return d

    def clock_time(self, name: str, label: str) -> time | None:
        text = self.raw(name)
        if not _norm(text):
            return None
        t = parse_time(text)
        if t is None:
            self.fail(name, f"{label}は 10:00 のように入力してください。")
        return t

    def choice(self, name: str, label: str, allowed, *, required: bool = False) -> str | None:
        value = self.raw(name).strip()
        if not value:
            if required:
                self.fail(name, f"{label}を選んでください。")
            return None
        if value not in allowed:
            self.fail(name, f"{label}は一覧から選んでください。")
            return None
        return value


def parse_date(text: str) -> date | None:
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", _norm(text))
    if not m:
        return None
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return d if EARLIEST <= d <= LATEST else None


def parse_time(text: str) -> time | None:
    m = re.fullmatch(r"(\d{1,2})[:：時](\d{2})(?::(\d{2}))?分?", _norm(text))
    if not m or int(m[1]) > 23 or int(m[2]) > 59 or (m[3] and int(m[3]) > 59):
        return None
    return time(int(m[1]), int(m[2]))


def deadline_of(r, p) -> datetime | None:
    """申込締切 from its date and time fields (a date alone: 23:59 that day, Tokyo); a time alone is an error.
    Shared by events and volunteer shifts."""
    dd = r.day("deadline_date", "申込締切日")
    dt = r.clock_time("deadline_time", "申込締切時刻")
    if dd is None and dt is not None and "deadline_date" not in p.errors:
        r.fail("deadline_date", "申込締切の日付も入力してください。")
    return tokyo(dd, dt or time(23, 59)) if dd is not None else None


def tokyo(d: date, t: time) -> datetime:
    return utc(datetime.combine(d, t, tzinfo=TOKYO))


# --- shared pieces ----------------------------------------------------------------------------------------

def _owner_and_text(r: Reader, p: Parsed, ctx: Context, *, district_required: bool) -> None:
    """地区, lat/lon, ages, cost, contact, plan numbers: the same fields and checks on both forms."""
    v = p.values
    district = r.choice("district", "地区", ctx.district_keys, required=district_required)
    v["district"] = district
    lat, lon = r.number("lat", "緯度"), r.number("lon", "経度")
    if (lat is None) != (lon is None) and "lat" not in p.errors and "lon" not in p.errors:
        r.fail("lat" if lat is None else "lon", "緯度と経度は両方入力してください（わからないときは両方とも空欄にします）。")
    elif lat is not None and lon is not None:
        box = ctx.box
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            r.fail("lat", "緯度は -90 から 90、経度は -180 から 180 の間です。入れ替わっていないか確かめてください。")
        elif box is not None and not box.contains(lat, lon):
            r.fail("lat", f"緯度・経度（{lat}, {lon}）が市の外を指しています。地図で場所を確かめてください"
                          f"（緯度は{box.lat_min:.2f}〜{box.lat_max:.2f}、経度は{box.lon_min:.2f}〜{box.lon_max:.2f}の間です）。")
    v["lat"], v["lon"] = lat, lon
    v["address_note"] = r.text("address_note", "方書（建物名・階）", 200)

    age_min = r.integer("age_min", "対象年齢（下限）", lo=0, hi=AGE_MAX, unit="歳")
    age_max = r.integer("age_max", "対象年齢（上限）", lo=0, hi=AGE_MAX, unit="歳")
    if age_min is not None and age_max is not None and age_min > age_max:
        r.fail("age_min", f"対象年齢の下限（{age_min}歳）が上限（{age_max}歳）より上になっています。")
    v["age_min"], v["age_max"] = age_min, age_max

    cost_kind = r.choice("cost_kind", "費用", COST_KINDS) or FREE
    v["cost_kind"] = cost_kind
    yen = r.integer("cost_yen", "金額", lo=0, hi=YEN_MAX, unit="円")
    if cost_kind != FREE and yen is None and "cost_yen" not in p.errors:
        r.fail("cost_yen", "有料のときは金額を入力してください（0円のときは「無料」を選びます）。")
    v["cost_yen"] = yen if cost_kind != FREE else None
    v["cost_note"] = r.text("cost_note", "費用の補足", 300)

    v["contact_name"] = r.text("contact_name", "連絡先の名称", 200)
    phone = r.text("phone", "電話番号", 40)
    if phone and not re.fullmatch(r"[0-9０-９\-－ー()（）+＋ 　]{6,40}", phone):
        r.fail("phone", "電話番号は 0465-33-1234 のように数字とハイフンで入力してください。")
    v["phone"] = phone
    v["phone_ext"] = r.text("phone_ext", "内線番号", 20)
    url = r.text("url", "ホームページ", 500)
    if url and not re.fullmatch(r"https?://[^\s<>\"']+\.[^\s<>\"']+", url):
        r.fail("url", "ホームページは https:// で始まるアドレスを入力してください。")
    v["url"] = url
    v["description"] = r.text("description", "説明", 4000)
    v["note"] = r.text("note", "備考", 2000)
    v["organiser_name"] = r.text("organiser_name", "主催・運営の名前", 200)

    project = r.integer("project", "プロジェクト", lo=1, hi=99)
    if project is not None and project not in ctx.projects and "project" not in p.errors:
        r.fail("project", "プロジェクトは一覧から選んでください。")
    v["project"] = project
    action = r.integer("plan_action", "施策番号", lo=1, hi=99_999)  # "action" is the form's button
    if action is not None and "plan_action" not in p.errors and not ctx.action_exists(action):
        r.fail("plan_action", f"施策番号 {action} は計画にありません。計画の施策番号（例: 303）を入力してください。")
    v["action"] = action


# --- events -----------------------------------------------------------------------------------------------

def parse_event(form: Mapping, ctx: Context, *, existing=None) -> Parsed:
    """Check an event form. `existing`: the stored event when editing (a start already in the past may stay)."""
    p = Parsed()
    r = Reader(form, p)
    v = p.values
    v["title"] = r.text("title", "タイトル", 200, required=True)
    v["title_kana"] = r.text("title_kana", "タイトルのふりがな", 200)
    v["place_name"] = r.text("place_name", "会場名", 200)
    v["address"] = r.text("address", "住所", 300)
    v["access"] = r.text("access", "アクセス", 1000)
    v["parking"] = r.text("parking", "駐車場", 1000)
    v["time_note"] = r.text("time_note", "日時の補足", 500)
    v["registration_method"] = r.text("registration_method", "申込方法", 1000)
    v["tags"] = split_tags(r.text("tags", "タグ", 300) or "")
    _owner_and_text(r, p, ctx, district_required=False)

    # When: a start date (required), times optional (no start time: an all-day event).
    d1 = r.day("start_date", "開始日")
    if d1 is None and "start_date" not in p.errors:
        r.fail("start_date", "開始日を入力してください。")
    t1 = r.clock_time("start_time", "開始時刻")
    d2 = r.day("end_date", "終了日")
    t2 = r.clock_time("end_time", "終了時刻")
    all_day = t1 is None and "start_time" not in p.errors
    if all_day and t2 is not None:
        r.fail("start_time", "終了時刻を入れるときは、開始時刻も入力してください。")
    starts_at = ends_at = None
    if d1 is not None:
        starts_at = tokyo(d1, t1 or time(0, 0))
        if d2 is not None or t2 is not None:
            end_day = d2 or d1
            ends_at = tokyo(end_day, t2 or time(23, 59))  # a date alone: until the end of that day
            if ends_at <= starts_at and "end_date" not in p.errors and "end_time" not in p.errors:
                r.fail("end_time" if t2 is not None else "end_date", "終了日時は開始日時より後にしてください。")
        changed = existing is None or utc(existing.starts_at) != starts_at
        if changed and _start_is_past(starts_at, all_day, ctx.now):
            r.fail("start_date", f"開始日時（{to_tokyo(starts_at):%Y/%m/%d %H:%M}）が過ぎています。これから先の日時を入力してください。")
    v["starts_at"], v["ends_at"], v["all_day"] = starts_at, ends_at, all_day

    rule = _norm(r.raw("rrule")).removeprefix("RRULE:").strip()
    rule = rule.upper() or None
    if rule and len(rule) > 500:
        r.fail("rrule", "繰り返しの指定が長すぎます（500文字まで）。")
    elif rule and ctx.validate_rrule is not None and (problem := ctx.validate_rrule(rule)):
        r.fail("rrule", problem)
    v["rrule"] = rule

    capacity = r.integer("capacity", "定員", lo=-CAPACITY_MAX, hi=CAPACITY_MAX, unit="人")
    if capacity is not None and capacity <= 0:
        r.fail("capacity", "定員は1人以上で入力してください（定員がないときは空欄にします）。")
        capacity = None
    v["capacity"] = capacity

    required = r.check("registration_required")
    v["registration_required"] = required
    deadline = deadline_of(r, p)
    if deadline is not None:
        if not required:
            r.fail("deadline_date", "申込締切は「参加申込が必要」に印を付けたときだけ入力します。")
        elif starts_at is not None and deadline > starts_at:
            r.fail("deadline_date", f"申込締切（{to_tokyo(deadline):%m/%d %H:%M}）は開始日時"
                                    f"（{to_tokyo(starts_at):%m/%d %H:%M}）より前にしてください。")
    v["registration_deadline"] = deadline if required else None
    if required and rule:
        r.fail("registration_required", "繰り返しのイベントでは参加申込を受け付けられません。申込が必要なときは、"
                                        "日付ごとに別のイベントとして登録してください。")
    return p


def _start_is_past(starts_at: datetime, all_day: bool, now: datetime) -> bool:
    if all_day:  # an all-day event today is still to come
        return to_tokyo(starts_at).date() < to_tokyo(now).date()
    return starts_at < utc(now)


def split_tags(text: str) -> list[str]:
    words = [w.strip("#＃ ") for w in re.split(r"[,、，\s　]+", text)]
    out: list[str] = []
    for w in words:
        if w and w not in out:
            out.append(w[:30])
    return out[:20]


def event_raw(event) -> dict:
    """The stored event as the form shows it."""
    start, end = to_tokyo(event.starts_at), to_tokyo(event.ends_at) if event.ends_at else None
    raw = {name: _show(getattr(event, name)) for name in (
        "title", "title_kana", "description", "organiser_name", "district", "place_name", "address",
        "address_note", "lat", "lon", "access", "parking", "time_note", "rrule", "age_min", "age_max", "cost_kind",
        "cost_yen", "cost_note", "capacity", "registration_method", "contact_name", "phone", "phone_ext", "url",
        "note", "project")}
    raw["plan_action"] = _show(event.action)
    raw["tags"] = "、".join(event.tags or [])
    raw["start_date"] = f"{start:%Y-%m-%d}"
    raw["start_time"] = "" if event.all_day else f"{start:%H:%M}"
    raw["end_date"] = f"{end:%Y-%m-%d}" if end and end.date() != start.date() else ""
    raw["end_time"] = f"{end:%H:%M}" if end and not event.all_day else ""
    raw["registration_required"] = bool(event.registration_required)
    if event.registration_deadline:
        dl = to_tokyo(event.registration_deadline)
        raw["deadline_date"], raw["deadline_time"] = f"{dl:%Y-%m-%d}", f"{dl:%H:%M}"
    return raw


def _show(value) -> str:
    return "" if value is None else str(value)


# --- places -------------------------------------------------------------------------------------------------

def parse_place(form: Mapping, ctx: Context) -> Parsed:
    p = Parsed()
    r = Reader(form, p)
    v = p.values
    v["name"] = r.text("name", "名前", 200, required=True)
    v["name_kana"] = r.text("name_kana", "名前のふりがな", 200)
    v["name_common"] = r.text("name_common", "通称", 200)
    v["kind"] = r.choice("kind", "種類", KINDS, required=True)
    v["address"] = r.text("address", "住所", 300, required=True) or ""
    v["hours_note"] = r.text("hours_note", "開いている日時の補足", 1000)
    v["accessibility"] = r.text("accessibility", "バリアフリー情報", 1000)
    v["booking_required"] = r.check("booking_required")
    v["closed_on_holidays"] = r.check("closed_on_holidays")
    v["closed_year_end"] = r.check("closed_year_end")
    verified = r.day("verified_on", "情報を確かめた日")
    if verified is not None and verified > to_tokyo(ctx.now).date():
        r.fail("verified_on", "情報を確かめた日に、これから先の日付は入れられません。")
    v["verified_on"] = verified
    _owner_and_text(r, p, ctx, district_required=True)
    v["closed_dates"] = _closed_dates(r)
    v["extra_dates"] = _extra_dates(r)
    p.hours = _hours_rows(form)
    rows = []
    for i, row in enumerate(p.hours, start=1):
        if row.error:
            r.fail("hours", f"開いている時間の{i}行目: {row.error}")
        elif row.weekday != "":
            rows.append(_hours_value(row))
    v["hours"] = rows
    if not rows and not v["extra_dates"] and not v["hours_note"] and "hours" not in p.errors:
        r.fail("hours", "開いている曜日と時間を1行以上入力するか、「開いている日時の補足」に書いてください。")
    return p


def _closed_dates(r: Reader) -> list[str]:
    text = r.raw("closed_dates")
    out: list[str] = []
    for word in re.split(r"[,、，\s　]+", _norm(text)):
        if not word:
            continue
        d = parse_date(word)
        if d is None:
            r.fail("closed_dates", f"休みの日「{word}」は日付として読めません。2026-12-05 のように、1行に1日ずつ入力してください。")
            continue
        if d.isoformat() not in out:
            out.append(d.isoformat())
    return sorted(out)[:400]


EXTRA_RE = re.compile(r"(\S+)\s+(\d{1,2}[:：]\d{2})\s*[-〜~～ー－]\s*(\d{1,2}[:：]\d{2})")


def _extra_dates(r: Reader) -> list[dict]:
    out: list[dict] = []
    for line in r.raw("extra_dates").split("\n"):
        line = _norm(line)
        if not line:
            continue
        m = EXTRA_RE.fullmatch(line)
        d = parse_date(m[1]) if m else None
        t1, t2 = (parse_time(m[2]), parse_time(m[3])) if m else (None, None)
        if d is None or t1 is None or t2 is None:
            r.fail("extra_dates", f"「{line}」が読めません。2026-12-26 10:00-12:00 のように、1行に1日ずつ入力してください。")
            continue
        if t2 <= t1:
            r.fail("extra_dates", f"「{line}」: 終わりの時刻を始まりの時刻より後にしてください。")
            continue
        out.append({"date": d.isoformat(), "open": f"{t1:%H:%M}", "close": f"{t2:%H:%M}"})
    return sorted(out, key=lambda e: (e["date"], e["open"]))[:400]


def _hours_rows(form: Mapping) -> list[HoursRow]:
    """Rows hours-<n>-weekday/open/close/overnight/week (n from 0); a row with nothing in it is dropped."""
    getlist = getattr(form, "getlist", lambda name: [form[name]] if name in form else [])
    indexes = sorted({int(m[1]) for key in form.keys() if (m := re.fullmatch(r"hours-(\d{1,3})-\w+", key))})
    rows: list[HoursRow] = []
    for i in indexes[:HOURS_MAX_ROWS]:
        def get(name: str) -> str:
            value = form.get(f"hours-{i}-{name}", "")
            return value.strip() if isinstance(value, str) else ""

        weeks = []
        for w in getlist(f"hours-{i}-week"):
            if isinstance(w, str) and w.strip().isdigit() and int(w) in WEEKS and int(w) not in weeks:
                weeks.append(int(w))
        row = HoursRow(weekday=get("weekday"), open=get("open"), close=get("close"),
                       overnight=get("overnight") not in ("", "0"), weeks=tuple(sorted(weeks)))
        if not (row.weekday or row.open or row.close):
            continue
        row.error = _hours_problem(row)
        rows.append(row)
    return rows


def _hours_problem(row: HoursRow) -> str | None:
    if row.weekday not in {str(i) for i in range(7)}:
        return "曜日を選んでください。"
    opens, closes = parse_time(row.open), parse_time(row.close)
    if opens is None or closes is None:
        return "始まりと終わりの時刻を 10:00 のように入力してください。"
    start, end = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
    if row.overnight:
        end += 1440
    if end <= start:
        return "終わりの時刻を始まりの時刻より後にしてください（夜0時をまたぐときは「翌日まで」に印を付けます）。"
    if end - start > 1440:
        return "1回に開いている時間は24時間までです。"
    return None


def _hours_value(row: HoursRow) -> dict:
    opens, closes = parse_time(row.open), parse_time(row.close)
    start = opens.hour * 60 + opens.minute
    end = closes.hour * 60 + closes.minute + (1440 if row.overnight else 0)
    mask = sum(1 << w for w in row.weeks)
    return {"weekday": int(row.weekday), "opens": start, "closes": end, "weeks": mask}


def hours_rows_of(place) -> list[HoursRow]:
    rows = []
    for h in place.hours:
        close = h.closes % 1440
        rows.append(HoursRow(weekday=str(h.weekday), open=f"{h.opens // 60:02d}:{h.opens % 60:02d}",
                             close=f"{close // 60:02d}:{close % 60:02d}", overnight=h.closes >= 1440,
                             weeks=tuple(w for w in WEEKS if h.weeks & (1 << w))))
    return rows


def with_blank_rows(rows: list[HoursRow]) -> list[HoursRow]:
    return list(rows) + [HoursRow() for _ in range(HOURS_BLANK_ROWS)]


def place_raw(place) -> dict:
    raw = {name: _show(getattr(place, name)) for name in (
        "name", "name_kana", "name_common", "kind", "district", "address", "address_note", "lat", "lon",
        "hours_note", "age_min", "age_max", "cost_kind", "cost_yen", "cost_note", "contact_name", "phone", "phone_ext",
        "url", "accessibility", "description", "note", "project", "organiser_name")}
    raw["plan_action"] = _show(place.action)
    raw["verified_on"] = place.verified_on.isoformat() if place.verified_on else ""
    raw["closed_dates"] = "\n".join(place.closed_dates or [])
    raw["extra_dates"] = "\n".join(f"{e.get('date')} {e.get('open')}-{e.get('close')}" for e in place.extra_dates or [])
    for flag in ("booking_required", "closed_on_holidays", "closed_year_end"):
        raw[flag] = bool(getattr(place, flag))
    return raw


def new_place_raw() -> dict:
    return {"closed_on_holidays": True, "closed_year_end": True, "cost_kind": FREE}
