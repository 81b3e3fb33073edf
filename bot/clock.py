"""One clock for the whole app so tests can freeze it (store UTC, show Asia/Tokyo)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime; naive values (as SQLite returns them) are taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def to_tokyo(dt: datetime) -> datetime:
    return utc(dt).astimezone(TOKYO)


class FrozenClock:
    """A settable clock for tests: `clock.set(datetime(...))`, `clock.advance(seconds=...)`."""

    def __init__(self, at: datetime | None = None) -> None:
        self._at = utc(at) if at else None

    def set(self, at: datetime) -> None:
        self._at = utc(at)

    def advance(self, **kw) -> None:
        from datetime import timedelta

        self._at = self.now() + timedelta(**kw)

    def now(self) -> datetime:
        return self._at or system_clock()

    __call__ = now
