"""お知らせ in a real headless Chromium against the app over HTTP: a staff member types the text (the live
counter follows, in UTF-16 units, and turns red past 5,000), picks a district, updates the preview (phone
frame drawn from the message objects, count of residents), saves, tries a past time (refused, 422), then
schedules for a future time."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.admin.accounts import create_account
from models.announcements import Announcement
from tests.announcements_support import add_residents, publisher  # noqa: F401 (fixture)
from tests.browser.test_admin_browser import log_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "shokuin@city.example.jp", "staff passphrase 2026"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 10:00 in Tokyo


def test_compose_with_live_counter_and_preview_then_schedule(bot, browser_context, publisher):
    bot.clock.set(NOW)
    with bot.rt.sessions() as db:
        create_account(db, email=EMAIL, role="staff", display_name="小田原 職員", password=PASSWORD, now=NOW, testing=True)
        db.commit()
        add_residents(db, NOW)
    page = browser_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, bot.url, EMAIL, PASSWORD)
    page.get_by_role("heading", name="ダッシュボード").wait_for()
    page.get_by_role("link", name="お知らせ", exact=True).first.click()
    with page.expect_navigation():  # the counter's script runs at DOMContentLoaded: typing before it is a race
        page.get_by_role("button", name="お知らせを作成").click()

    counter = page.locator("#body-count .count")
    assert counter.inner_text() == "0"
    page.locator("#title").fill("国府津の道路工事")
    page.locator("#body").fill("国府津の皆さまへ😀")  # the emoji counts 2, as LINE counts it
    expect(counter).to_have_text("10")
    page.locator("#urgent").check()  # 【緊急】 is part of the same text message
    expect(counter).to_have_text("14")
    page.locator("#urgent").uncheck()
    page.locator("#body").fill("あ" * 5001)
    assert counter.inner_text() == "5,001" and "over" in page.locator("#body-count").get_attribute("class")
    page.locator("#body").fill("国府津の皆さまへ\n12月に道路工事があります。")
    assert "over" not in page.locator("#body-count").get_attribute("class")

    page.get_by_label("条件を選んで届ける").check()
    page.get_by_label("国府津").check()
    page.locator("#link_url").fill("https://www.city.odawara.kanagawa.jp/")
    with page.expect_navigation():  # the preview is drawn by the server: wait for the new page, not the old one
        page.get_by_role("button", name="プレビューと人数を更新").click()
    bubble = page.locator("#phone-chat [data-message=text]")
    assert bubble.inner_text() == "国府津の皆さまへ\n12月に道路工事があります。"
    assert page.locator("#phone-chat .link-button").inner_text() == "詳しく見る"
    assert "2人" in page.locator("#audience").inner_text()
    # Same count after the round trip: the server stores the line break as LINE counts it (one, not CRLF).
    assert page.locator("#body-count .count").inner_text() == "23"

    page.get_by_role("button", name="保存する").click()
    page.get_by_role("heading", name="国府津の道路工事").wait_for()
    assert "下書き" in page.locator("#status").inner_text()
    page.locator("#at").fill("2026-11-25T09:00")
    with page.expect_navigation():
        page.get_by_role("button", name="この日時に配信を予約").click()
    assert "配信日時が過ぎています" in page.locator("#step-error").inner_text()
    page.locator("#at").fill("2026-12-01T09:00")
    page.get_by_role("button", name="この日時に配信を予約").click()
    page.get_by_text("配信を予約しました。").wait_for()
    assert "配信予約中（2026/12/01 09:00 に配信）" in page.locator("#status").inner_text()
    with bot.rt.sessions() as db:
        ann = db.scalar(select(Announcement).where(Announcement.title == "国府津の道路工事"))
        assert ann.status == "scheduled" and ann.segment["districts"] == ["kozu"]
    [call] = publisher.published()
    assert call["when"] == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    # The past time's refusal is a 422 the console reports; anything else (a CSP refusal, a script error) fails.
    assert [e for e in errors if "status of 422" not in e] == [], errors
