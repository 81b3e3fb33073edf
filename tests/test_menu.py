"""Every area of the main menu (the rich menu's six and the quick replies) is answered by its feature: none is
a placeholder, whether tapped or typed."""
from __future__ import annotations

import pytest

from handlers import common, router
from handlers.menu import MAIN_MENU


@pytest.mark.parametrize("label,action", MAIN_MENU)
def test_each_menu_area_has_its_feature_handler(label, action):
    for table in ("POSTBACKS", "INTENTS"):
        handler = router.TABLES[table].get(action)
        assert handler is not None, (table, action)
        assert handler.__module__ not in ("handlers.common",), (table, action, handler.__module__)


def test_common_has_no_placeholder_left():
    assert set(common.POSTBACKS) == {"help"} and set(common.INTENTS) == {"help"}
