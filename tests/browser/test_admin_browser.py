"""The admin in a real headless Chromium, against the app served over HTTP (the `bot` fixture):
an admin invites an organisation account; that account sets its password and sees only its own items;
five wrong passwords lock an account. Takes the dashboard's screenshot: into the test's own folder, or, with
KYODO_UPDATE_SCREENSHOTS=1, over docs/screenshots/admin-dashboard.png (the README's), so an ordinary run leaves
the working tree as it was (and the two halves of `make test`, run at once, never write the same file)."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from bot.admin.accounts import create_account, find_or_create_group
from models.accounts import Organisation
from models.announcements import Announcement
from models.users import User
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

ADMIN_EMAIL, ADMIN_PASSWORD = "kanri@city.example.jp", "admin passphrase 2026"
SCREENSHOT = ROOT / "docs" / "screenshots" / "admin-dashboard.png"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # fixed, so the screenshot only changes with the page


def seed(bot) -> None:
    bot.clock.set(NOW)
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        create_account(db, email=ADMIN_EMAIL, role="admin", display_name="小田原 管理", password=ADMIN_PASSWORD,
                       now=now, testing=True)
        other = find_or_create_group(db, Organisation, "あおば自治会", now)
        db.flush()
        db.add(Announcement(organisation_id=other.id, title="あおば自治会の下書き", body="本文", created_at=now, updated_at=now))
        # Friends over the last weeks, so the dashboard's chart has something to show.
        for i, (days_ago, seen_ago) in enumerate([(1, 0), (3, 1), (5, 2), (9, 2), (10, 8), (12, 3), (16, 20), (17, 4),
                                                  (20, 5), (26, 6), (33, 30), (38, 9), (45, 50), (47, 1)]):
            db.add(User(line_user_id=f"Ubrowser{i:024d}", active=True, created_at=now - timedelta(days=days_ago),
                        followed_at=now - timedelta(days=days_ago), last_seen_at=now - timedelta(days=seen_ago)))
        db.commit()


def box(page, name: str):
    """A text input by its label's accessible name (the "必須" badge is aria-hidden, so not part of it)."""
    return page.get_by_role("textbox", name=name, exact=True)


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/admin/")
    assert page.url.startswith(base + "/admin/login")
    box(page, "メールアドレス").fill(email)
    box(page, "パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def test_admin_invites_an_organisation_that_then_sees_only_its_own_items(bot, browser_context, tmp_path):
    seed(bot)
    base = bot.url
    admin = browser_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(admin, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.get_by_role("heading", name="ダッシュボード").wait_for()

    # Register the organisation, then invite its account.
    admin.get_by_role("link", name="団体・調査チーム").click()
    admin.locator("#org-name").fill("みどり子ども会")
    admin.get_by_role("button", name="団体を登録").click()
    assert "団体「みどり子ども会」を保存しました。" in admin.inner_text("main")
    admin.get_by_role("link", name="アカウント", exact=True).click()
    admin.get_by_role("button", name="アカウントを招待する").click()
    box(admin, "メールアドレス").fill("midori@example.jp")
    box(admin, "表示名").fill("みどり 花子")
    admin.get_by_label("役割").select_option(label="団体")
    admin.get_by_role("button", name="招待する（仮パスワードを発行）").click()
    # A mistake is shown beside the field, in Japanese, and what was typed stays.
    assert admin.inner_text("#organisation_id-error") == "団体を選んでください。"
    assert box(admin, "表示名").input_value() == "みどり 花子"
    admin.get_by_label("所属する団体").select_option(label="みどり子ども会")
    admin.get_by_role("button", name="招待する（仮パスワードを発行）").click()
    secret = admin.inner_text("#one-time-password").strip()
    assert len(secret) >= 16

    # The organisation's person, in their own browser: one-time password, then their own.
    org = browser_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    log_in(org, base, "midori@example.jp", secret)
    org.get_by_role("heading", name="パスワード変更").wait_for()
    box(org, "現在のパスワード").fill(secret)
    box(org, "新しいパスワード").fill("みどりの新しいパスワード")
    box(org, "新しいパスワード（確認）").fill("みどりの新しいパスワード")
    org.get_by_role("button", name="変更する").click()
    org.get_by_role("heading", name="ダッシュボード").wait_for()
    assert "パスワードを変更しました。" in org.inner_text("main")
    # Readable on a phone: nothing wider than the screen.
    assert org.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    org.get_by_role("link", name="お知らせ", exact=True).first.click()
    org.get_by_role("button", name="お知らせを作成").click()
    org.locator("#title").fill("みどりの夏祭り")
    org.locator("#body").fill("8月に夏祭りを開きます。")
    org.get_by_role("button", name="保存する").click()
    org.get_by_role("heading", name="みどりの夏祭り").wait_for()
    org.get_by_role("link", name="一覧へ戻る").click()
    rows = org.locator("tr.announcement-row").all_inner_texts()
    assert len(rows) == 1 and "みどりの夏祭り" in rows[0]
    assert "あおば自治会の下書き" not in org.inner_text("main")
    assert org.get_by_role("link", name="アカウント", exact=True).count() == 0  # no admin menu

    # Asking for the other organisation's draft by id is refused on the server.
    with bot.rt.sessions() as db:
        other_id = db.query(Announcement.id).filter(Announcement.title == "あおば自治会の下書き").scalar()
    response = org.goto(f"{base}/admin/announcements/{other_id}/edit")
    assert response.status == 403 and "権限がありません" in org.inner_text("main")

    # The admin's dashboard, as the README shows it.
    admin.get_by_role("link", name="ダッシュボード").click()
    admin.get_by_role("heading", name="ダッシュボード").wait_for()
    assert admin.locator("figure.chart svg rect.bar").count() == 8
    shot = SCREENSHOT if os.environ.get("KYODO_UPDATE_SCREENSHOTS") == "1" else tmp_path / SCREENSHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    admin.get_by_role("link", name="操作記録").click()
    log = admin.inner_text("main")
    for label in ("団体の登録", "アカウント作成", "パスワード変更", "お知らせ下書きの作成", "権限のないアクセス"):
        assert label in log


def test_five_wrong_passwords_lock_the_account(bot, browser_context):
    seed(bot)
    page = browser_context().new_page()
    for i in range(1, 6):
        log_in(page, bot.url, ADMIN_EMAIL, f"wrong password {i}")
        message = page.inner_text("#login-error")
        # The same words every time: the lock-out is not announced (it would tell which addresses exist).
        assert message == "メールアドレスかパスワードが違います。続けて5回間違えると、15分間ログインできなくなります。"
    log_in(page, bot.url, ADMIN_EMAIL, ADMIN_PASSWORD)  # the right password does not help while locked
    assert page.inner_text("#login-error") == message
    assert box(page, "メールアドレス").input_value() == ADMIN_EMAIL  # what was typed stays
