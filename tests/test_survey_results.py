"""アンケートの集計 (bot/survey_results.py, /admin/surveys/<id>/results) on both databases: counts and percentages
per question from submitted responses only (skips and 対象外 outside the base), number statistics and bins,
dates, 地区, free text newest first and paged; the small-cell protection, including a number that could be
worked out from a total (a row 7, 3, total 10: both hidden); cross-tabs by 地区 and by another question;
response rate over time and by 地区; and another team's survey refused (403) on every results route."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import survey_results as results
from bot.admin.listing_forms import districts_from_yaml
from bot.survey_logic import respondent_key
from models.subscriptions import SubscribedDistrict
from models.surveys import IN_PROGRESS, Survey, SurveyResponse
from models.users import User
from tests.admin_support import T0
from tests.surveys_support import add_response, build_survey, team

NAMES = {d.key: d.name for d in districts_from_yaml("odawara")}


def yes(q2, q3, q4, q5, q6, q7) -> dict:
    return {"q1": 0, "q2": q2, "q3": q3, "q4": q4, "q5": q5, "q6": q6, "q7": q7}


def no(q4, q5, q6, q7) -> dict:  # いいえ skips q2 and q3
    return {"q1": 1, "q4": q4, "q5": q5, "q6": q6, "q7": q7}


ANSWERS = [
    yes([0, 1], 5, 34, "とても良い取り組みです", "2026-12-05", "midori"),
    yes([1], 4, 41, None, "2026-12-05", "midori"),
    yes([0], 4, 29, "=HYPERLINK(\"http://x\")", "2026-12-06", "aratama"),
    yes([1, 3], 2, 65, None, "2026-12-06", "midori"),
    yes([1], 5, None, None, "2026-12-05", "mannen"),
    no(18, "特になし", "2026-12-07", "midori"),
    no(None, None, "2026-12-05", "aratama"),
]


def make(env, answers=ANSWERS, *, team_id=None, districts=None, **kw) -> int:
    """A survey of the seeded team (unless `team_id`) with submitted responses; its id."""
    with env.db() as db:
        s = build_survey(db, T0, team_id=team_id or env.ids["team"], **kw)
        for i, a in enumerate(answers):
            add_response(db, s, a, T0, line_user_id=f"U{s.id:08x}{i:024x}",
                         district=(districts or [None] * len(answers))[i])
        db.commit()
        return s.id


def summary(env, sid):
    with env.db() as db:
        return results.summarize(db, db.get(Survey, sid), district_names=NAMES)


def lines(r) -> list[tuple[str, int, float | None]]:
    return [(ln.label, ln.count, ln.percent) for ln in r.lines]


# --- counts -------------------------------------------------------------------------------------------------------

def test_counts_and_percentages_per_question(admin_env):
    sid = make(admin_env)
    with admin_env.db() as db:  # an unfinished response: its working answers are never counted
        s = db.get(Survey, sid)
        db.add(SurveyResponse(survey_id=sid, respondent=respondent_key(sid, "Uunfinished"), status=IN_PROGRESS,
                              current="q2", path=["q1"], pending={"q1": 1}, answers={"q1": 1}, started_at=T0,
                              updated_at=T0))
        db.commit()
    out = summary(admin_env, sid)
    assert out.total == 7
    q1, q2, q3, q4, q5, q6, q7 = out.questions
    assert lines(q1) == [("はい", 5, 71.4), ("いいえ", 2, 28.6)] and q1.base == 7
    # Multiple choice: the share of those who answered the question (80% + 40% + 20% > 100%).
    assert (q2.base, q2.not_asked, q2.skipped) == (5, 2, 0)
    assert lines(q2) == [("広報紙", 2, 40.0), ("LINE", 4, 80.0), ("回覧板", 0, 0.0), ("ホームページ", 1, 20.0)]
    assert lines(q3) == [("1（不満）", 0, 0.0), ("2", 1, 20.0), ("3", 0, 0.0), ("4", 2, 40.0), ("5（満足）", 2, 40.0)]
    assert q3.stats["mean"] == 4.0
    # Number: skipped (None) is 無回答, outside the base; bins of 10.
    assert (q4.base, q4.skipped, q4.not_asked) == (5, 2, 0)
    assert q4.stats == {"n": 5, "mean": 37.4, "median": 34.0, "min": 18, "max": 65}
    assert lines(q4) == [("10〜19歳", 1, 20.0), ("20〜29歳", 1, 20.0), ("30〜39歳", 1, 20.0), ("40〜49歳", 1, 20.0),
                         ("50〜59歳", 0, 0.0), ("60〜69歳", 1, 20.0)]
    assert (q5.base, q5.skipped, q5.lines, q5.chart) == (3, 4, [], None)  # free text: listed, never charted
    assert lines(q6) == [("2026年12月5日", 4, 57.1), ("2026年12月6日", 2, 28.6), ("2026年12月7日", 1, 14.3)]
    assert lines(q7) == [("緑", 4, 57.1), ("新玉", 2, 28.6), ("万年", 1, 14.3)]  # the city's order
    assert [b.value for b in q1.chart.bars] == [5, 2] and q1.chart.bars[0].width > q1.chart.bars[1].width


def test_number_median_of_an_even_count_and_dates_by_month(admin_env):
    answers = [no(v, None, f"2026-{m:02d}-{d:02d}", "midori")
               for v, (m, d) in zip([10, 20, 30, 40] * 4, [(12, i + 1) for i in range(8)] + [(1, i + 1) for i in range(8)])]
    out = summary(admin_env, make(admin_env, answers))
    q4, q6 = out.questions[3], out.questions[5]
    assert q4.stats["median"] == 25.0
    # 16 different days: counted by month instead.
    assert lines(q6) == [("2026年1月", 8, 50.0), ("2026年12月", 8, 50.0)]


def test_free_text_newest_first_and_paged(admin_env):
    with admin_env.db() as db:
        s = build_survey(db, T0, team_id=admin_env.ids["team"], anonymous=False)
        for i in range(5):
            add_response(db, s, no(None, f"意見{i}", "2026-12-05", "midori"), T0 + timedelta(minutes=i),
                         line_user_id=f"Utext{i}", user_id=None)
        add_response(db, s, no(None, None, "2026-12-05", "midori"), T0, line_user_id="Unone")
        db.commit()
        q5 = next(q for q in s.questions if q.key == "q5")
        page1, total = results.texts(db, s, q5, page=1, per_page=2)
        page3, _ = results.texts(db, s, q5, page=3, per_page=2)
    assert total == 5
    assert [t.text for t in page1] == ["意見4", "意見3"] and [t.text for t in page3] == ["意見0"]


# --- small cells --------------------------------------------------------------------------------------------------

def hidden(t: results.Table) -> dict:
    return {"cells": [[c.hidden for c in row] for row in t.cells], "rows": [c.hidden for c in t.row_totals],
            "cols": [c.hidden for c in t.col_totals], "grand": t.grand.hidden}


def test_a_number_worked_out_from_its_total_is_hidden_too():
    # One row 7, 3, total 10: 3 is under 5, and 10 - 7 would give it away, so 7 goes too.
    t = results.protected_table(["緑"], ["はい", "いいえ"], [[7, 3]], [10], [7, 3], 10, 5)
    assert hidden(t)["cells"] == [[True, True]]
    assert [c.shown(5) for c in t.cells[0]] == ["<5", "<5"]
    assert t.row_percent(0, 0) is None  # a percent would give it away as well
    # Two rows: every line that would have exactly one hidden number gets a second one.
    t = results.protected_table(["緑", "新玉"], ["はい", "いいえ"], [[7, 3], [8, 6]], [10, 14], [15, 9], 24, 5)
    assert hidden(t) == {"cells": [[True, True], [True, True]], "rows": [False, False], "cols": [False, False],
                         "grand": False}
    # No line left with exactly one hidden entry (rows, columns, the totals row, the row totals).
    assert t.row_totals[0].shown(5) == "10" and t.col_totals[1].shown(5) == "9"


def test_small_cells_primary_rule_zero_and_totals():
    t = results.protected_table(["緑", "新玉"], ["はい", "いいえ"], [[12, 0], [9, 6]], [12, 15], [21, 6], 27, 5)
    assert not t.any_hidden and t.row_percent(1, 1) == 40.0  # zero is not a small group
    t = results.protected_table(["緑", "新玉"], ["はい", "いいえ"], [[2, 2], [9, 6]], [4, 15], [11, 8], 19, 5)
    h = hidden(t)
    assert h["cells"][0] == [True, True] and h["rows"][0]  # a total under 5 is hidden as well
    # Column はい: 2 hidden, 9 shown, total 11 → 9 goes; then 新玉's row has 9 hidden alone → 6 goes.
    assert h["cells"][1] == [True, True] and h["rows"] == [True, True]
    # Totals row 11, 8, 19 stays; the row totals 4 and 15: both hidden, the grand total stays.
    assert h["cols"] == [False, False] and not h["grand"]
    # A higher threshold (a per-call argument) hides more.
    t = results.protected_table(["緑"], ["はい", "いいえ"], [[12, 8]], [20], [12, 8], 20, 10)
    assert hidden(t)["cells"] == [[True, True]]


def test_crosstab_by_district_protects_the_worked_out_cell(admin_env):
    answers = [yes([0], 3, 30, None, "2026-12-05", "midori")] * 7 + [no(30, None, "2026-12-05", "midori")] * 3 \
        + [yes([1], 3, 30, None, "2026-12-05", "aratama")] * 8 + [no(30, None, "2026-12-05", "aratama")] * 6 \
        + [yes([1], 3, 30, None, "2026-12-05", "midori")]
    districts = ["midori"] * 10 + ["aratama"] * 14 + [None]
    sid = make(admin_env, answers, districts=districts)
    with admin_env.db() as db:
        ct = results.crosstab(db, db.get(Survey, sid), "district", "q1", district_names=NAMES, threshold=5)
    t = ct.table
    assert t.row_labels == ["緑", "新玉", "未設定"]
    assert [[c.n for c in row] for row in t.cells] == [[7, 3], [8, 6], [1, 0]]
    assert [[c.shown(5) for c in row] for row in t.cells[:2]] == [["<5", "<5"], ["<5", "<5"]]
    # The page shows the same.
    html = admin_env.signed_in("survey").get(f"/admin/surveys/{sid}/results?row=district&col=q1").get_data(as_text=True)
    table = html.split('id="crosstab"', 1)[1].split("</table>", 1)[0]
    shown = re.findall(r'<td class="cell[^"]*">([^<]*)', table)
    assert shown[:4] == ["&lt;5"] * 4 and "7" not in shown and "3" not in shown
    # 未設定's one response hides its row total, and then 緑's total goes too (the row totals add up to 25).
    totals = re.findall(r'<td class="total[^"]*"><strong>([^<]*)', table)
    assert totals == ["&lt;5", "14", "&lt;5", "16", "9", "25"]


def test_crosstab_by_another_question_with_multiple_choice_columns(admin_env):
    sid = make(admin_env)
    with admin_env.db() as db:
        ct = results.crosstab(db, db.get(Survey, sid), "q7", "q2", district_names=NAMES, threshold=1)
        refused = [results.crosstab(db, db.get(Survey, sid), r, c, district_names=NAMES, threshold=5)
                   for r, c in (("q2", "q1"), ("q1", "q1"), ("q1", "q5"), ("nope", "q1"))]
    t = ct.table
    assert ct.multi and t.row_labels == ["緑", "新玉", "万年"] and ct.excluded == 2  # いいえ: q2 not asked
    # 緑: answers 1, 2, 4 → 広報紙 1, LINE 3, ホームページ 1; the row total counts people (3), not ticks.
    assert [c.n for c in t.cells[0]] == [1, 3, 0, 1] and t.row_totals[0].n == 3
    assert [c.n for c in t.cells[1]] == [1, 0, 0, 0] and [c.n for c in t.cells[2]] == [0, 1, 0, 0]
    assert [c.n for c in t.col_totals] == [2, 4, 0, 1] and t.grand.n == 5
    assert refused == [None, None, None, None]


# --- response rate ----------------------------------------------------------------------------------------------------

def residents(env, districts: list[list[str]]) -> None:
    with env.db() as db:
        for i, ds in enumerate(districts):
            u = User(line_user_id=f"Ures{i:029x}", active=True, created_at=T0, followed_at=T0)
            db.add(u)
            db.flush()
            db.add_all(SubscribedDistrict(user_id=u.id, district=d) for d in ds)
        db.commit()


def test_response_rate_over_time_and_by_district(admin_env):
    residents(admin_env, [["midori"]] * 8 + [["aratama"]] * 3 + [["midori", "aratama"]])
    with admin_env.db() as db:
        s = build_survey(db, T0, team_id=admin_env.ids["team"])
        for i, d in enumerate(["midori"] * 6 + ["aratama"]):
            add_response(db, s, no(30, None, "2026-12-05", "midori"), T0 + timedelta(days=i // 4),
                         line_user_id=f"Urate{i}", district=d)
        db.commit()
        rate = results.rate(db, s, T0 + timedelta(days=2), district_names=NAMES, threshold=5)
    assert (rate.submitted, rate.invited, rate.invited_source, rate.percent) == (7, 12, "segment", 58.3)
    assert [(d.day.day, d.count, d.cumulative) for d in rate.days] == [(25, 4, 4), (26, 3, 7), (27, 0, 7)]
    t = rate.by_district
    assert t.row_labels == ["緑", "新玉", "未設定"]
    assert [[c.n for c in row] for row in t.cells] == [[6, 2], [1, 2], [0, 1]]
    # 緑's 2 not answered is under 5, and 8 - 2 would give away 6: both hidden, no rate shown.
    assert [c.shown(5) for c in t.cells[0]] == ["<5", "<5"] and t.row_percent(0, 0) is None
    assert t.row_totals[0].shown(5) == "8" and t.grand.shown(5) == "12"


# --- the pages --------------------------------------------------------------------------------------------------------

def test_results_page_shows_counts_charts_and_texts(admin_env):
    sid = make(admin_env)
    c = admin_env.signed_in("survey")
    r = c.get(f"/admin/surveys/{sid}/results")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "協働についてのアンケート" in html and 'id="submitted-count">7<' in html
    assert "71.4%" in html and "80.0%" in html and "平均 <strong>4.0</strong>" in html
    assert html.count("<svg") >= 6 and ' style="' not in html  # drawn on the server; the CSP forbids inline style
    assert "とても良い取り組みです" in html  # the latest free text
    texts = c.get(f"/admin/surveys/{sid}/results/texts/q5")
    body = texts.get_data(as_text=True)
    assert texts.status_code == 200 and 'id="text-count">3件' in body and "=HYPERLINK" in body
    assert c.get(f"/admin/surveys/{sid}/results/texts/q1").status_code == 404
    assert c.get(f"/admin/surveys/{sid}/results/texts/q99").status_code == 404
    bad = c.get(f"/admin/surveys/{sid}/results?row=q1&col=q5")
    assert bad.status_code == 400 and 'id="cross-error"' in bad.get_data(as_text=True)
    assert admin_env.signed_in("staff").get(f"/admin/surveys/{sid}/results").status_code == 200


def results_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.survey_results"):
            yield rule.endpoint, rule.rule


def test_another_team_is_refused_on_every_results_route(admin_env):
    with admin_env.db() as db:
        other = team(db, "調査チームB").id
        db.commit()
    theirs = make(admin_env, team_id=other)
    routes = list(results_routes(admin_env.app))
    assert {e for e, _ in routes} == {"admin.survey_results", "admin.survey_results_csv",
                                      "admin.survey_results_tables_csv", "admin.survey_results_texts"}
    c = admin_env.signed_in("survey")
    denied = len(admin_env.audit("access.denied"))
    for endpoint, rule in routes:
        url = re.sub(r"<(int:)?item_id>", str(theirs), rule).replace("<key>", "q5")
        r = c.get(url)
        assert r.status_code == 403, (endpoint, r.status_code)
        assert "意見" not in r.get_data(as_text=True)
        assert admin_env.signed_in("staff").get(url).status_code == 200, endpoint
    assert len(admin_env.audit("access.denied")) == denied + len(routes)
    # An organisation account has no survey permission at all.
    assert admin_env.signed_in("orga").get(f"/admin/surveys/{theirs}/results").status_code == 403
    with admin_env.db() as db:
        assert db.scalar(select(Survey.title).where(Survey.id == theirs)) == "協働についてのアンケート"


def test_invited_number_is_the_invitations_reach_once_sent(admin_env):
    from models.publications import Publication

    residents(admin_env, [["midori"]] * 3)
    sid = make(admin_env, ANSWERS[:2])
    with admin_env.db() as db:
        s = db.get(Survey, sid)
        assert results.invited_count(db, s) == (3, "segment")  # not sent yet: those in the target now
        pub = Publication(purpose="survey", ref=f"survey:{sid}:invite", messages=[], segment={}, frequencies=["now"],
                          not_before=T0, status="done", created_at=T0, summary={"reached": 40})
        db.add(pub)
        db.flush()
        s.invite_publication_id = pub.id
        db.commit()
        assert results.invited_count(db, s) == (40, "invitation")
    html = admin_env.signed_in("survey").get(f"/admin/surveys/{sid}/results").get_data(as_text=True)
    assert "案内が届いた人" in html and 'id="invited-count">40<' in html and 'id="response-rate">5.0%<' in html


def test_a_survey_without_responses_and_the_way_back(admin_env):
    with admin_env.db() as db:
        s = build_survey(db, T0, team_id=admin_env.ids["team"], status="draft")
        db.commit()
        sid = s.id
    r = admin_env.signed_in("survey").get(f"/admin/surveys/{sid}/results?row=district&col=q1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="submitted-count">0<' in html and "まだ送信された回答はありません" in html
    assert "この組み合わせで集計できる回答はまだありません" in html
    assert f'href="/admin/surveys/{sid}"' in html  # back to the survey's own page


def test_threshold_from_the_environment():
    import pytest as _pytest

    from bot.config import ConfigError, from_env

    assert results.min_cell(from_env({})) == 5
    assert results.min_cell(from_env({"KYODO_SURVEY_MIN_CELL": "10"})) == 10
    assert results.min_cell(from_env({"KYODO_SURVEY_MIN_CELL": "0"})) == 1  # never below 1
    with _pytest.raises(ConfigError):
        from_env({"KYODO_SURVEY_MIN_CELL": "abc"})  # a typo stops the process with its name, never a silent 5