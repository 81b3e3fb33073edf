"""The roster at the door on a phone (390×844, touch) in a real headless Chromium against the app over HTTP: an
organisation's account opens a shift's roster on the day, taps 出席 for one volunteer and 欠席 for another (one tap
each, a POST form with its CSRF token), the counts and the hours follow, every button is big enough to tap and
nothing is wider than the screen. No script or style is refused by the page's CSP."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import registrations as regs
from bot.admin.accounts import create_account, find_or_create_group
from models.accounts import Organisation
from models.registrations import Registration
from models.users import User
from models.volunteer import Opportunity, Shift, VolunteerProfile
from tests.browser.test_admin_browser import log_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "midori@example.jp", "organisation passphrase 2026"
BEFORE = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # sign-ups, 10:00 in Tokyo
AT_THE_DOOR = datetime(2026, 12, 5, 0, 5, tzinfo=timezone.utc)  # 12/5 09:05 in Tokyo
START, END = datetime(2026, 12, 5, 0, 0, tzinfo=timezone.utc), datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)


def seed(rt) -> tuple[int, int, dict[str, int]]:
    with rt.sessions() as db:
        org = find_or_create_group(db, Organisation, "みどり子ども会", BEFORE)
        db.flush()
        create_account(db, email=EMAIL, role="organisation", organisation_id=org.id, display_name="みどり 担当",
                       password=PASSWORD, now=BEFORE, testing=True)
        opp = Opportunity(organisation_id=org.id, title="海岸清掃", status="published", created_at=BEFORE,
                          updated_at=BEFORE)
        db.add(opp)
        db.flush()
        shift = Shift(opportunity_id=opp.id, starts_at=START, ends_at=END, capacity=2, status="open",
                      created_at=BEFORE, updated_at=BEFORE)
        db.add(shift)
        db.flush()
        slot = regs.slot_for(db, "shift", shift.id, capacity=2, starts_at=START, ends_at=END, now=BEFORE)
        users = {}
        for i, name in enumerate(("さくら", "ゆうき", "はると")):
            u = User(line_user_id=f"U{i + 1:032x}", active=True, created_at=BEFORE, followed_at=BEFORE)
            db.add(u)
            db.flush()
            db.add(VolunteerProfile(user_id=u.id, display_name=name, updated_at=BEFORE))
            regs.register(db, slot.id, u.id, now=BEFORE)
            users[name] = u.id
        db.commit()
        return opp.id, shift.id, users


def test_marking_attendance_at_the_door_on_a_phone(bot, browser_context):
    bot.clock.set(AT_THE_DOOR)
    opp_id, shift_id, users = seed(bot.rt)
    ctx = browser_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                          device_scale_factor=2)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, bot.url, EMAIL, PASSWORD)
    page.get_by_role("heading", name="ダッシュボード").wait_for()
    page.goto(f"{bot.url}/admin/volunteer/{opp_id}/shifts/{shift_id}/roster")
    page.get_by_role("heading", name="名簿と出欠").wait_for()
    assert page.locator(".roster-person .person-name").all_inner_texts() == ["さくら", "ゆうき"]
    assert page.locator("#waitlist li").all_inner_texts() == ["はると"]
    assert page.locator("#hours-total").inner_text() == "0分"

    # Big enough to tap, and the page fits the screen (no sideways scrolling at the door).
    for name in ("さくら 出席", "さくら 欠席", "ゆうき 出席"):
        b = page.get_by_role("button", name=name).bounding_box()
        assert b["height"] >= 40 and b["width"] >= 60 and b["x"] + b["width"] <= 390, (name, b)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    with page.expect_navigation():
        page.get_by_role("button", name="さくら 出席").tap()
    assert page.locator("#attended-count").inner_text() == "1人"
    assert page.locator("#hours-total").inner_text() == "2時間"
    assert page.get_by_role("button", name="さくら 出席").get_attribute("aria-pressed") == "true"
    with page.expect_navigation():
        page.get_by_role("button", name="ゆうき 欠席").tap()
    assert "欠席 1人" in page.locator("#counts").inner_text()
    assert page.locator("#hours-total").inner_text() == "2時間"

    with bot.rt.sessions() as db:
        got = {r.user_id: r.status for r in db.scalars(select(Registration))}
    assert got == {users["さくら"]: "attended", users["ゆうき"]: "no_show", users["はると"]: "waitlisted"}
    assert errors == [], errors
