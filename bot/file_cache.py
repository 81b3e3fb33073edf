"""A file read once per change: a city's data files (districts.yaml for the admin's forms, contact.yaml for the
out-of-scope answer) are read on pages and messages, but change only when someone edits them."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

R = TypeVar("R")


def read_per_change(parse: Callable[[Path], R], maxsize: int = 16) -> Callable[[Path], R | None]:
    """`parse(path)` wrapped so that it runs again only when the file's modification time changes; a missing
    file is None (parse is not called). What parse returns is shared between callers: return something
    immutable (a tuple, a frozen dataclass)."""
    cached = lru_cache(maxsize=maxsize)(lambda path, mtime_ns: parse(path))

    def read(path: Path) -> R | None:
        try:
            mtime_ns = path.stat().st_mtime_ns
        except OSError:
            return None
        return cached(path, mtime_ns)

    return read
