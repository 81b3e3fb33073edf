"""What the two listing searches (bot/event_search.py: find_events, bot/place_search.py: find_places) read the
same way from their arguments: the words of `text`, an `age` as a range, and a word found literally in a column."""
from __future__ import annotations

from typing import Iterable

LIKE_ESCAPE = "!"  # not a backslash: PostgreSQL and SQLite then agree, whatever the string settings


def words(text: str | Iterable[str] | None, most: int) -> list[str]:
    """The first `most` space-separated words of a string, or of every string in a list (a list's items may hold
    spaces too); none for None or blanks."""
    if not text:
        return []
    parts = text.split() if isinstance(text, str) else [w for t in text for w in str(t).split()]
    return [w for w in parts if w][:most]


def age_range(age) -> tuple[int, int] | None:
    """An age in years, or an (lo, hi) pair, as (lo, hi): matched by overlap with a listing's ages."""
    if age is None:
        return None
    if isinstance(age, (tuple, list)):
        lo, hi = age
        return int(lo), int(hi)
    return int(age), int(age)


def contains(column, word: str, *, ignore_case: bool = False):
    """column LIKE '%word%' with the word's % and _ taken literally (ILIKE when `ignore_case`)."""
    esc = word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    like = column.ilike if ignore_case else column.like
    return like(f"%{esc}%", escape=LIKE_ESCAPE)
