"""アンケートのCSV (bot/survey_export.py, /admin/surveys/<id>/results.csv and results/tables.csv) over HTTP on both
databases, read back the way Excel would: UTF-8 with BOM and CRLF, the Japanese filename, Japanese headers intact,
one row per submitted response with a multiple-choice question as one 1/0 column per option (empty when not
asked), anonymous times to the hour and no respondent column, named surveys with the resident's number and never
a LINE id, every cell guarded against formulas, rows read in chunks; and the aggregated tables."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import unquote

from bot import survey_results as results
from bot.survey_export import guard
from models.surveys import SINGLE
from models.users import User
from tests.admin_support import T0
from tests.surveys_support import QUESTIONS, add_response, build_survey
from tests.test_survey_results import make, no

Q2 = "Q2 どこで知りましたか（2つまで）。"
HEADER = ["回答番号", "回答日時", "地区（設定）", "Q1 市の協働の取り組みを知っていますか。", f"{Q2}：広報紙", f"{Q2}：LINE",
          f"{Q2}：回覧板", f"{Q2}：ホームページ", "Q3 取り組みに満足していますか。", "Q4 年齢を教えてください。",
          "Q5 ご意見があればどうぞ。", "Q6 参加しやすい日はいつですか。", "Q7 お住まいの地区を選んでください。"]


def download(env, path: str, who: str = "survey"):
    r = env.signed_in(who).get(path)
    assert r.status_code == 200, r.status_code
    return r


def read(r) -> list[list[str]]:
    data = r.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_responses_csv_opens_in_excel_with_japanese_headers(admin_env):
    sid = make(admin_env, districts=["midori", "aratama", None, "midori", None, "kozu", None])
    r = download(admin_env, f"/admin/surveys/{sid}/results.csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == f"アンケート回答_{sid}_20261125.csv"
    rows = read(r)
    assert rows[0] == HEADER  # anonymous: no 回答者番号
    body = rows[1:]
    assert len(body) == 7 and all(len(row) == len(HEADER) for row in body)
    first = dict(zip(HEADER, body[0]))
    assert first["回答日時"] == "2026/11/25 10:00" and first["地区（設定）"] == "緑"
    assert first["Q1 市の協働の取り組みを知っていますか。"] == "はい"
    assert [first[f"{Q2}：{o}"] for o in ("広報紙", "LINE", "回覧板", "ホームページ")] == ["1", "1", "0", "0"]
    assert first["Q3 取り組みに満足していますか。"] == "5" and first["Q4 年齢を教えてください。"] == "34"
    assert first["Q5 ご意見があればどうぞ。"] == "とても良い取り組みです"
    assert first["Q6 参加しやすい日はいつですか。"] == "2026-12-05" and first["Q7 お住まいの地区を選んでください。"] == "緑"
    # A resident's text that starts like a formula stays text.
    assert dict(zip(HEADER, body[2]))["Q5 ご意見があればどうぞ。"] == "'=HYPERLINK(\"http://x\")"
    # いいえ skipped Q2 and Q3: empty, not 0; an optional question left unanswered: empty.
    sixth = dict(zip(HEADER, body[5]))
    assert [sixth[f"{Q2}：{o}"] for o in ("広報紙", "LINE", "回覧板", "ホームページ")] == ["", "", "", ""]
    assert sixth["Q3 取り組みに満足していますか。"] == "" and dict(zip(HEADER, body[6]))["Q4 年齢を教えてください。"] == ""
    assert sixth["地区（設定）"] == "国府津"
    entries = admin_env.audit("survey.export")
    assert len(entries) == 1 and "7件" in entries[0].summary


def test_named_survey_has_the_residents_number_never_a_line_id(admin_env):
    with admin_env.db() as db:
        users = [User(line_user_id=f"U{'ab' * 15}{i:02d}", active=True, created_at=T0, followed_at=T0) for i in range(2)]
        db.add_all(users)
        db.flush()
        s = build_survey(db, T0, team_id=admin_env.ids["team"], anonymous=False)
        for i, u in enumerate(users):
            add_response(db, s, no(30 + i, None, "2026-12-05", "midori"), T0 + timedelta(minutes=7),
                         line_user_id=u.line_user_id, user_id=u.id, district="midori")
        db.commit()
        sid, ids, line_ids = s.id, [u.id for u in users], [u.line_user_id for u in users]
    r = download(admin_env, f"/admin/surveys/{sid}/results.csv", who="staff")
    rows = read(r)
    assert rows[0][:4] == ["回答番号", "回答者番号", "回答日時", "地区（設定）"]
    assert [row[1] for row in rows[1:]] == [str(i) for i in ids]
    assert [row[2] for row in rows[1:]] == ["2026/11/25 10:07"] * 2  # named: to the minute
    text = r.get_data(as_text=True)
    assert not any(lid in text for lid in line_ids)


def test_every_cell_is_guarded_against_formulas(admin_env):
    for raw in ("=1+2", "+81-90", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert guard(raw) == "'" + raw
    assert guard("ふつうの意見") == "ふつうの意見" and guard(None) == "" and guard("a=b") == "a=b"
    # Labels the team typed are guarded too (an option, the question text in the header); a negative number
    # answered to a number question stays a number.
    questions = [dict(key="q1", kind=SINGLE, text="=危ない質問", options=["=A", "B"]),
                 dict(QUESTIONS[3], key="q2", min_value=-10)]
    with admin_env.db() as db:
        s = build_survey(db, T0, team_id=admin_env.ids["team"], questions=questions)
        add_response(db, s, {"q1": 0, "q2": -5}, T0, line_user_id="Uneg")
        db.commit()
        sid = s.id
    rows = read(download(admin_env, f"/admin/surveys/{sid}/results.csv"))
    assert rows[0][3] == "Q1 =危ない質問"  # starts with Q: nothing to guard
    assert rows[1][3:] == ["'=A", "-5"]
    tables = read(download(admin_env, f"/admin/surveys/{sid}/results/tables.csv"))
    assert ["Q1 =危ない質問", "'=A", "1", "100.0", "1"] in tables


def test_rows_are_read_in_chunks_in_response_order(admin_env, monkeypatch):
    monkeypatch.setattr(results, "CHUNK", 2)
    answers = [no(20 + i, None, "2026-12-05", "midori") for i in range(5)]
    sid = make(admin_env, answers)
    seen = []
    real = results.stream

    def counting(db, survey_id, *columns, chunk=None):
        for row in real(db, survey_id, *columns, chunk=chunk):
            seen.append(row[0])
            yield row

    monkeypatch.setattr("bot.survey_export.stream", counting)
    rows = read(download(admin_env, f"/admin/surveys/{sid}/results.csv"))
    assert [row[HEADER.index("Q4 年齢を教えてください。")] for row in rows[1:]] == ["20", "21", "22", "23", "24"]
    assert seen == sorted(seen) and len(seen) == 5


def test_aggregated_tables_csv(admin_env):
    sid = make(admin_env)
    r = download(admin_env, f"/admin/surveys/{sid}/results/tables.csv")
    assert unquote(r.headers["Content-Disposition"].split("filename*=UTF-8''", 1)[1]) == f"アンケート集計_{sid}_20261125.csv"
    rows = read(r)
    assert rows[0] == ["質問", "選択肢", "件数", "割合（%）", "基数（回答した人）"]
    q1, q2, q4 = "Q1 市の協働の取り組みを知っていますか。", Q2, "Q4 年齢を教えてください。"
    for expected in ([q1, "はい", "5", "71.4", "7"], [q1, "いいえ", "2", "28.6", "7"], [q2, "LINE", "4", "80.0", "5"],
                     [q2, "（対象外：回答による移動で質問されなかった）", "2", "", "5"], [q4, "（平均）", "37.4", "", "5"],
                     [q4, "（中央値）", "34", "", "5"], [q4, "（無回答）", "2", "", "5"],
                     ["Q5 ご意見があればどうぞ。", "（自由記述の回答）", "3", "", "3"]):
        assert expected in rows, expected
    assert len(admin_env.audit("survey.export_tables")) == 1
