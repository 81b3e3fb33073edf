"""bot/file_cache.read_per_change: a city file is parsed once, again only after it changed, and a missing one is None."""
from __future__ import annotations

import os

from bot.file_cache import read_per_change


def test_a_file_is_parsed_once_per_change(tmp_path):
    calls: list[str] = []

    def parse(path):
        calls.append(path.read_text(encoding="utf-8"))
        return calls[-1]

    read = read_per_change(parse)
    f = tmp_path / "contact.yaml"
    assert read(f) is None and calls == []  # missing: parse is not called
    f.write_text("a", encoding="utf-8")
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    assert read(f) == "a" and read(f) == "a" and calls == ["a"]
    f.write_text("b", encoding="utf-8")
    os.utime(f, ns=(2_000_000_000, 2_000_000_000))
    assert read(f) == "b" and calls == ["a", "b"]
