"""アンケート in the admin over HTTP (Flask's test client, CSRF on, frozen clock at 2026-11-25 10:00 Tokyo), on both
databases: a survey team builds a survey with every question kind and a skip rule, the checks in Japanese
(times, options, ranges, a backward or unknown 移動先), structure problems on the survey's page and opening
refused while any remain, 公開 queuing the invitation and 締め切る / 下書きに戻す cancelling it, edits refused once
anyone has answered (with the reason on the page, nothing saved), the preview drawing each question as LINE
shows it, another team refused (403) on every survey route and a question of another survey a 404."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from models.publications import Publication
from models.surveys import CLOSED, DRAFT, END, OPEN, Survey, SurveyQuestion
from tests.admin_support import T0
from tests.listings_admin_support import count, created_id, publication
from tests.surveys_support import add_response, build_survey, team

NEW = "/admin/surveys/new"


def survey_form(**kw) -> dict:
    data = {"title": "地域の居場所についてのアンケート", "intro": "3分ほどで終わります。", "opens_at": "2026-11-26T09:00",
            "closes_at": "2026-12-10T17:00", "remind_at": "2026-12-07T10:00", "privacy": "anonymous",
            "target": "everyone", "match": "any"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def question_form(**kw) -> dict:
    data = {"kind": "single", "text": "協働の取り組みを知っていますか。", "required": "y", "options": "はい\nいいえ"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def make_survey(env, who: str = "survey", **kw) -> int:
    return created_id(env.signed_in(who).post(NEW, survey_form(**kw), token_from=NEW))


def add_question(client, survey_id: int, **kw):
    url = f"/admin/surveys/{survey_id}/questions/new"
    return client.post(url, question_form(**kw), token_from=url)


def edit_question(client, survey_id: int, qid: int, **kw):
    url = f"/admin/surveys/{survey_id}/questions/{qid}/edit"
    return client.post(url, question_form(**kw), token_from=url)


def questions(env, survey_id: int) -> list[SurveyQuestion]:
    with env.db() as db:
        qs = list(db.scalars(select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
                             .order_by(SurveyQuestion.position)))
        db.expunge_all()
        return qs


def qid(env, survey_id: int, key: str) -> int:
    return next(q.id for q in questions(env, survey_id) if q.key == key)


def errors_of(response) -> list[str]:
    return re.findall(r'field-error">([^<]*)', response.get_data(as_text=True))


def html(response) -> str:
    return response.get_data(as_text=True)


EVERY_KIND = [
    dict(kind="single", text="協働の取り組みを知っていますか。", options="はい\nいいえ"),
    dict(kind="multi", text="どこで知りましたか。", options="広報紙\nLINE\n回覧板", max_choices="2"),
    dict(kind="scale", text="満足していますか。", options="", scale_low="不満", scale_high="満足"),
    dict(kind="number", text="年齢を教えてください。", options="", min_value="0", max_value="120", unit="歳", required=None),
    dict(kind="text", text="ご意見をどうぞ。", options="", max_length="100", required=None, note="100文字まで"),
    dict(kind="date", text="参加しやすい日はいつですか。", options=""),
    dict(kind="district", text="お住まいの地区を選んでください。", options=""),
]


def build_every_kind(env, client, survey_id: int) -> None:
    for fields in EVERY_KIND:
        r = add_question(client, survey_id, **fields)
        assert r.status_code == 302, errors_of(r)


# --- building ---------------------------------------------------------------------------------------------------

def test_a_team_builds_a_survey_with_every_kind_and_a_skip_rule(admin_env):
    team_account = admin_env.signed_in("survey")
    page = html(team_account.get(NEW))
    assert 'name="survey_team_id"' not in page  # a team writes for its own team only
    assert "二重回答を防ぐため、鍵付きハッシュだけを保存します。退会した方の回答も残ります。" in page
    assert "回答者ごとに回答を記録します。退会した方の回答は削除されます。" in page
    sid = make_survey(admin_env, survey_team_id=str(admin_env.ids["team"] + 99))  # a forged team is ignored
    with admin_env.db() as db:
        s = db.get(Survey, sid)
        assert (s.survey_team_id, s.status, s.anonymous, s.allow_edit, s.segment) == \
            (admin_env.ids["team"], DRAFT, True, False, {})
        assert s.opens_at.replace(tzinfo=timezone.utc) == datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)
        assert s.closes_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 10, 8, 0, tzinfo=timezone.utc)
        assert s.remind_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    build_every_kind(admin_env, team_account, sid)
    qs = questions(admin_env, sid)
    assert [(q.key, q.position, q.kind) for q in qs] == [
        ("q1", 1, "single"), ("q2", 2, "multi"), ("q3", 3, "scale"), ("q4", 4, "number"), ("q5", 5, "text"),
        ("q6", 6, "date"), ("q7", 7, "district")]
    q = {x.key: x for x in qs}
    assert q["q1"].options == ["はい", "いいえ"] and q["q1"].required is True
    assert (q["q2"].options, q["q2"].max_choices) == (["広報紙", "LINE", "回覧板"], 2)
    assert (q["q3"].scale_labels, q["q3"].options) == (["不満", "満足"], [])
    assert (q["q4"].min_value, q["q4"].max_value, q["q4"].unit, q["q4"].required) == (0, 120, "歳", False)
    assert (q["q5"].max_length, q["q5"].note) == (100, "100文字まで")

    # Q1's 移動先: one select per option, offering the later questions and 終了 only.
    url = f"/admin/surveys/{sid}/questions/{q['q1'].id}/edit"
    form_page = html(team_account.get(url))
    select_html = re.search(r'<select id="go_1" name="go_1">(.*?)</select>', form_page, re.S)[1]
    assert re.findall(r'value="([^"]*)"', select_html) == ["", "q2", "q3", "q4", "q5", "q6", "q7", END]
    assert "「いいえ」のとき" in form_page and 'name="branch_kind" value="single"' in form_page
    r = edit_question(team_account, sid, q["q1"].id, branch_kind="single", go_0="", go_1="q4")
    assert r.status_code == 302
    assert questions(admin_env, sid)[0].branches == {"1": "q4"}
    # The scale's selects are 1..5.
    scale_page = html(team_account.get(f"/admin/surveys/{sid}/questions/{q['q3'].id}/edit"))
    assert "「1（不満）」のとき" in scale_page and "「5（満足）」のとき" in scale_page
    r = edit_question(team_account, sid, q["q3"].id, **{**EVERY_KIND[2], "branch_kind": "scale", "go_5": END})
    assert r.status_code == 302 and questions(admin_env, sid)[2].branches == {"5": END}

    detail = html(team_account.get(f"/admin/surveys/{sid}"))
    assert "「いいえ」→ Q4" in detail and "「5（満足）」→ 終了" in detail
    assert 'id="problems"' not in detail and "無記名" in detail and "友だち全員" in detail
    assert [e.action for e in admin_env.audit() if e.action.startswith("survey.")] == \
        ["survey.create"] + ["survey.question_create"] * 7 + ["survey.question_update"] * 2
    # The list: the team's own; another team's survey is not in it; staff see both.
    with admin_env.db() as db:
        other = build_survey(db, T0, team_id=team(db, "調査チームB").id, title="Bチームの調査", status=DRAFT)
        db.commit()
    listing = html(team_account.get("/admin/surveys"))
    assert "地域の居場所についてのアンケート" in listing and "Bチームの調査" not in listing
    staff_list = html(admin_env.signed_in("staff").get("/admin/surveys"))
    assert "地域の居場所についてのアンケート" in staff_list and "Bチームの調査" in staff_list
    assert admin_env.signed_in("staff").get(f"/admin/surveys/{other.id}").status_code == 200


def test_question_keys_are_never_reused(admin_env):
    client = admin_env.signed_in("survey")
    sid = make_survey(admin_env)
    for text in ("一", "二", "三"):
        assert add_question(client, sid, text=text).status_code == 302
    assert client.post(f"/admin/surveys/{sid}/questions/{qid(admin_env, sid, 'q3')}/delete").status_code == 302
    assert add_question(client, sid, text="四").status_code == 302
    assert [q.key for q in questions(admin_env, sid)] == ["q1", "q2", "q4"]


@pytest.mark.parametrize("fields, field, message", [
    ({"title": ""}, "title", "入力してください。"),
    ({"title": "あ" * 101}, "title", "100文字以内で入力してください。"),
    ({"closes_at": "2026-11-20T17:00"}, "closes_at", "締切（2026/11/20 17:00）が過ぎています。"),
    ({"closes_at": "2026-11-26T08:00", "remind_at": ""}, "closes_at", "締切は受付開始より後にしてください。"),
    ({"remind_at": "2026-12-11T10:00"}, "remind_at", "リマインドは、受付開始から締切までの間の日時にしてください。"),
    ({"opens_at": "あした"}, "opens_at", "日時は 2026-12-01 09:00 のように入力してください。"),
    ({"opens_at": "99999-01-01T00:00"}, "opens_at", "日時は 2026-12-01 09:00 のように入力してください。"),
    ({"target": "chosen"}, "target", "条件を一つ以上選んでください。"),
])
def test_settings_checks_in_japanese(admin_env, fields, field, message):
    r = admin_env.signed_in("survey").post(NEW, survey_form(**fields), token_from=NEW)
    assert r.status_code == 422
    assert re.search(rf'id="{field}-error" class="field-error">[^<]*{re.escape(message)}', html(r)), errors_of(r)
    kept = survey_form(**fields)
    assert f'name="title" required type="text" value="{kept["title"]}"' in html(r)  # what was typed stays
    assert f'value="{kept["opens_at"]}"' in html(r)
    assert count(admin_env, Survey) == 0


def test_a_segment_target_and_staff_choosing_the_team(admin_env):
    staff = admin_env.signed_in("staff")
    assert 'name="survey_team_id"' in html(staff.get(NEW))
    sid = created_id(staff.post(NEW, survey_form(target="chosen", districts=["kozu", "soga"], topics="events",
                                                 match="all", privacy="named", allow_edit="y",
                                                 survey_team_id=str(admin_env.ids["team"])), token_from=NEW))
    with admin_env.db() as db:
        s = db.get(Survey, sid)
        assert (s.survey_team_id, s.anonymous, s.allow_edit) == (admin_env.ids["team"], False, True)
        assert s.segment["districts"] == ["kozu", "soga"] and s.segment["topics"] == ["events"]
        assert s.segment["match"] == "all"
    detail = html(staff.get(f"/admin/surveys/{sid}"))
    assert '<dd id="target">地区: 国府津・曽我、関心: イベント のすべてに当てはまる方</dd>' in detail
    assert "記名" in detail and "回答者ごとに回答を記録します。" in detail
    # The team's account reaches it too (its team's survey); the city's own (no team) only staff.
    assert admin_env.signed_in("survey").get(f"/admin/surveys/{sid}").status_code == 200
    city_own = created_id(staff.post(NEW, survey_form(survey_team_id="0"), token_from=NEW))
    assert admin_env.signed_in("survey").get(f"/admin/surveys/{city_own}").status_code == 403
    r = staff.post(NEW, survey_form(survey_team_id="9" * 20), token_from=NEW)
    assert r.status_code == 422 and errors_of(r) == ["選択肢が正しくありません。"]


@pytest.mark.parametrize("fields, field, message", [
    ({"options": "はい"}, "options", "選択肢を2つ以上、1行に1つずつ入力してください。"),
    ({"options": "はい\nはい"}, "options", "同じ選択肢が2回あります。"),
    ({"kind": "multi", "options": "a\nb", "max_choices": "3"}, "max_choices", "選べる数の上限が、選択肢の数より多くなっています。"),
    ({"kind": "number", "options": "", "min_value": "10", "max_value": "5"}, "max_value",
     "いちばん大きい数は、いちばん小さい数以上にしてください。"),
    ({"kind": "number", "options": "", "min_value": "たくさん"}, "min_value", "いちばん小さい数は"),
    ({"kind": "text", "options": "", "max_length": "5000"}, "max_length", "文字数の上限は1から1,000までの数字で入力してください。"),
    ({"text": ""}, "text", "入力してください。"),
    ({"kind": "nonsense"}, "kind", ""),
])
def test_question_checks_in_japanese(admin_env, fields, field, message):
    client = admin_env.signed_in("survey")
    sid = make_survey(admin_env)
    r = add_question(client, sid, **fields)
    assert r.status_code == 422
    assert re.search(rf'id="{field}-error" class="field-error">[^<]*{re.escape(message)}', html(r)), errors_of(r)
    assert count(admin_env, SurveyQuestion) == 0


def test_a_backward_or_unknown_skip_is_refused_by_the_form(admin_env):
    client = admin_env.signed_in("survey")
    sid = make_survey(admin_env)
    for text in ("一", "二", "三"):
        add_question(client, sid, text=text)
    q2 = qid(admin_env, sid, "q2")
    for target in ("q1", "q2", "q99"):
        r = edit_question(client, sid, q2, branch_kind="single", go_0=target)
        assert r.status_code == 422
        assert "移動先は、この質問より後ろの質問か「終了」を選んでください" in html(r)
    assert all(q.branches == {} for q in questions(admin_env, sid))


def test_unreachable_questions_are_shown_and_opening_is_refused(admin_env):
    client = admin_env.signed_in("survey")
    sid = make_survey(admin_env)
    r = client.post(f"/admin/surveys/{sid}/open")
    assert r.status_code == 422 and "質問がひとつもありません。" in html(r)
    for text in ("一", "二", "三"):
        add_question(client, sid, text=text)
    # Both answers of Q1 skip to Q3: Q2 can never be reached.
    r = edit_question(client, sid, qid(admin_env, sid, "q1"), text="一", branch_kind="single", go_0="q3", go_1="q3")
    assert r.status_code == 302
    page = html(client.get(r.headers["Location"]))
    assert "このままでは公開できません（1件）" in page
    assert "Q2: どの回答からもこの質問に進めません。移動の設定を見直してください。" in page
    r = client.post(f"/admin/surveys/{sid}/open")
    assert r.status_code == 422 and "直すところがあるため、公開できません。" in html(r)
    assert "Q2: どの回答からもこの質問に進めません。" in html(r)
    with admin_env.db() as db:
        assert db.get(Survey, sid).status == DRAFT
    assert publication(admin_env, f"survey:{sid}:invite") is None
    # Moving Q3 to the top makes Q1's rule point backwards: shown as a problem of the draft.
    q3 = qid(admin_env, sid, "q3")
    for _ in range(2):
        assert client.post(f"/admin/surveys/{sid}/questions/{q3}/move", {"direction": "up"}).status_code == 302
    assert [q.key for q in questions(admin_env, sid)] == ["q3", "q1", "q2"]
    page = html(client.get(f"/admin/surveys/{sid}"))
    assert "Q2: 移動先は後ろの質問か「終了」にしてください" in page
    r = client.post(f"/admin/surveys/{sid}/questions/{q3}/move", {"direction": "up"})
    assert r.status_code == 422 and "これ以上は動かせません。" in html(r)


def test_open_close_back_to_draft_and_delete(admin_env):
    client = admin_env.signed_in("survey")
    sid = make_survey(admin_env)
    add_question(client, sid)
    r = client.post(f"/admin/surveys/{sid}/open")
    assert r.status_code == 302
    assert "公開しました。受付開始（11/26 09:00）からLINEの「アンケート」に表示されます。" in html(client.get(r.headers["Location"]))
    with admin_env.db() as db:
        s = db.get(Survey, sid)
        assert s.status == OPEN and s.opened_at is not None and s.invite_publication_id is not None
    pub = publication(admin_env, f"survey:{sid}:invite")
    assert pub.topic == "surveys" and pub.status == "scheduled"
    assert pub.not_before.replace(tzinfo=timezone.utc) == datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)
    assert client.post(f"/admin/surveys/{sid}/open").status_code == 409  # already open
    assert count(admin_env, select(Publication).where(Publication.ref.like(f"survey:{sid}:invite%"))) == 1
    # A new title (or time, or target) before the invitation goes: the queued one is replaced.
    url = f"/admin/surveys/{sid}/edit"
    r = client.post(url, survey_form(title="居場所アンケート（改）"), token_from=url)
    assert r.status_code == 302
    assert "まだ送っていない回答のお願いも、新しい内容にしました。" in html(client.get(r.headers["Location"]))
    assert publication(admin_env, f"survey:{sid}:invite").status == "cancelled"
    pub = publication(admin_env, f"survey:{sid}:invite:2")
    assert pub.status == "scheduled" and "居場所アンケート（改）" in str(pub.messages)
    with admin_env.db() as db:
        assert db.get(Survey, sid).invite_publication_id == pub.id
    r = client.post(url, survey_form(title="居場所アンケート（改）", allow_edit="y"), token_from=url)
    assert r.status_code == 302  # nothing the invitation shows: left as it is
    assert count(admin_env, select(Publication).where(Publication.ref.like(f"survey:{sid}:invite%"))) == 2
    # 締め切る cancels the invitation not yet sent.
    assert client.post(f"/admin/surveys/{sid}/close").status_code == 302
    with admin_env.db() as db:
        assert db.get(Survey, sid).status == CLOSED
    assert publication(admin_env, f"survey:{sid}:invite:2").status == "cancelled"
    assert client.post(f"/admin/surveys/{sid}/close").status_code == 409
    assert client.post(f"/admin/surveys/{sid}/draft").status_code == 302
    with admin_env.db() as db:
        assert db.get(Survey, sid).status == DRAFT
    assert client.post(f"/admin/surveys/{sid}/draft").status_code == 409
    # A window already over cannot be opened.
    admin_env.clock.set(datetime(2026, 12, 11, 1, 0, tzinfo=timezone.utc))
    client = admin_env.signed_in("survey")
    r = client.post(f"/admin/surveys/{sid}/open")
    assert r.status_code == 422 and "締切が過ぎているため、公開できません。" in html(r)
    assert client.post(f"/admin/surveys/{sid}/delete").status_code == 302
    assert count(admin_env, Survey) == 0 and count(admin_env, SurveyQuestion) == 0
    assert [e.action for e in admin_env.audit() if e.action.startswith("survey.") and "question" not in e.action] == \
        ["survey.create", "survey.open", "survey.update", "survey.update", "survey.close", "survey.draft",
         "survey.delete"]


def test_with_a_response_breaking_edits_are_refused_with_the_reason(admin_env):
    with admin_env.db() as db:
        s = build_survey(db, T0, team_id=admin_env.ids["team"])
        sid = s.id
        add_response(db, s, {"q1": 1, "q4": 30, "q5": "よい", "q6": "2026-12-01", "q7": "kozu"}, T0, line_user_id="U1")
        db.commit()
    client = admin_env.signed_in("survey")
    q1, q4 = qid(admin_env, sid, "q1"), qid(admin_env, sid, "q4")
    before = [(q.key, q.options, q.branches, q.required, q.text) for q in questions(admin_env, sid)]

    r = edit_question(client, sid, q1, options="はい")  # fewer options: also a form error (two needed)
    assert r.status_code == 422
    r = edit_question(client, sid, q1, options="はい\nいいえ", branch_kind="single")  # the skip rule dropped
    assert r.status_code == 409
    assert "回答がある調査では、回答による移動の設定は変えられません。" in html(r) and "何も保存していません" in html(r)
    r = edit_question(client, sid, q1, kind="multi", options="はい\nいいえ")
    assert r.status_code == 409 and "回答がある質問の種類は変えられません。" in html(r)
    r = edit_question(client, sid, q4, kind="number", options="", min_value="18", max_value="120", required=None)
    assert r.status_code == 409 and "回答がある質問の、数の範囲を狭めることはできません。" in html(r)
    r = client.post(f"/admin/surveys/{sid}/questions/{q4}/delete")
    assert r.status_code == 409 and "回答がある質問は削除できません。" in html(r)
    r = add_question(client, sid, text="必須の新しい質問")
    assert r.status_code == 409 and "回答がある調査に足せるのは、回答が任意の質問だけです。" in html(r)
    r = client.post(f"/admin/surveys/{sid}/questions/{qid(admin_env, sid, 'q2')}/move", {"direction": "down"})
    assert r.status_code == 409 and "回答のあとで質問の順番は変えられません。" in html(r)
    assert [(q.key, q.options, q.branches, q.required, q.text) for q in questions(admin_env, sid)] == before
    assert client.post(f"/admin/surveys/{sid}/draft").status_code == 409
    assert client.post(f"/admin/surveys/{sid}/delete").status_code == 409
    # Allowed: rewording, an option added at the end (the rule kept), an optional question.
    r = edit_question(client, sid, q1, text="取り組みをご存じですか。", options="はい\nいいえ\nわからない",
                      branch_kind="single", go_1="q4")
    assert r.status_code == 302, errors_of(r)
    assert add_question(client, sid, text="任意の質問", required=None).status_code == 302
    after = questions(admin_env, sid)
    assert after[0].text == "取り組みをご存じですか。" and after[0].options[-1] == "わからない"
    assert after[0].branches == {"1": "q4"} and after[-1].key == "q8"
    # Settings: 無記名/記名, the target and the start are fixed; the title and a later close may change.
    url = f"/admin/surveys/{sid}/edit"
    page = html(client.get(url))
    assert "すでに回答があるため" in page
    fixed = survey_form(opens_at="2026-11-25T09:00", closes_at="2026-12-02T09:00", remind_at="")
    r = client.post(url, {**fixed, "privacy": "named"}, token_from=url)
    assert r.status_code == 409 and "回答があるため、無記名・記名は変えられません" in html(r)
    r = client.post(url, {**fixed, "target": "chosen", "districts": "kozu"}, token_from=url)
    assert r.status_code == 409 and "回答をお願いする相手は変えられません" in html(r)
    r = client.post(url, {**fixed, "closes_at": "2026-11-30T09:00"}, token_from=url)
    assert r.status_code == 409 and "締切は後ろにのばすことだけできます" in html(r)
    r = client.post(url, {**fixed, "title": "新しいタイトル", "closes_at": "2026-12-20T09:00"}, token_from=url)
    assert r.status_code == 302, errors_of(r)
    with admin_env.db() as db:
        s = db.get(Survey, sid)
        assert s.title == "新しいタイトル" and s.anonymous is True
        assert s.closes_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 20, 0, 0, tzinfo=timezone.utc)


def test_an_open_survey_without_answers_is_never_left_unanswerable(admin_env):
    with admin_env.db() as db:
        sid = build_survey(db, T0, team_id=admin_env.ids["team"]).id
        db.commit()
    client = admin_env.signed_in("survey")
    r = edit_question(client, sid, qid(admin_env, sid, "q1"), branch_kind="single", go_0="q3", go_1="q3")
    assert r.status_code == 409 and "公開中のアンケートを、答えられない形にはできません。" in html(r)
    assert "Q2: どの回答からもこの質問に進めません。" in html(r)
    assert questions(admin_env, sid)[0].branches == {"1": "q4"}


def test_preview_shows_each_question_as_line_does(admin_env):
    with admin_env.db() as db:
        sid = build_survey(db, T0, team_id=admin_env.ids["team"], status=DRAFT).id
        db.commit()
    r = admin_env.signed_in("survey").get(f"/admin/surveys/{sid}/preview")
    assert r.status_code == 200
    page = html(r)
    for key, text in (("q1", "市の協働の取り組みを知っていますか。"), ("q2", "どこで知りましたか（2つまで）。"),
                      ("q3", "取り組みに満足していますか。"), ("q4", "年齢を教えてください。"),
                      ("q5", "ご意見があればどうぞ。"), ("q6", "参加しやすい日はいつですか。"),
                      ("q7", "お住まいの地区を選んでください。")):
        section = re.search(rf'<section class="preview-question compose" id="preview-{key}".*?</section>', page, re.S)
        phone = re.search(r'<div class="phone-chat">(.*?)</figure>', section[0], re.S)[1]
        assert text in phone and "/7" in phone, key  # the question and its progress, e.g. 1/7, as LINE shows them
    q1 = re.search(r'id="preview-q1".*?</section>', page, re.S)[0]
    assert re.findall(r'class="link-button quick-reply">([^<]*)<', q1)[:2] == ["はい", "いいえ"]
    assert "「いいえ」→ Q4" in q1
    assert 'id="preview-fallback"' not in page  # drawn by handlers.surveys_flex
    assert 'id="preview-confirm"' in page and "送信" in page


def test_dashboard_counts_the_teams_own(admin_env):
    with admin_env.db() as db:
        mine = build_survey(db, T0, team_id=admin_env.ids["team"])
        theirs = build_survey(db, T0, team_id=team(db, "調査チームB").id)
        build_survey(db, T0, team_id=admin_env.ids["team"], status=DRAFT)
        for i in range(3):
            add_response(db, mine, {"q1": 0}, T0, line_user_id=f"U{i}")
        add_response(db, theirs, {"q1": 0}, T0, line_user_id="U9")
        db.commit()

    def card(page: str, label: str) -> str:
        m = re.search(rf"<header>{label}</header>\s*<p class=\"figure\">\s*(.*?)\s*</p>", page, re.S)
        return re.sub(r"<[^>]+>", "", m[1]).strip() if m else None

    page = html(admin_env.signed_in("survey").get("/admin/"))
    assert card(page, "回答受付中のアンケート") == "1" and card(page, "アンケート回答数") == "3"
    page = html(admin_env.signed_in("staff").get("/admin/"))
    assert card(page, "回答受付中のアンケート") == "2" and card(page, "アンケート回答数") == "4"
    page = html(admin_env.signed_in("orga").get("/admin/"))
    assert card(page, "アンケート回答数") is None and "/admin/surveys" not in page


# --- who may ------------------------------------------------------------------------------------------------------

def survey_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.survey") and "item_id" in rule.rule:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule.rule


def _url(rule: str, item_id: int, qid_: int) -> str:
    rule = re.sub(r"<(int:)?item_id>", str(item_id), rule)
    rule = re.sub(r"<(int:)?qid>", str(qid_), rule)
    rule = re.sub(r"<int:[a-z_]+>", "1", rule)
    return re.sub(r"<(string:)?[a-z_]+>", "q1", rule)


def test_another_team_is_refused_on_every_survey_route(admin_env):
    with admin_env.db() as db:
        theirs = build_survey(db, T0, team_id=team(db, "調査チームB").id, status=DRAFT)
        add_response(db, theirs, {"q1": 0}, T0, line_user_id="U1")
        db.commit()
        theirs_id, their_q = theirs.id, theirs.questions[0].id
    client = admin_env.signed_in("survey")
    token = client.token("/admin/")
    denied = len(admin_env.audit("access.denied"))
    routes = list(survey_routes(admin_env.app))
    endpoints = {e for e, _, _ in routes}
    assert {"admin.survey", "admin.survey_edit", "admin.survey_question_new", "admin.survey_question_edit",
            "admin.survey_question_delete", "admin.survey_question_move", "admin.survey_preview", "admin.survey_open",
            "admin.survey_close", "admin.survey_draft", "admin.survey_delete"} <= endpoints
    data = {**survey_form(title="乗っ取り"), **question_form(text="乗っ取り"), "direction": "up", "csrf_token": token}
    for endpoint, method, rule in routes:
        r = client.c.open(_url(rule, theirs_id, their_q), method=method, data=data)
        assert r.status_code == 403, (endpoint, method, r.status_code)
    assert len(admin_env.audit("access.denied")) == denied + len(routes)
    with admin_env.db() as db:
        s = db.get(Survey, theirs_id)
        assert (s.title, s.status, len(s.questions)) == ("協働についてのアンケート", DRAFT, 7)
        assert s.questions[0].text == "市の協働の取り組みを知っていますか。"
    assert admin_env.signed_in("staff").get(f"/admin/surveys/{theirs_id}").status_code == 200
    assert client.get("/admin/surveys/999999").status_code == 404


def test_a_question_of_another_survey_is_not_found(admin_env):
    with admin_env.db() as db:
        mine = build_survey(db, T0, team_id=admin_env.ids["team"], status=DRAFT)
        other = build_survey(db, T0, team_id=admin_env.ids["team"], status=DRAFT, title="二つ目")
        db.commit()
        mine_id, other_q = mine.id, other.questions[0].id
    client = admin_env.signed_in("survey")
    url = f"/admin/surveys/{mine_id}/questions/{other_q}"
    assert client.get(f"{url}/edit").status_code == 404
    r = client.post(f"{url}/edit", question_form(text="乗っ取り"), token_from=f"/admin/surveys/{mine_id}")
    assert r.status_code == 404
    assert client.post(f"{url}/delete").status_code == 404
    assert client.post(f"{url}/move", {"direction": "down"}).status_code == 404
    assert client.get(f"/admin/surveys/{mine_id}/questions/{2**31}/edit").status_code == 404
    with admin_env.db() as db:
        assert db.get(SurveyQuestion, other_q).text == "市の協働の取り組みを知っていますか。"
        assert len(db.get(Survey, mine_id).questions) == 7
