"""What the public event and place pages (bot/event_pages.py, bot/place_pages.py) do alike: reach the process's
Runtime, read the page number, link the pages before and after, and find the plan a listing belongs to."""
from __future__ import annotations

from flask import current_app, request, url_for

from models import plan as P

MAX_PAGE = 500  # beyond this a page number is taken as the first page (no deep OFFSET scans)


def runtime():
    return current_app.extensions["kyodo"]


def page_number(raw: str | None) -> int:
    """A page number from the query string: 1 when absent, malformed or beyond MAX_PAGE."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    return 1


def requested_page() -> int:
    return page_number(request.args.get("page"))


def pager(endpoint: str, query: dict, page: int, more: bool) -> dict:
    """prev_url and next_url for the list's pager, keeping the filters in `query`; page 1 has no ?page=."""
    prev = {"page": page - 1} if page > 2 else {}
    return {"prev_url": url_for(endpoint, **query, **prev) if page > 1 else None,
            "next_url": url_for(endpoint, **query, page=page + 1) if more else None}


def plan_context(db, item) -> dict:
    """The 地区, project and action an event or a place names (each None when it names none or an unknown one)."""
    return {"district": next((d for d in P.districts(db) if d.key == item.district), None),
            "project": P.project(db, item.project) if item.project else None,
            "action": P.action(db, item.action) if item.action else None}
