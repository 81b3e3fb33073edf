"""What the イベント and こどもの居場所 admin tests share (tests/test_events_admin.py, tests/test_places_admin.py): an
app with KYODO_LISTING_APPROVAL on, the id of a created item, the item's routes, a count, a publication by ref,
and the walks both kinds take through bot/admin/listing_flow.py and policy.py: another organisation's item
refused on every route and missing from the lists, and approval asked, sent back with a reason, asked again and
approved."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.clock import FrozenClock
from bot.runtime import build_runtime
from models.publications import Publication
from tests.admin_support import T0, Env
from tests.conftest import make_config


@pytest.fixture(scope="module")
def approval_app(database_url):
    """Like admin_app, with the city's approval asked for before an organisation's listing is published."""
    clock = FrozenClock(T0)
    cfg = make_config(database_url, "http://127.0.0.1:9", listing_approval=True,
                      extra={"admin_login_rate": "1000 per minute"})
    rt = build_runtime(cfg, clock=clock)
    app = create_app(cfg, runtime=rt, start_workers=False)
    yield app, rt, clock
    rt.close()


def created_id(response) -> int:
    """The id of the item a form created, from the redirect to its page."""
    assert response.status_code == 302, re.findall(r'field-error">([^<]*)', response.get_data(as_text=True))
    return int(response.headers["Location"].rsplit("/", 1)[1])


def count(env: Env, stmt) -> int:
    """How many rows: a model, or a select of one to narrow."""
    with env.db() as db:
        return db.scalar(select(func.count()).select_from(stmt if isinstance(stmt, type) else stmt.subquery()))


def publication(env: Env, ref: str) -> Publication | None:
    with env.db() as db:
        return db.scalar(select(Publication).where(Publication.ref == ref))


def status_of(env: Env, model: type, item_id: int) -> str:
    with env.db() as db:
        return db.get(model, item_id).status


def item_routes(app, endpoint_prefix: str):
    """(endpoint, method, rule) of every route of one item (`admin.event`, `admin.place`), HEAD/OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(endpoint_prefix) and "<item_id>" in rule.rule.replace("int:", ""):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule.rule


def assert_refused_on_every_route(env: Env, endpoint_prefix: str, item_id: int, data: dict) -> int:
    """Organisation A's account sends `data` (a hijacking attempt) to each route of organisation B's item: every
    one is 403 and on record. Returns how many routes were tried."""
    orga = env.signed_in("orga")
    token = orga.token("/admin/")
    denied = len(env.audit("access.denied"))
    routes = list(item_routes(env.app, endpoint_prefix))
    for endpoint, method, rule in routes:
        url = re.sub(r"<(int:)?item_id>", str(item_id), rule)
        r = orga.c.open(url, method=method, data={**data, "csrf_token": token})
        assert r.status_code == 403, (endpoint, method, r.status_code)
    assert len(env.audit("access.denied")) == denied + len(routes)
    for rule in {rule for _, method, rule in routes if method == "GET"}:  # an id that does not exist: 404
        assert orga.get(re.sub(r"<(int:)?item_id>", "999999", rule)).status_code == 404, rule
    return len(routes)


def assert_lists_show_own_only(env: Env, table: str, mine: int, *, mine_name: str, theirs_name: str) -> None:
    """Organisation A's list shows its own item and not organisation B's; staff see both; a survey account may
    not open A's item."""
    listing = env.signed_in("orga").get(f"/admin/{table}").get_data(as_text=True)
    assert mine_name in listing and theirs_name not in listing
    staff_list = env.signed_in("staff").get(f"/admin/{table}").get_data(as_text=True)
    assert mine_name in staff_list and theirs_name in staff_list
    assert env.signed_in("survey").get(f"/admin/{table}/{mine}").status_code == 403


def approval_round_trip(env: Env, model: type, item_id: int, *, noun: str, reason: str, while_pending=None) -> None:
    """An organisation's 公開する asks for approval (nothing told yet); it may neither approve nor send back; staff
    see it waiting, send it back with a reason the organisation reads, and approve the second request: published,
    told once, and each step on record. `while_pending(env)` adds a kind's own checks before the first answer."""
    table = model.__tablename__
    page, prefix = f"/admin/{table}/{item_id}", table[:-1]  # /admin/events/1, event.submit ...
    orga, staff = env.signed_in("orga"), env.signed_in("staff")
    assert "承認を依頼する" in orga.get(page).get_data(as_text=True)
    assert orga.post(f"{page}/publish").status_code == 302
    assert status_of(env, model, item_id) == "pending"
    assert publication(env, f"listing:{table}:{item_id}") is None  # nothing told before approval
    if while_pending is not None:
        while_pending(env)
    waiting = orga.get(page).get_data(as_text=True)
    assert "承認を依頼しました。市の職員が確認すると公開されます。" in waiting and "市の職員の承認を待っています" in waiting
    assert orga.post(f"{page}/approve").status_code == 403
    assert orga.post(f"{page}/send_back", {"reason": "x"}).status_code == 403
    assert f"承認待ちの{noun}が1件あります" in staff.get(f"/admin/{table}").get_data(as_text=True)

    r = staff.post(f"{page}/send_back", {"reason": reason})
    assert r.status_code == 302 and status_of(env, model, item_id) == "draft"
    assert "差し戻しました。団体が直して、もう一度承認を依頼できます。" in staff.get(page).get_data(as_text=True)
    assert f"市の職員から差し戻されました: {reason}" in orga.get(page).get_data(as_text=True)
    assert orga.post(f"{page}/publish").status_code == 302
    assert staff.post(f"{page}/approve").status_code == 302
    assert "承認して公開しました。" in staff.get(page).get_data(as_text=True)
    assert status_of(env, model, item_id) == "published"
    assert publication(env, f"listing:{table}:{item_id}") is not None
    assert [e.actor_id for e in env.audit(f"{prefix}.approve")] == [env.ids["staff"]]
    assert len(env.audit(f"{prefix}.submit")) == 2 and len(env.audit(f"{prefix}.send_back")) == 1
    assert [e.summary for e in env.audit(f"{prefix}.send_back")] == [reason]
    r = staff.post(f"{page}/approve")  # not pending any more
    assert r.status_code == 409 and f"承認待ちの{noun}ではありません。" in r.get_data(as_text=True)
