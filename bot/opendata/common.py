"""What the events and places files share: reading the CSV (encoding, header, one record per row with its
line number), reading cells (dates in the forms municipal files use, times, numbers, yes/no, 地区, plan
numbers) with a Japanese reason when a cell cannot be read, the import report, and writing the export
(UTF-8 with a byte-order mark and CRLF, so that Excel opens it as it is).

A cell problem names the file's line (the line the record starts on, the header being line 1), the column
and why. Rows with problems are refused whole; the others are written in one transaction by the caller.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, utc
from bot.config import ROOT
from bot.opendata.encoding import UnreadableFile, decode, label

SEP = ";"  # 推奨データセット: several values in one cell
ROW = "（行全体）"  # the "column" of a problem about the whole row
# The local government in a file's first columns: cities/<city>/opendata.yaml (city name -> its code and
# prefecture), read once; the plan names the city.
CITIES_DIR = ROOT / "cities"


@functools.lru_cache(maxsize=1)
def local_governments() -> dict[str, tuple[str, str]]:
    out = {}
    for path in sorted(CITIES_DIR.glob("*/opendata.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[str(data["city"])] = (str(data["local_government_code"]), str(data["prefecture"]))
    return out

# Around the 地区 centres: generous, so a place at the city's edge is never refused, while a point in
# another city (or lat/lon swapped or mistyped) is.
MARGIN_LAT, MARGIN_LON = 0.05, 0.07
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A text cell Excel would run as a formula (=, +, -, @ first) is written with a leading ' (shown as text in
# Excel; formula injection from another organisation's rows); the import takes the ' off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FileProblem(UnreadableFile):
    """The file as a whole cannot be imported (header, no 地区 loaded): nothing is read from it."""


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.line}行目「{self.column}」: {self.reason}"


@dataclass
class ImportReport:
    encoding: str = ""
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    refused_lines: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def refused(self) -> int:
        return len(self.refused_lines)

    @property
    def encoding_label(self) -> str:
        return label(self.encoding)

    def refuse(self, line: int, column: str, reason: str) -> None:
        self.refused_lines.add(line)
        self.problems.append(Problem(line, column, reason))

    def summary(self) -> str:
        return (f"追加 {self.added}件・更新 {self.updated}件・変更なし {self.unchanged}件・"
                f"取り込めない行 {self.refused}件")


class CellError(ValueError):
    """One cell's problem; the message is the Japanese reason. `column`: when it is about another column
    than the one being read."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


# -- reading the file -----------------------------------------------------------------------------------

@dataclass
class Record:
    line: int
    cells: dict[str, str]  # column name -> stripped text ("" when blank or absent)
    columns: frozenset[str]  # the columns the file has

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def has(self, column: str) -> bool:
        return column in self.columns


def _header_name(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell.replace("\ufeff", "")).strip().replace(" ", "")


def read_records(data: bytes, columns: list[str], required: tuple[str, ...], report: ImportReport) -> list[Record]:
    """Decode, check the header, and return one Record per non-blank row; rows whose number of cells differs
    from the header's are refused here. Raises UnreadableFile / FileProblem."""
    text, report.encoding = decode(data)
    known = {_header_name(c): c for c in columns}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("ファイルが空です。") from None
    except csv.Error:
        raise FileProblem("1行目（見出し）を CSV として読めません。") from None
    names = [known.get(_header_name(c), _header_name(c)) for c in header]
    while names and not names[-1]:
        names.pop()
    if missing := [c for c in required if c not in names]:
        raise FileProblem("1行目（見出し）に列「" + "」「".join(missing) + "」がありません。"
                          "推奨データセットの列名のとおりにしてください。")
    if dup := sorted({n for n in names if n and names.count(n) > 1}):
        raise FileProblem("1行目（見出し）で列「" + "」「".join(dup) + "」が重複しています。")
    present = frozenset(n for n in names if n)
    out = []
    line = reader.line_num + 1  # the line the next record starts on
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            if "end of data" in str(e):
                report.refuse(line, ROW, "引用符（\"）が閉じられていないため、この行から最後までを読めません。")
                break
            report.refuse(line, ROW, "CSV として読めません（引用符（\"）の後に文字があるなど）。")
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in row):
            continue  # blank line (or a row of empty cells)
        if len(row) != len(names) and not (len(row) > len(names) and not any(c.strip() for c in row[len(names):])):
            report.refuse(start, ROW, f"列の数が見出しと違います（見出し {len(names)}列、この行 {len(row)}列）。")
            continue
        cells = {}
        for name, value in zip(names, row):
            if name:
                value = value.strip()
                if value.startswith("'") and value[1:2] and value[1] in FORMULA_START:
                    value = value[1:]
                cells[name] = value
        out.append(Record(start, cells, present))
    return out


def check_text(value: str, max_len: int | None) -> str:
    if _CONTROL.search(value):
        raise CellError("使えない制御文字が含まれています。")
    if max_len is not None and len(value) > max_len:
        raise CellError(f"{max_len}文字以内にしてください（{len(value)}文字）。")
    return value


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


