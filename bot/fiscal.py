"""Japanese fiscal years (年度): they start on 1 April, Asia/Tokyo; shown as 令和8年度（2026年度）.

A fiscal year is named by the Gregorian year it starts in (FY2026 = 2026-04-01 .. 2027-03-31), which is
also how the city's plan file writes years.
"""
from __future__ import annotations

from datetime import date, datetime

from bot.clock import TOKYO, to_tokyo

REIWA_START = 2019  # 令和元年度 = FY2019


def fy_of(when: datetime | date) -> int:
    """The fiscal year a moment falls in, judged on the Tokyo calendar (naive datetimes are UTC)."""
    if isinstance(when, datetime):
        when = to_tokyo(when).date()
    return when.year if when.month >= 4 else when.year - 1


def this_fy(now: datetime) -> int:
    return fy_of(now)


def next_fy(now: datetime) -> int:
    return fy_of(now) + 1


def reiwa(fy: int) -> int:
    """令和 year number of a fiscal year: 2026 -> 8."""
    if fy < REIWA_START:
        raise ValueError(f"FY{fy} is before 令和")
    return fy - REIWA_START + 1


def from_reiwa(n: int) -> int:
    """Fiscal year of 令和N年度: 8 -> 2026."""
    if n < 1:
        raise ValueError("令和 years start at 1")
    return n + REIWA_START - 1


def _reiwa_name(fy: int) -> str:
    n = reiwa(fy)
    return "令和元" if n == 1 else f"令和{n}"


def fy_label(fy: int) -> str:
    """`令和8年度（2026年度）`; years before 令和 are shown in Gregorian only."""
    if fy < REIWA_START:
        return f"{fy}年度"
    return f"{_reiwa_name(fy)}年度（{fy}年度）"


def fy_short(fy: int) -> str:
    """A narrow column heading: `R8`."""
    return f"R{reiwa(fy)}" if fy >= REIWA_START else str(fy)


def span_label(from_fy: int, to_fy: int) -> str:
    """`令和8〜10年度（2026〜2028年度）`, or one year's label when the span is a single year."""
    if from_fy == to_fy:
        return fy_label(from_fy)
    if from_fy < REIWA_START:
        return f"{from_fy}〜{to_fy}年度"
    return f"{_reiwa_name(from_fy)}〜{reiwa(to_fy)}年度（{from_fy}〜{to_fy}年度）"


def fy_start(fy: int) -> datetime:
    """The first moment of a fiscal year, as an aware Tokyo datetime."""
    return datetime(fy, 4, 1, tzinfo=TOKYO)
