"""The number parsing table (handlers/nlu_numbers.py) and what the classifier makes of it."""
from __future__ import annotations

import pytest

from handlers import nlu
from handlers.nlu_numbers import kanji_number, parse


@pytest.mark.parametrize("text, projects, actions, years", [
    ("プロジェクト3", [3], [], []),
    ("ﾌﾟﾛｼﾞｪｸﾄ３", [3], [], []),
    ("3番のプロジェクト", [3], [], []),
    ("3番目", [3], [], []),
    ("三番目", [3], [], []),
    ("第三", [3], [], []),
    ("第三のプロジェクト", [3], [], []),
    ("プロジェクト七", [7], [], []),
    ("プロジェクトの４番目", [4], [], []),
    ("協働プロジェクト５について", [5], [], []),
    ("アクション101", [], [101], []),
    ("アクション　１０１", [], [101], []),
    ("アクション百一", [], [101], []),
    ("アクション七〇二", [], [702], []),
    ("101番", [], [101], []),
    ("No.302", [], [302], []),
    ("プロジェクト101", [], [101], []),
    ("702について", [], [702], []),
    ("2026年は何するの", [], [], [2026]),
    ("２０２６年度の予定", [], [], [2026]),
    ("令和8年度", [], [], [2026]),
    ("れいわ8ねんど", [], [], [2026]),
    ("レイワ10ねん は なにを しますか", [], [], [2028]),
    ("2027ねん", [], [], [2027]),
    ("R８のこども未来共創", [], [], [2026]),
    ("r9 予定", [], [], [2027]),
    ("rx8", [], [], []),
    ("令和八年度の予定", [], [], [2026]),
    # Not plan numbers: counts, measures, dates, times and words with numerals inside.
    ("7つのプロジェクト", [], [], []),
    ("プロジェクト一覧", [], [], []),
    ("一人暮らし", [], [], []),
    ("三の丸ホール", [], [], []),
    ("十字のイベント", [], [], []),
    ("第三者", [], [], []),
    ("500円", [], [], []),
    ("7月3日", [], [], []),
    ("14時から", [], [], []),
    ("3.141", [], [], []),
    ("12345", [], [], []),
    ("第5期計画", [], [], []),
])
def test_parse_table(text, projects, actions, years):
    got = parse(text)
    assert (got.projects, got.actions, got.years) == (projects, actions, years), text


@pytest.mark.parametrize("text, relative", [("来年度の予定", [1]), ("今年は何をするの", [0]), ("再来年", [2]),
                                            ("イベント", [])])
def test_relative_years(text, relative):
    assert parse(text).relative_years == relative


@pytest.mark.parametrize("kanji, n", [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("百一", 101), ("七〇二", 702),
                                      ("七百二", 702), ("二千二十六", 2026), ("三の", None), ("", None)])
def test_kanji_numerals(kanji, n):
    assert kanji_number(kanji) == n


@pytest.mark.parametrize("text, intent, target", [
    ("3番のプロジェクト", "plan.project", "3"),
    ("三番目のプロジェクト", "plan.project", "3"),
    ("第五のプロジェクト", "plan.project", "5"),
    ("プロジェクト七", "plan.project", "7"),
    ("アクション百一", "plan.action", "101"),
    ("701番", "plan.action", "701"),
    ("２０２６年は何するの", "plan.year", None),
    ("令和9年度の予定", "plan.year", None),
    ("プロジェクト5の来年の予定", "plan.year", "5"),
    ("プロジェクト9", "unknown", None),       # the plan has 7 projects
    ("アクション105", "unknown", None),       # and no action 105
    ("7つのプロジェクト", "plan.list", None),
])
def test_classifier_reads_numbers(text, intent, target):
    got = nlu.classify(text)
    assert (got.name, got.target) == (intent, target), got