# -- cells ------------------------------------------------------------------------------------------------

YEARS = (2000, 2099)  # as the admin's date fields: a typo like 0226 or 20266 is refused, not stored
ERAS = {"令和": 2018, "平成": 1988, "R": 2018, "H": 1988}
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_KANJI_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_ERA_DATE = re.compile(r"(令和|平成|R|H)(\d{1,2}|元)[年.](\d{1,2})[月.](\d{1,2})日?", re.IGNORECASE)
_WEEKDAY_SUFFIX = re.compile(r"\s*[(（][月火水木金土日](曜日?)?[)）]$")


def parse_date(value: str) -> date | None:
    """2026-12-05, 2026/12/5, 2026年12月5日, 令和8年12月5日, R8.12.5 (a trailing (土) is allowed); blank: None."""
    raw = value
    value = _WEEKDAY_SUFFIX.sub("", nfkc(value)).replace(" ", "")
    if not value:
        return None
    m = _ISO_DATE.fullmatch(value) or _KANJI_DATE.fullmatch(value)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    elif m := _ERA_DATE.fullmatch(value):
        era, n, mo, d = m.groups()
        y = ERAS[era.upper() if len(era) == 1 else era] + (1 if n == "元" else int(n))
        mo, d = int(mo), int(d)
    else:
        raise CellError(f"日付として読めません（{raw}）。2026-12-05 や 2026/12/5、令和8年12月5日 の形にしてください。")
    try:
        day = date(y, mo, d)
    except ValueError:
        raise CellError(f"存在しない日付です（{raw}）。") from None
    if not YEARS[0] <= y <= YEARS[1]:
        raise CellError(f"{YEARS[0]}年から{YEARS[1]}年までの日付にしてください（{raw}）。")
    return day


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_KANJI_TIME = re.compile(r"(\d{1,2})時(?:(\d{1,2})分|半)?")


def parse_minutes(value: str, *, allow_24: bool = False, upto: int = 1440) -> int | None:
    """10:00, 10:00:00, 10時, 10時30分, 10時半 -> minutes after midnight; blank: None. 24:00 (and beyond, for
    hours that pass midnight) only where `allow_24`."""
    raw = value
    value = nfkc(value).replace(" ", "")
    if not value:
        return None
    if m := _TIME.fullmatch(value):
        h, mi = int(m.group(1)), int(m.group(2))
    elif m := _KANJI_TIME.fullmatch(value):
        h = int(m.group(1))
        mi = 30 if value.endswith("半") else int(m.group(2) or 0)
    else:
        raise CellError(f"時刻として読めません（{raw}）。10:00 や 10時 の形にしてください。")
    minutes = h * 60 + mi
    limit = upto if allow_24 else 1439
    if mi > 59 or minutes > limit:
        raise CellError(f"存在しない時刻です（{raw}）。")
    return minutes


def fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def tokyo_datetime(day: date, minutes: int) -> datetime:
    """Aware UTC datetime of `minutes` after midnight (Tokyo) on `day` (24:00 is the next day's 00:00)."""
    local = datetime.combine(day, time(0), tzinfo=TOKYO) + timedelta(minutes=minutes)
    return utc(local)


def tokyo_parts(dt: datetime) -> tuple[date, int]:
    local = utc(dt).astimezone(TOKYO)
    return local.date(), local.hour * 60 + local.minute


def parse_int(value: str, *, low: int | None = None, high: int | None = None, what: str = "数",
              suffixes: tuple[str, ...] = ()) -> int | None:
    raw = value
    value = nfkc(value).replace(",", "").replace(" ", "")
    for s in suffixes:
        if value.endswith(s):
            value = value[: -len(s)]
            break
    if not value:
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise CellError(f"{what}として読めません（{raw}）。半角の数字で入力してください。")
    n = int(value)
    if low is not None and n < low:
        raise CellError(f"{what}は{low}以上にしてください（{raw}）。")
    if high is not None and n > high:
        raise CellError(f"{what}は{high}以下にしてください（{raw}）。")
    return n


def parse_float(value: str, what: str) -> float | None:
    raw = value
    value = nfkc(value).replace(" ", "")
    if not value:
        return None
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value):
        raise CellError(f"{what}が数として読めません（{raw}）。")
    return float(value)


YES = {"要", "必要", "あり", "有", "はい", "○", "〇", "true", "yes", "1", "する"}
NO = {"不要", "なし", "無", "いいえ", "×", "false", "no", "0", "しない", "-"}


def parse_bool(value: str, default: bool | None = None) -> bool | None:
    v = nfkc(value).lower()
    if not v:
        return default
    if v in YES:
        return True
    if v in NO:
        return False
    raise CellError(f"「要」か「不要」（または「はい」「いいえ」）で入力してください（{value}）。")


def parse_url(value: str) -> str | None:
    v = value.strip()
    if not v:
        return None
    if not re.match(r"https?://[^\s]+$", v, re.IGNORECASE):
        raise CellError("http:// か https:// で始まるアドレスにしてください。")
    return check_text(v, 500)


