"""Weekly opening hours as municipal files write them, to and from PlaceHours rows (weekday 0 = 月,
minutes after midnight, `weeks` a bit mask of 第N: bit N set = the Nth such weekday of the month).

Days: 月;火;水 / 月曜日～金曜日 / 月-金 / 平日 / 土日 / 毎日 / 第2・第4土曜 (a 「祝」 among them means open on
holidays). One opening in the extra column 開所時間, several separated by 「;」:

    土 10:00-12:00 第2・第4; 水 15:00-18:00; 月・水・金 22:00-02:00

(days, a time range, then optionally which weeks; the weeks may also come first: 第2・第4土 10:00-12:00).
An end at or before the start runs past midnight.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.opendata.common import CellError, fmt_minutes, nfkc, parse_minutes, split_multi

WD = "月火水木金土日"
_WEEKS = re.compile(r"第\s*([1-5](?:\s*[・,、]\s*第?\s*[1-5])*)\s*(?:週)?")
_RANGE = re.compile(rf"([{WD}])(?:~|〜|-|−|ー|–|—|から|より)([{WD}])")
_TIME = r"\d{1,2}(?::\d{2}|時(?:\d{1,2}分|半)?)"
_SPAN = re.compile(rf"({_TIME})\s*(?:~|〜|-|−|ー|–|—|から)\s*({_TIME})")
_SEPARATORS = re.compile(r"[\s;,、・/・]+")


@dataclass(frozen=True, order=True)
class Opening:
    weekday: int
    opens: int
    closes: int
    weeks: int = 0


def parse_days(text: str) -> tuple[list[int], int, bool]:
    """(weekdays, weeks mask, open on holidays) of a days expression; raises CellError."""
    raw = text
    t = nfkc(text).replace("曜日", "").replace("曜", "")
    weeks = 0
    for m in _WEEKS.finditer(t):
        for n in re.findall(r"[1-5]", m.group(1)):
            weeks |= 1 << int(n)
    t = _WEEKS.sub(" ", t)
    holidays = False
    for word in ("祝日", "祝祭日", "祝"):
        if word in t:
            holidays, t = True, t.replace(word, " ")
    for word, days in (("平日", "月火水木金"), ("毎日", WD), ("全日", WD), ("週末", "土日")):
        t = t.replace(word, days)
    t = _RANGE.sub(lambda m: _expand(m.group(1), m.group(2)), t)
    days: list[int] = []
    for ch in _SEPARATORS.sub("", t):
        if ch not in WD:
            raise CellError(f"曜日として読めません（{raw}）。月;火;水 や 月曜日～金曜日、平日、第2・第4土曜 の形にしてください。")
        if WD.index(ch) not in days:
            days.append(WD.index(ch))
    return sorted(days), weeks, holidays


def _expand(a: str, b: str) -> str:
    i, j = WD.index(a), WD.index(b)
    return "".join(WD[(i + k) % 7] for k in range(((j - i) % 7) + 1))


def _span(opens: int, closes: int, raw: str) -> tuple[int, int]:
    if closes <= opens:
        closes += 1440  # past midnight: 22:00-02:00
    if closes - opens > 1440 or opens >= 1440:
        raise CellError(f"開所時間が長すぎます（{raw}）。")
    return opens, closes


def parse_weekly(text: str) -> tuple[list[Opening], bool]:
    """The 開所時間 column -> (openings, open on holidays); blank: ([], False)."""
    out: list[Opening] = []
    holidays = False
    for part in split_multi(text):
        p = nfkc(part)
        m = _SPAN.search(p)
        if m is None:
            raise CellError(f"「{part}」に時間がありません。「土 10:00-12:00 第2・第4」のように書いてください。")
        opens = parse_minutes(m.group(1))
        closes = parse_minutes(m.group(2), allow_24=True, upto=2880)
        opens, closes = _span(opens, closes, part)
        days, weeks, hol = parse_days(p[:m.start()] + " " + p[m.end():])
        if not days:
            raise CellError(f"「{part}」に曜日がありません。")
        holidays = holidays or hol
        out.extend(Opening(d, opens, closes, weeks) for d in days)
    return sorted(set(out)), holidays


def parse_standard(days_text: str, start_text: str, end_text: str) -> tuple[list[Opening], bool]:
    """公共施設一覧's 利用可能曜日 + 開始時間 + 終了時間. Several times (「;」) pair with as many day entries;
    one time applies to every day. Raises CellError with the column it is about as args[1]."""
    day_parts = split_multi(days_text)
    starts, ends = split_multi(start_text), split_multi(end_text)
    if not starts and not ends:
        return [], any(parse_days(d)[2] for d in day_parts)
    if len(starts) != len(ends):
        raise CellError("開始時間と終了時間の数が違います。", "終了時間")
    if not day_parts:
        raise CellError("開始時間があるときは、利用可能曜日も入力してください。", "利用可能曜日")
    if len(starts) > 1 and len(starts) != len(day_parts):
        raise CellError("時間を「;」で複数書くときは、利用可能曜日も同じ数だけ書いてください。", "利用可能曜日")
    out: list[Opening] = []
    holidays = False
    for i, day_part in enumerate(day_parts):
        j = i if len(starts) > 1 else 0
        try:
            opens = parse_minutes(starts[j])
        except CellError as e:
            raise CellError(str(e), "開始時間") from None
        try:
            closes = parse_minutes(ends[j], allow_24=True, upto=2880)
            opens, closes = _span(opens, closes, f"{starts[j]}-{ends[j]}")
        except CellError as e:
            raise CellError(str(e), "終了時間") from None
        try:
            days, weeks, hol = parse_days(day_part)
        except CellError as e:
            raise CellError(str(e), "利用可能曜日") from None
        holidays = holidays or hol
        out.extend(Opening(d, opens, closes, weeks) for d in days)
    return sorted(set(out)), holidays


def weeks_text(mask: int) -> str:
    return "・".join(f"第{n}" for n in range(1, 6) if mask & (1 << n))


def format_weekly(openings: list[Opening]) -> str:
    """The 開所時間 column: openings with the same time and weeks share one entry, in weekday order."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for o in sorted(openings):
        groups.setdefault((o.opens, o.closes, o.weeks), []).append(o.weekday)
    parts = sorted(groups.items(), key=lambda kv: (kv[1][0], kv[0]))
    out = []
    for (opens, closes, weeks), days in parts:
        text = "・".join(WD[d] for d in days) + f" {fmt_minutes(opens)}-{fmt_minutes(closes)}"
        out.append(text + (f" {weeks_text(weeks)}" if weeks else ""))
    return "; ".join(out)


def format_standard(openings: list[Opening]) -> tuple[str, str, str]:
    """(利用可能曜日, 開始時間, 終了時間): one day entry per opening; one time when all share it."""
    openings = sorted(openings)
    if not openings:
        return "", "", ""
    days = ";".join((weeks_text(o.weeks) if o.weeks else "") + WD[o.weekday] for o in openings)
    times = {(o.opens, o.closes) for o in openings}
    if len(times) == 1:
        (opens, closes), = times
        return days, fmt_minutes(opens), fmt_minutes(closes)
    return (days, ";".join(fmt_minutes(o.opens) for o in openings),
            ";".join(fmt_minutes(o.closes) for o in openings))
