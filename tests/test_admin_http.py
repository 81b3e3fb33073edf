"""The web admin over HTTP (Flask's test client, CSRF on): login, lock-out, throttling, CSRF, session expiry,
password change, roles, ownership, audit entries, form errors.

Fixtures and helpers live in tests/admin_support.py (shared with tests/test_admin_policy.py).
"""
from __future__ import annotations

import json
import re
from datetime import timedelta, timezone

from sqlalchemy import func, select

from bot.admin import auth
from bot.app import create_app
from bot.clock import FrozenClock
from bot.runtime import build_runtime
from models.accounts import Account
from models.announcements import Announcement
from models.users import User
from tests.conftest import make_config, wipe
from tests.helpers import sign
from tests.admin_support import PASSWORD, T0, Client, build_app, seed

# --- login, lock-out, throttling ------------------------------------------------------------------

def test_login_success_failure_and_audit(admin_env):
    c = admin_env.client()
    r = c.login("orga@example.jp", "wrong password!!")
    assert r.status_code == 200 and "メールアドレスかパスワードが違います。" in r.get_data(as_text=True)
    r = c.login("nobody@example.jp", "whatever password")
    assert "メールアドレスかパスワードが違います。" in r.get_data(as_text=True)
    r = c.login("ORGA@example.jp ")  # address is case- and space-insensitive
    assert r.status_code == 302 and r.headers["Location"] == "/admin/"
    page = c.get("/admin/").get_data(as_text=True)
    assert "ダッシュボード" in page and "みどり子ども会" in page
    failed = admin_env.audit("login.failed")
    assert [(e.actor_id, e.summary) for e in failed] == [
        (admin_env.ids["orga"], "パスワード誤り（1回目）"), (None, "登録のないメールアドレス")]
    assert all(e.ip_hash and "127.0.0.1" not in e.ip_hash for e in failed)
    [ok] = admin_env.audit("login")
    assert ok.actor_id == admin_env.ids["orga"]
    with admin_env.db() as db:
        assert db.get(Account, admin_env.ids["orga"]).failed_logins == 0  # reset by the success


def test_five_failures_lock_the_account_for_fifteen_minutes(admin_env):
    c = admin_env.client()
    for i in range(1, 5):
        body = c.login("orga@example.jp", f"wrong-password-{i}").get_data(as_text=True)
        assert "メールアドレスかパスワードが違います。" in body
    body = c.login("orga@example.jp", "wrong-password-5").get_data(as_text=True)
    # The lock is not announced on the page (it would tell which addresses exist; tests/test_login_enumeration.py).
    assert "メールアドレスかパスワードが違います。" in body and "ロック" not in body
    # Locked: even the right password is refused, from any client (the count is in the database).
    r = admin_env.client().login("orga@example.jp")
    assert r.status_code == 200 and "メールアドレスかパスワードが違います。" in r.get_data(as_text=True)
    assert [e.summary for e in admin_env.audit("login.locked")] == ["5回失敗したため15分間ロック"]
    admin_env.clock.advance(minutes=14)
    assert c.login("orga@example.jp").status_code == 200
    admin_env.clock.advance(minutes=2)
    assert c.login("orga@example.jp").status_code == 302
    # Other accounts were never affected.
    assert admin_env.client().login("orgb@example.jp").status_code == 302


def test_login_is_throttled_per_client_address(database_url):
    clock = FrozenClock(T0)
    app, rt = build_app(database_url, clock, admin_login_rate="3 per minute")
    try:
        wipe(rt)
        seed(rt, T0)
        c = Client(app)
        # Different addresses each time: the per-account lock-out cannot be what stops this.
        for i in range(3):
            assert c.login(f"guess{i}@example.jp", "some password").status_code == 200
        r = c.login("admin@example.jp")  # even the right password, once the address is over its limit
        body = r.get_data(as_text=True)
        assert r.status_code == 429
        assert "短時間にログインの試行が多すぎます。しばらく待ってから、もう一度お試しください。" in body
        assert 'name="email"' in body  # the login form is shown again, in Japanese
        # Reading pages is not limited, only login attempts.
        assert c.get("/admin/login").status_code == 200
    finally:
        rt.close()