def split_multi(value: str) -> list[str]:
    """A multi-valued cell: 「;」 (and its full-width form) between values."""
    return [p.strip() for p in value.replace("；", SEP).split(SEP) if p.strip()]


def parse_choice(value: str, choices: dict[str, str], what: str) -> str | None:
    """A key or its Japanese label -> the key; blank: None."""
    v = nfkc(value)
    if not v:
        return None
    for key, lab in choices.items():
        if v in (key, lab):
            return key
    raise CellError(f"{what}は「" + "」「".join(choices.values()) + f"」のどれかにしてください（{value}）。")


def stable_key(code: str, *parts: str) -> str:
    """An external key for a row without NO: the same text gives the same key, import after import."""
    digest = hashlib.sha256("\x1f".join(nfkc(p) for p in parts).encode()).hexdigest()[:16]
    return f"{code}-h{digest}"


# -- the city: 地区, its box, the plan's numbers --------------------------------------------------------

@dataclass
class City:
    districts: list  # models.plan.District rows, in order
    projects: set[int]
    actions: dict[int, int]  # action number -> project number
    name: str
    code: str
    prefecture: str

    @classmethod
    def load(cls, db: Session, *, need_districts: bool = True) -> "City":
        from models import plan as P

        districts = P.districts(db)
        if not districts and need_districts:
            raise FileProblem("地区の一覧がデータベースにありません。先に `kyodo plan load` で市のデータを読み込んでください。")
        projects = {p.number for p in P.projects(db)}
        actions = {a: p for a, p in db.execute(select(P.Action.number, P.Project.number)
                                               .join(P.Project, P.Action.project_id == P.Project.id))}
        name = P.city_name(db, "")
        code, prefecture = local_governments().get(name, ("", ""))
        return cls(districts, projects, actions, name, code, prefecture)

    def box(self) -> tuple[float, float, float, float] | None:
        points = [(d.lat, d.lon) for d in self.districts if d.lat is not None and d.lon is not None]
        if not points:
            return None
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        return min(lats) - MARGIN_LAT, max(lats) + MARGIN_LAT, min(lons) - MARGIN_LON, max(lons) + MARGIN_LON

    def district(self, value: str) -> str | None:
        """A 地区 given by key, name or alias -> key; blank: None."""
        v = nfkc(value)
        if not v:
            return None
        bare = v[:-2] if v.endswith("地区") and len(v) > 2 else v
        for d in self.districts:
            if v == d.key or bare == d.name or bare in (d.aliases or ()):
                return d.key
        raise CellError(f"この市の地区にありません（{value}）。地区の名前（例: {self.districts[0].name}）かキーで入力してください。")

    def district_near(self, lat: float, lon: float) -> str | None:
        from bot.geo import nearest

        found = nearest(self.districts, lat, lon)
        return found[0].key if found else None

    def district_in_address(self, address: str) -> str | None:
        """The 地区 whose name (or alias) the address contains, the longest match first."""
        names = sorted(((n, d.key) for d in self.districts for n in [d.name, *(d.aliases or ())]),
                       key=lambda x: -len(x[0]))
        for n, key in names:
            if len(n) >= 2 and n in address:
                return key
        return None

    def check_point(self, lat: float | None, lon: float | None) -> tuple[str, str] | None:
        """(column, reason) when the point cannot be in this city; None when fine or absent."""
        if lat is None and lon is None:
            return None
        if lat is None or lon is None:
            return ("緯度" if lat is None else "経度"), "緯度と経度は両方入力してください。"
        box = self.box()
        if box is None:
            return None
        lat0, lat1, lon0, lon1 = box
        if lat0 <= lat <= lat1 and lon0 <= lon <= lon1:
            return None
        if lat0 <= lon <= lat1 and lon0 <= lat <= lon1:
            return "緯度", f"緯度と経度が入れ替わっているようです（緯度 {lat}、経度 {lon}）。"
        return "緯度", (f"市の範囲の外です（緯度 {lat}、経度 {lon}）。"
                        f"緯度 {lat0:.2f}〜{lat1:.2f}、経度 {lon0:.2f}〜{lon1:.2f} の範囲で入力してください。")

    def project_action(self, project: int | None, action: int | None) -> tuple[int | None, int | None]:
        if project is not None and self.projects and project not in self.projects:
            raise CellError(f"計画にないプロジェクト番号です（{project}）。")
        if action is not None and self.actions:
            if action not in self.actions:
                raise CellError(f"計画にないアクション番号です（{action}）。")
            if project is not None and self.actions[action] != project:
                raise CellError(f"アクション {action} はプロジェクト {self.actions[action]} のものです（{project} ではありません）。")
            project = self.actions[action]
        return project, action


def split_key(external_key: str | None, default_code: str) -> tuple[str, str]:
    """(市区町村コード, NO) of a row's external key."""
    if not external_key or "-" not in external_key:
        return default_code, external_key or ""
    code, no = external_key.split("-", 1)
    return code, no


# -- writing ------------------------------------------------------------------------------------------

def write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte-order mark, CRLF line ends, every cell quoted only where needed."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "要" if value else "不要"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text
