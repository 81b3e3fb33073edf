"""The main menus, as quick replies and as the rich menu's six areas (one list, two uses)."""
from __future__ import annotations

from handlers import ui

# (label, postback action): the same six entries as the rich menu, then help.
MAIN_MENU = [
    ("プロジェクト", "plan.list"),
    ("こどもの居場所", "places"),
    ("イベント", "events"),
    ("ボランティア", "volunteer"),
    ("アンケート", "survey"),
    ("設定", "settings"),
]


def main_menu_quick() -> list[dict]:
    return [ui.postback(lbl, action) for lbl, action in MAIN_MENU] + [ui.postback("ヘルプ", "help")]