def test_disabled_account_cannot_log_in_and_its_session_ends(admin_env):
    org = admin_env.signed_in("orga")
    admin = admin_env.signed_in("admin")
    r = admin.post(f"/admin/accounts/{admin_env.ids['orga']}/disable", token_from="/admin/accounts")
    assert r.status_code == 302
    assert org.get("/admin/").headers["Location"].startswith("/admin/login")
    body = admin_env.client().login("orga@example.jp").get_data(as_text=True)
    assert "このアカウントは利用停止中です" in body
    r = admin.post(f"/admin/accounts/{admin_env.ids['admin']}/disable", token_from="/admin/accounts")
    assert "自分のアカウントは停止できません。" in admin.get("/admin/accounts").get_data(as_text=True)
    admin.post(f"/admin/accounts/{admin_env.ids['orga']}/enable", token_from="/admin/accounts")
    assert admin_env.client().login("orga@example.jp").status_code == 302
    assert [e.action for e in admin_env.audit() if e.action in ("account.disable", "account.enable")] == [
        "account.disable", "account.enable"]


def test_open_redirect_after_login_is_refused(admin_env):
    c = admin_env.client()
    token = c.token("/admin/login")
    for target, expected in [("https://evil.example/", "/admin/"), ("//evil.example/admin/", "/admin/"),
                             ("/admin/announcements", "/admin/announcements")]:
        r = c.c.post(f"/admin/login?next={target}", data={"email": "staff@example.jp", "password": PASSWORD, "csrf_token": token})
        assert r.headers["Location"] == expected
        token = c.token("/admin/")  # a login starts a fresh session (and CSRF token)


# --- CSRF -----------------------------------------------------------------------------------------

def test_post_without_or_with_wrong_csrf_token_is_refused(admin_env):
    c = admin_env.signed_in("orga")
    for data in ({"title": "偽の下書き"}, {"title": "偽の下書き", "csrf_token": "forged"}):
        r = c.c.post("/admin/announcements/new", data=data)
        assert r.status_code == 400
        assert "送信を受け付けられませんでした" in r.get_data(as_text=True)
    r = c.c.post(f"/admin/announcements/{admin_env.ids['notice_a']}/delete")
    assert r.status_code == 400
    r = admin_env.client().c.post("/admin/login", data={"email": "orga@example.jp", "password": PASSWORD})
    assert r.status_code == 400  # login CSRF too
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Announcement)) == 2
    # With the token from the page, the same request works.
    assert c.post("/admin/announcements/new", {"title": "本物の下書き", "body": "本文です。", "target": "everyone"},
                  token_from="/admin/announcements/new").status_code == 302


