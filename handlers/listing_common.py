"""The conversation plumbing that こどもの居場所 (handlers/places.py) and イベント (handlers/events.py) share: a
search travels in its postback as a dataclass of short keys, and these read and write the keys both use alike
(ages "6-12", near "lat,lon"), and name the 地区 their results show."""
from __future__ import annotations

from dataclasses import fields

from bot.geo import valid_point
from models import plan as P

MAX_WORDS_CHARS = 40  # typed words kept in a postback (its data is at most 300 characters)


class ShortParams:
    """Mixed into a search dataclass: its postback parameters are its fields that say something (True as 1)."""

    def params(self) -> dict:
        out: dict = {}
        for fld in fields(self):  # type: ignore[arg-type]
            v = getattr(self, fld.name)
            if v in (None, False, "", 0):
                continue
            out[fld.name] = 1 if v is True else v
        return out


def ages_param(age: tuple[int, int] | None) -> str | None:
    """(6, 12) as "6-12"."""
    return f"{age[0]}-{age[1]}" if age else None


def ages(ag: str | None) -> tuple[int, int] | None:
    """"6-12" (checked against \\d{1,2}-\\d{1,2} where it was read) as (6, 12), the lower first."""
    if not ag:
        return None
    lo, hi = (int(x) for x in ag.split("-"))
    return (lo, hi) if lo <= hi else (hi, lo)


def near_param(lat: float, lon: float) -> str:
    """A point as the "n" parameter: 5 decimals, about a metre."""
    return f"{lat:.5f},{lon:.5f}"


def near(n: str | None) -> tuple[float, float] | None:
    """The "n" parameter as a valid point; None when absent or not one."""
    try:
        lat, lon = (float(x) for x in (n or "").split(","))
    except ValueError:
        return None
    return valid_point(lat, lon)


def district_names(db) -> dict[str, str]:
    return {d.key: d.name for d in P.districts(db)}
