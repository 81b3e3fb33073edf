"""Shared by the open-data tests: the city's plan loaded once per module (the 地区 the files are checked
against), listings cleared before each test, the sample files, and a file's text in each encoding."""
from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from bot.plan_loader import default_plan_path, load
from models.events import Event
from models.places import Place
from tests.admin_support import T0, fresh_env

DATA = Path(__file__).resolve().parent / "data" / "opendata"
# Kept between tests: the plan and 地区, and the seeded accounts and organisations.
KEEP = {"districts", "organisations", "survey_teams", "admin_accounts", "announcements"}
ENCODINGS = ["utf-8", "utf-8-sig", "cp932", "utf-16-le"]


def clear_listings(rt) -> None:
    import models

    with rt.engine.begin() as conn:
        for t in reversed(models.Base.metadata.sorted_tables):
            if t.name not in KEEP and not t.name.startswith("plan_"):
                conn.execute(text(f'DELETE FROM "{t.name}"'))


@pytest.fixture(scope="module")
def od_base(admin_app):
    app, rt, clock = admin_app
    env = fresh_env(app, rt, clock)
    load(rt.sessions, default_plan_path(rt.config.city), T0, publish_news=False)
    return env


@pytest.fixture
def od_env(od_base):
    clear_listings(od_base.rt)
    od_base.clock.set(T0)
    return od_base


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def encode(data: bytes, encoding: str, *, bom: bool = True) -> bytes:
    """A UTF-8 (with or without BOM) file's text in another encoding; UTF-16LE with its BOM unless told."""
    body = data.decode("utf-8-sig")
    if encoding == "utf-16-le":
        return (codecs.BOM_UTF16_LE if bom else b"") + body.encode("utf-16-le")
    return body.encode(encoding)


EVENT_FIELDS = ["external_key", "organisation_id", "title", "title_kana", "title_en", "description", "organiser_name",
                "district", "place_name", "address", "address_note", "lat", "lon", "access", "parking", "starts_at",
                "ends_at", "all_day", "time_note", "rrule", "age_min", "age_max", "cost_kind", "cost_yen", "cost_note",
                "capacity", "registration_required", "registration_deadline", "registration_method", "contact_name",
                "phone", "phone_ext", "url", "note", "project", "action", "tags", "status", "cancel_reason"]
PLACE_FIELDS = ["external_key", "organisation_id", "name", "name_kana", "name_common", "kind", "district", "address",
                "address_note", "lat", "lon", "closed_on_holidays", "closed_year_end", "closed_dates", "extra_dates",
                "hours_note", "age_min", "age_max", "cost_kind", "cost_yen", "cost_note", "booking_required",
                "contact_name", "phone", "phone_ext", "url", "accessibility", "description", "note", "project",
                "action", "organiser_name", "status", "verified_on"]


def _value(v):
    from datetime import datetime

    from bot.clock import utc

    return utc(v) if isinstance(v, datetime) else v


def events_snapshot(db) -> list[dict]:
    """Every event as its fields (no ids or timestamps), by external key then title."""
    rows = [{f: _value(getattr(e, f)) for f in EVENT_FIELDS} for e in db.scalars(select(Event))]
    return sorted(rows, key=lambda r: (r["external_key"] or "", r["title"]))


def places_snapshot(db) -> list[dict]:
    out = []
    for p in db.scalars(select(Place).options(selectinload(Place.hours))):
        row = {f: _value(getattr(p, f)) for f in PLACE_FIELDS}
        row["hours"] = sorted((h.weekday, h.opens, h.closes, h.weeks) for h in p.hours)
        out.append(row)
    return sorted(out, key=lambda r: (r["external_key"] or "", r["name"]))