def test_line_webhook_stays_exempt_from_csrf(admin_env):
    body = json.dumps({"destination": "Ubot", "events": []}).encode()
    c = admin_env.client().c
    assert c.post("/callback", data=body, headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"}).status_code == 200
    assert c.post("/callback", data=body, headers={"X-Line-Signature": "bad"}).status_code == 400  # still signature-checked


def test_session_cookie_flags(admin_env, database_url):
    r = admin_env.client().login("staff@example.jp")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # tests and the demo run on plain http
    page = admin_env.client().get("/admin/login")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert admin_env.app.config["SESSION_COOKIE_SECURE"] is False
    prod_cfg = make_config(database_url, "http://127.0.0.1:9", testing=False)
    rt = build_runtime(prod_cfg)
    try:
        app = create_app(prod_cfg, runtime=rt, start_workers=False)
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    finally:
        rt.close()


# --- sessions --------------------------------------------------------------------------------------

def test_idle_timeout_and_absolute_lifetime(admin_env):
    c = admin_env.signed_in("staff")
    admin_env.clock.advance(minutes=29)
    assert c.get("/admin/").status_code == 200  # activity renews the idle timer
    admin_env.clock.advance(minutes=29)
    assert c.get("/admin/").status_code == 200
    admin_env.clock.advance(minutes=31)
    r = c.get("/admin/announcements")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/login?next=/admin/announcements"
    assert "一定時間操作がなかったため、ログアウトしました" in c.get("/admin/login").get_data(as_text=True)

    c = admin_env.signed_in("staff")
    for _ in range(8 * 3 + 1):  # busy all day, every 20 minutes: still ends after 8 hours
        admin_env.clock.advance(minutes=20)
        last = c.get("/admin/")
    assert last.status_code == 302


def test_logout_clears_the_session_and_a_copied_cookie(admin_env):
    c = admin_env.signed_in("staff")
    stolen = c.c.get_cookie("session").value
    r = c.post("/admin/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/login"
    assert "ログアウトしました。" in c.get("/admin/login").get_data(as_text=True)
    assert c.get("/admin/").status_code == 302
    thief = admin_env.client()
    thief.c.set_cookie("session", stolen)
    assert thief.get("/admin/").status_code == 302
    assert [e.action for e in admin_env.audit() if e.action in ("login", "logout")] == ["login", "logout"]


# --- one-time password and password change ---------------------------------------------------------

def test_invited_account_must_change_its_one_time_password(admin_env):
    admin = admin_env.signed_in("admin")
    r = admin.post("/admin/accounts/new", {"email": "new@example.jp", "display_name": "新しい人", "role": "organisation",
                                           "organisation_id": admin_env.ids["org_a"], "survey_team_id": 0},
                   token_from="/admin/accounts/new")
    assert r.status_code == 201
    secret = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert len(secret) >= 16

    c = admin_env.client()
    r = c.login("new@example.jp", secret)
    assert r.headers["Location"] == "/admin/password"
    assert c.get("/admin/announcements").headers["Location"] == "/admin/password"  # nothing else until changed
    bad = c.post("/admin/password", {"current": secret, "new": "short", "confirm": "short"}, token_from="/admin/password")
    assert bad.status_code == 422 and "パスワードは12文字以上にしてください。" in bad.get_data(as_text=True)
    bad = c.post("/admin/password", {"current": secret, "new": "a long new passphrase", "confirm": "a different one!!"},
                 token_from="/admin/password")
    assert "新しいパスワードが一致しません。" in bad.get_data(as_text=True)
    bad = c.post("/admin/password", {"current": "not the secret", "new": "a long new passphrase",
                                     "confirm": "a long new passphrase"}, token_from="/admin/password")
    assert "現在のパスワードが違います。" in bad.get_data(as_text=True)
    ok = c.post("/admin/password", {"current": secret, "new": "a long new passphrase", "confirm": "a long new passphrase"},
                token_from="/admin/password")
    assert ok.headers["Location"] == "/admin/"
    assert c.get("/admin/announcements").status_code == 200
    assert admin_env.client().login("new@example.jp", secret).status_code == 200  # the old one is gone
    assert admin_env.client().login("new@example.jp", "a long new passphrase").status_code == 302
    actions = [e.action for e in admin_env.audit()]
    assert actions.index("account.create") < actions.index("password.change")


def test_password_change_ends_the_accounts_other_sessions(admin_env):
    laptop, phone = admin_env.signed_in("staff"), admin_env.signed_in("staff")
    new = "another long passphrase"
    r = laptop.post("/admin/password", {"current": PASSWORD, "new": new, "confirm": new}, token_from="/admin/password")
    assert r.status_code == 302
    assert laptop.get("/admin/").status_code == 200
    assert phone.get("/admin/").status_code == 302


def test_a_64_character_password_is_accepted(admin_env):
    c = admin_env.signed_in("staff")
    long = "長いパスフレーズ" * 8  # 64 characters
    assert c.post("/admin/password", {"current": PASSWORD, "new": long, "confirm": long},
                  token_from="/admin/password").status_code == 302
    assert admin_env.client().login("staff@example.jp", long).status_code == 302


# --- forms -----------------------------------------------------------------------------------------

def test_form_errors_are_japanese_beside_the_field_and_keep_what_was_typed(admin_env):
    admin = admin_env.signed_in("admin")
    r = admin.post("/admin/accounts/new", {"email": "not-an-address", "display_name": "山田 花子", "role": "organisation",
                                           "organisation_id": 0, "survey_team_id": 0}, token_from="/admin/accounts/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="email"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="email"', html)
    assert '<small id="email-error" class="field-error">メールアドレスの形式が正しくありません。</small>' in html
    assert 'value="山田 花子"' in html and 'value="not-an-address"' in html
    r = admin.post("/admin/accounts/new", {"email": "ok@example.jp", "display_name": "", "role": "organisation",
                                           "organisation_id": 0, "survey_team_id": admin_env.ids["team"]},
                   token_from="/admin/accounts/new")
    html = r.get_data(as_text=True)
    assert '<small id="survey_team_id-error" class="field-error">団体のアカウントは調査チームに所属できません。</small>' in html
    r = admin.post("/admin/accounts/new", {"email": "ADMIN@example.jp", "role": "staff", "organisation_id": 0,
                                           "survey_team_id": 0}, token_from="/admin/accounts/new")
    assert "このメールアドレスはすでに登録されています。" in r.get_data(as_text=True)
    r = admin.post("/admin/organisations/new", {"org-name": "みどり子ども会"}, token_from="/admin/groups")
    assert r.status_code == 422 and "同じ名前の団体がすでにあります。" in r.get_data(as_text=True)
    r = admin.post("/admin/organisations/new", {"org-name": ""}, token_from="/admin/groups")
    assert "入力してください。" in r.get_data(as_text=True)
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Account)) == 5


# --- roles, ownership, dashboard ---------------------------------------------------------------------

def test_organisation_sees_and_changes_only_its_own_drafts(admin_env):
    ids = admin_env.ids
    org = admin_env.signed_in("orga")
    page = org.get("/admin/announcements").get_data(as_text=True)
    assert "下書きA" in page and "下書きB" not in page
    assert org.get(f"/admin/announcements/{ids['notice_a']}/edit").status_code == 200
    r = org.get(f"/admin/announcements/{ids['notice_b']}/edit")
    assert r.status_code == 403 and "権限がありません" in r.get_data(as_text=True)
    assert org.post(f"/admin/announcements/{ids['notice_b']}/edit", {"title": "乗っ取り"}).status_code == 403
    assert org.post(f"/admin/announcements/{ids['notice_b']}/delete").status_code == 403
    # Creating: the organisation field is not offered, and a forged one is ignored.
    r = org.post("/admin/announcements/new", {"title": "自分の下書き", "body": "本文", "target": "everyone",
                                               "organisation_id": ids["org_b"]}, token_from="/admin/announcements/new")
    assert r.status_code == 302
    with admin_env.db() as db:
        assert db.get(Announcement, ids["notice_b"]).title == "下書きB"
        mine = db.scalar(select(Announcement).where(Announcement.title == "自分の下書き"))
        assert mine.organisation_id == ids["org_a"]
    denied = admin_env.audit("access.denied")
    assert len(denied) == 3 and all(e.actor_id == ids["orga"] for e in denied)
    # Staff see and edit every organisation's drafts.
    staff = admin_env.signed_in("staff")
    page = staff.get("/admin/announcements").get_data(as_text=True)
    assert "下書きA" in page and "下書きB" in page
    r = staff.post(f"/admin/announcements/{ids['notice_b']}/edit", {"title": "職員が直した", "body": "本文",
                                                                     "target": "everyone", "organisation_id": ids["org_b"]},
                   token_from=f"/admin/announcements/{ids['notice_b']}/edit")
    assert r.status_code == 302
    assert [e.summary for e in admin_env.audit("announcement.update")] == ["職員が直した（0人）"]


def test_each_role_gets_its_own_menu_and_dashboard(admin_env):
    with admin_env.db() as db:
        now = T0
        for i in range(6):
            db.add(User(line_user_id=f"U{i:032d}", active=i != 5, created_at=now - timedelta(days=3 * i),
                        followed_at=now - timedelta(days=3 * i), last_seen_at=now - timedelta(days=2 * i)))
        db.commit()
    pages = {who: admin_env.signed_in(who).get("/admin/").get_data(as_text=True)
             for who in ("admin", "staff", "orga", "survey")}
    assert all("<svg" in p and "友だち（ブロック中を除く）" in p for p in pages.values())
    assert re.search(r"友だち（ブロック中を除く）</header>\s*<p class=\"figure\">5<", pages["admin"])
    assert re.search(r"今週の利用者（7日以内に利用）</header>\s*<p class=\"figure\">4<", pages["admin"])
    assert "操作記録" in pages["admin"] and "アカウント" in pages["admin"] and "ロック中のアカウント" in pages["admin"]
    assert "操作記録" not in pages["staff"] and "お知らせ下書き（全団体）" in pages["staff"]
    assert "お知らせ下書き" in pages["orga"] and "全団体" not in pages["orga"] and "操作記録" not in pages["orga"]
    assert "お知らせ下書き" not in pages["survey"] and "回答受付中のアンケート" in pages["survey"]
    # Every figure is counted: no card is a placeholder for a feature still to come.
    assert all("—</p>" not in p and "準備中" not in p for p in pages.values())
    assert "掲載中のイベント・居場所・ボランティア" in pages["orga"]
    assert "受付中の申込（イベント・ボランティア）" in pages["staff"] and "受付中の申込" not in pages["orga"]
    staff = admin_env.signed_in("staff")
    assert staff.get("/admin/accounts").status_code == 403
    assert staff.get("/admin/audit").status_code == 403
    assert admin_env.signed_in("survey").get("/admin/announcements").status_code == 403


def test_admin_edits_an_account_role_and_group(admin_env):
    ids = admin_env.ids
    admin = admin_env.signed_in("admin")
    path = f"/admin/accounts/{ids['orga']}/edit"
    assert 'value="orga"' in admin.get(path).get_data(as_text=True)
    r = admin.post(path, {"display_name": "移籍", "role": "organisation", "organisation_id": ids["org_b"], "survey_team_id": 0},
                   token_from=path)
    assert r.status_code == 302
    assert "下書きB" in admin_env.signed_in("orga").get("/admin/announcements").get_data(as_text=True)
    r = admin.post(f"/admin/accounts/{ids['admin']}/edit", {"role": "staff", "organisation_id": 0, "survey_team_id": 0},
                   token_from=path)
    assert "自分の役割は変更できません" in r.get_data(as_text=True)
    [e] = admin_env.audit("account.update")
    assert e.summary == "orga@example.jp: 団体・みどり子ども会 → 団体・あおば自治会"


def test_reset_password_issues_a_new_one_time_password(admin_env):
    admin = admin_env.signed_in("admin")
    victim = admin_env.signed_in("orgb")
    r = admin.post(f"/admin/accounts/{admin_env.ids['orgb']}/reset-password", token_from="/admin/accounts")
    secret = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert victim.get("/admin/").status_code == 302  # the old session ended
    assert admin_env.client().login("orgb@example.jp").status_code == 200
    assert admin_env.client().login("orgb@example.jp", secret).headers["Location"] == "/admin/password"


# --- audit page ------------------------------------------------------------------------------------

def test_audit_log_page_filters_and_paginates(admin_env):
    ids = admin_env.ids
    admin_env.signed_in("admin")  # a login on the first day
    admin_env.clock.advance(days=2)
    admin, org = admin_env.signed_in("admin"), admin_env.signed_in("orga")
    for i in range(55):
        org.post("/admin/announcements/new", {"title": f"記録{i:02d}", "body": "本文", "target": "everyone"},
                 token_from="/admin/announcements/new")
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert "（1 / 2ページ）" in html and html.count('class="audit-row"') == 50
    assert "記録54" in html and "お知らせの作成" in html
    total = len(admin_env.audit())  # the seed's entries, three logins, 55 drafts
    html = admin.get("/admin/audit?page=2").get_data(as_text=True)
    assert html.count('class="audit-row"') == total - 50 and "記録00" in html
    html = admin.get(f"/admin/audit?actor={ids['orga']}&action=announcement.create").get_data(as_text=True)
    assert "<p>55件" in html
    day = (T0 + timedelta(days=2)).astimezone(timezone(timedelta(hours=9))).date().isoformat()
    first_day = T0.astimezone(timezone(timedelta(hours=9))).date().isoformat()
    html = admin.get(f"/admin/audit?action=login&since={day}").get_data(as_text=True)
    assert "<p>2件" in html
    html = admin.get(f"/admin/audit?action=login&until={first_day}").get_data(as_text=True)
    assert "<p>1件" in html
    html = admin.get(f"/admin/audit?action=login&since={first_day}&until={first_day}&actor={ids['orga']}").get_data(as_text=True)
    assert "<p>0件" in html
    html = admin.get("/admin/audit?since=not-a-date").get_data(as_text=True)
    assert "日付は 2026-04-01 のように入力してください。" in html  # beside the field, not a crash


def test_lock_out_is_counted_atomically_in_the_database(admin_env):
    """Failures from several processes add up: the counter is an UPDATE on the row, not a Python variable."""
    with admin_env.db() as db:
        for _ in range(4):
            auth.attempt_login(db, "orga@example.jp", "bad bad bad bad", T0, testing=True)
            db.commit()
    with admin_env.db() as db:  # "another process"
        result = auth.attempt_login(db, "orga@example.jp", "bad bad bad bad", T0, testing=True)
        db.commit()
    assert result.status == auth.LOCKED and result.failures == 5
