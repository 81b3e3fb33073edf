"""What the event and place tests share: a module's search data set on the live bot and its hits by name
(test_event_search, test_place_search), and the public pages with the city's plan loaded (test_event_pages,
test_place_pages). Rows themselves come from tests/events_support.py and tests/places_support.py."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

import pytest

from bot.plan_loader import default_plan_path, load
from tests.conftest import wipe


# -- searches on one data set per module -----------------------------------------------------------------------------

def module_data(live_bot, fill: Callable[[object], None]):
    """live_bot's database wiped and filled by fill(db) (committed), for a module's tests to share; every other
    module's `bot` fixture wipes it again. Returns the runtime."""
    live_bot.settle()
    wipe(live_bot.rt)
    with live_bot.rt.sessions() as db:
        fill(db)
        db.commit()
    return live_bot.rt


def found(rt, find, label: Callable, **kw) -> list:
    """label(hit) for each hit of find(db, **kw), 50 at most unless `limit` says otherwise."""
    kw.setdefault("limit", 50)
    with rt.sessions() as db:
        return [label(h) for h in find(db, **kw)]


# -- public pages --------------------------------------------------------------------------------------------------

def open_site(bot, now: datetime):
    """The bot with the city's plan loaded (地区 and projects for filters and links) and the clock at `now`."""
    load(bot.rt.sessions, default_plan_path("odawara"), bot.rt.now(), publish_news=False)
    bot.clock.set(now)
    return bot


@pytest.fixture
def client(site):
    """A test client of the app; `site` is the module's own fixture (open_site at its moment)."""
    return site.app.test_client()


def saved(site, add: Callable, name: str, **kw) -> int:
    """The id of add(db, now, name, **kw) (events_support.add_event, places_support.add_place), committed."""
    with site.rt.sessions() as db:
        row = add(db, site.rt.now(), name, **kw)
        db.commit()
        return row.id


def page(client, path: str, status: int = 200) -> str:
    """The page's HTML, after checking its status, and for a 200 that it suits a phone and needs no inline
    script or style (the CSP allows none)."""
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    html = resp.get_data(as_text=True)
    if status == 200:
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "<script" not in html and "<style" not in html and " style=" not in html
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    return html


def text_of(html: str) -> str:
    """The page's words, tags dropped and white space folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
