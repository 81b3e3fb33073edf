"""イベント in a real headless Chromium against the app over HTTP: an organisation's account opens イベント from the
menu, fills the form (an end before the start is refused beside the field), previews it (the phone frame draws
the bot's own Flex bubble), saves and publishes. No script or style is refused by the page's CSP."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.admin.accounts import create_account, find_or_create_group
from models.accounts import Organisation
from models.events import Event
from tests.browser.test_admin_browser import log_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "midori@example.jp", "organisation passphrase 2026"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 10:00 in Tokyo


def test_organisation_creates_previews_and_publishes_an_event(bot, browser_context):
    bot.clock.set(NOW)
    with bot.rt.sessions() as db:
        org = find_or_create_group(db, Organisation, "みどり子ども会", NOW)
        db.flush()
        create_account(db, email=EMAIL, role="organisation", organisation_id=org.id, display_name="みどり 担当",
                       password=PASSWORD, now=NOW, testing=True)
        db.commit()
    page = browser_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())  # 「公開します。よろしいですか？」
    log_in(page, bot.url, EMAIL, PASSWORD)
    page.get_by_role("heading", name="ダッシュボード").wait_for()
    page.get_by_role("link", name="イベント", exact=True).click()
    page.get_by_role("button", name="イベントを作成").click()
    assert "LINEでの見え方が表示されます" in page.locator("#phone-chat").inner_text()

    page.locator("#title").fill("親子でクリスマス工作")
    page.locator("#start_date").fill("2026-12-05")
    page.locator("#start_time").fill("10:00")
    page.locator("#end_time").fill("09:00")
    page.locator("#district").select_option(label="国府津")
    page.locator("#place_name").fill("国府津公民館")
    with page.expect_navigation():
        page.get_by_role("button", name="プレビュー").click()
    assert page.locator("#end_time-error").inner_text() == "終了日時は開始日時より後にしてください。"
    assert page.locator("#title").input_value() == "親子でクリスマス工作"  # what was typed stays

    page.locator("#end_time").fill("12:00")
    with page.expect_navigation():
        page.get_by_role("button", name="プレビュー").click()
    bubble = page.locator("#phone-chat [data-message=flex]")
    text = bubble.inner_text()
    assert "親子でクリスマス工作" in text and "12月5日" in text and "国府津公民館" in text
    assert page.locator("#phone-chat .link-button").count() >= 1  # the bubble's buttons are drawn

    page.get_by_role("button", name="保存する").click()
    page.get_by_role("heading", name="親子でクリスマス工作").wait_for()
    assert "下書き" in page.locator("#status").inner_text()
    assert "2026年12月5日（土） 10:00〜12:00" in page.locator("#when").inner_text()
    page.get_by_role("button", name="公開する").click()
    page.get_by_text("公開しました。").wait_for()
    assert "公開中" in page.locator("#status").inner_text()
    with bot.rt.sessions() as db:
        ev = db.scalar(select(Event).where(Event.title == "親子でクリスマス工作"))
        assert ev.status == "published" and ev.organisation_id == org.id and ev.district == "kozu"
    # The refused form is a 422 the console reports; anything else (a CSP refusal, a script error) fails.
    assert [e for e in errors if "status of 422" not in e] == [], errors
