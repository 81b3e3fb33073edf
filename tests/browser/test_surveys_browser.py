"""アンケート in a real headless Chromium against the app over HTTP: a survey team's account opens アンケート from the
menu, creates a survey (a close before the start is refused beside the field, what was typed stays), adds two
questions, sets 「いいえ」 of Q1 to skip to 終了, sees the rule on the survey's page and in the preview (Q1's answers
drawn as quick-reply buttons), and opens it: the invitation is queued. No script or style is refused by the
page's CSP."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.admin.accounts import create_account, find_or_create_group
from models.accounts import SurveyTeam
from models.publications import Publication
from models.surveys import END, Survey
from tests.browser.test_admin_browser import log_in

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "chosa@example.jp", "survey team passphrase 2026"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 10:00 in Tokyo


def test_a_team_builds_a_two_question_survey_with_a_skip_and_opens_it(bot, browser_context):
    bot.clock.set(NOW)
    with bot.rt.sessions() as db:
        team = find_or_create_group(db, SurveyTeam, "市民アンケート班", NOW)
        db.flush()
        create_account(db, email=EMAIL, role="survey", survey_team_id=team.id, display_name="調査 担当",
                       password=PASSWORD, now=NOW, testing=True)
        db.commit()
        team_id = team.id
    page = browser_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())  # 「公開し、…送ります。よろしいですか？」
    log_in(page, bot.url, EMAIL, PASSWORD)
    page.get_by_role("heading", name="ダッシュボード").wait_for()
    page.get_by_role("link", name="アンケート", exact=True).click()
    page.get_by_role("button", name="アンケートを作成").click()

    page.locator("#title").fill("子どもの居場所アンケート")
    page.locator("#intro").fill("2問だけです。")
    page.locator("#opens_at").fill("2026-11-26T09:00")
    page.locator("#closes_at").fill("2026-11-20T17:00")
    assert page.get_by_text("二重回答を防ぐため、鍵付きハッシュだけを保存します。").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="保存する").click()
    assert "締切（2026/11/20 17:00）が過ぎています。" in page.locator("#closes_at-error").inner_text()
    assert page.locator("#title").input_value() == "子どもの居場所アンケート"  # what was typed stays
    page.locator("#closes_at").fill("2026-12-10T17:00")
    with page.expect_navigation():
        page.get_by_role("button", name="保存する").click()
    page.get_by_role("heading", name="子どもの居場所アンケート").wait_for()
    assert "質問がひとつもありません。" in page.locator("#problems").inner_text()

    for text, options in (("こどもの居場所を利用したことがありますか。", "はい\nいいえ"),
                          ("よく使う居場所はどこですか。", "子ども食堂\n児童館\nその他")):
        page.get_by_role("button", name="質問を追加").click()
        page.locator("#kind").select_option(label="ひとつ選ぶ")
        page.locator("#text").fill(text)
        page.locator("#options").fill(options)
        with page.expect_navigation():
            page.get_by_role("button", name="保存する").click()
        page.get_by_text("質問を追加しました。").wait_for()
    assert page.locator("#problems").count() == 0

    # Q1: 「いいえ」 goes straight to the end.
    page.locator("#questions .question-row").first.get_by_role("link", name="編集").click()
    assert page.locator("#go_1 option").all_inner_texts()[-1] == "終了（確認画面へ）"
    page.get_by_label("「いいえ」のとき").select_option(value=END)
    with page.expect_navigation():
        page.get_by_role("button", name="保存する").click()
    page.get_by_text("質問を保存しました。").wait_for()
    assert page.locator("#questions .question-row .rules").first.inner_text() == "「いいえ」→ 終了"

    page.get_by_role("button", name="LINEでの見え方").click()
    q1 = page.locator("#preview-q1")
    assert "こどもの居場所を利用したことがありますか。" in q1.locator(".phone-chat").inner_text()
    assert q1.locator(".quick-reply").all_inner_texts()[:2] == ["はい", "いいえ"]
    assert page.locator("#preview-q2").count() == 1
    page.get_by_role("link", name="子どもの居場所アンケート").click()

    page.get_by_role("button", name="公開する").click()
    page.get_by_text("公開しました。").wait_for()
    assert "公開中" in page.locator("#status").inner_text()
    with bot.rt.sessions() as db:
        s = db.scalar(select(Survey).where(Survey.title == "子どもの居場所アンケート"))
        assert (s.status, s.survey_team_id, s.anonymous) == ("open", team_id, True)
        assert [q.branches for q in s.questions] == [{"1": END}, {}]
        assert db.scalar(select(Publication).where(Publication.ref == f"survey:{s.id}:invite")) is not None
    # The refused form is a 422 the console reports; anything else (a CSP refusal, a script error) fails.
    assert [e for e in errors if "status of 422" not in e] == [], errors
