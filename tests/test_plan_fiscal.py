"""Fiscal years: 1 April, Asia/Tokyo; 令和 labels."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.clock import TOKYO
from bot.fiscal import from_reiwa, fy_label, fy_of, fy_short, next_fy, reiwa, span_label, this_fy


def test_year_turns_on_1_april_in_tokyo():
    assert fy_of(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO)) == 2025
    assert fy_of(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO)) == 2026
    # 15:00 UTC on 31 March is already 1 April in Tokyo; 14:59 UTC is not.
    assert fy_of(datetime(2026, 3, 31, 15, 0, tzinfo=timezone.utc)) == 2026
    assert fy_of(datetime(2026, 3, 31, 14, 59, tzinfo=timezone.utc)) == 2025
    assert fy_of(datetime(2026, 3, 31, 15, 0)) == 2026  # naive values are UTC, like the rest of the app
    assert fy_of(date(2027, 3, 31)) == 2026 and fy_of(date(2027, 4, 1)) == 2027
    assert this_fy(datetime(2029, 6, 1, tzinfo=TOKYO)) == 2029
    assert next_fy(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO)) == 2026


def test_reiwa_and_labels():
    assert reiwa(2026) == 8 and from_reiwa(8) == 2026 and reiwa(2019) == 1
    assert fy_label(2026) == "令和8年度（2026年度）"
    assert fy_label(2019) == "令和元年度（2019年度）"
    assert fy_label(2018) == "2018年度"
    assert fy_short(2032) == "R14"
    assert span_label(2026, 2028) == "令和8〜10年度（2026〜2028年度）"
    assert span_label(2030, 2030) == "令和12年度（2030年度）"
    with pytest.raises(ValueError):
        reiwa(2018)
