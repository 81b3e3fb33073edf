"""The オープンデータ page of the admin over real HTTP (tests/live_admin.py): staff upload a file in any
encoding and see the encoding, the counts and each refused row (line, column, why), with the audit entry;
an organisation imports and downloads only its own rows and cannot overwrite another's; downloads are
UTF-8 with BOM and CRLF; CSRF, roles and odd uploads are refused without a 500."""
from __future__ import annotations

import codecs
import html
import re

import pytest
from sqlalchemy import func, select

from bot.plan_loader import default_plan_path, load
from models.accounts import AuditEntry
from models.events import Event
from models.places import Place
from models.publications import Publication
from tests.admin_support import T0
from tests.live_admin import live_admin_bot, staff_env  # noqa: F401  (fixtures)
from tests.opendata_support import encode, sample

PAGE = "/admin/opendata"


@pytest.fixture
def env(staff_env):
    bot, ids, login = staff_env
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), T0, publish_news=False)
    return bot, ids, login


def upload(client, data: bytes, layout: str = "events", name: str = "events.csv", **fields):
    form = {"layout": layout, "announce": "y", **fields}
    return client.post(f"{PAGE}/import", form, files={"file": (name, data, "text/csv")}, token_from=PAGE)


def text_of(r) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", r.text))


def count(bot, model, **where) -> int:
    with bot.rt.sessions() as db:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return db.scalar(stmt)


def test_staff_upload_shows_encoding_counts_and_audit(env):
    bot, ids, login = env
    staff = login("staff")
    page = staff.get(PAGE)
    assert page.status_code == 200 and "events.csv（イベント一覧）" in page.text
    r = upload(staff, encode(sample("events.csv"), "cp932"), name="イベント.csv")
    assert r.status_code == 200, r.text
    t = text_of(r)
    assert "文字コード: Shift_JIS（CP932）" in t and "ファイル: イベント.csv" in t
    assert "追加: 3件" in t and "取り込めない行: 0件" in t and "次の行は取り込んでいません" not in t
    assert count(bot, Event) == 3 and count(bot, Publication) == 2  # the two with a 地区 are announced
    with bot.rt.sessions() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "opendata.import")).all()
        assert entry.actor_id == ids["staff"] and entry.object_type == "events"
        assert entry.summary == "イベント一覧 イベント.csv: 追加 3件・更新 0件・変更なし 0件・取り込めない行 0件（Shift_JIS（CP932））"
    again = text_of(upload(staff, encode(sample("events.csv"), "utf-16-le")))
    assert "文字コード: UTF-16LE" in again and "変更なし: 3件" in again and "追加: 0件" in again


def test_broken_rows_are_listed_with_line_column_and_reason(env):
    bot, ids, login = env
    staff = login("staff")
    r = upload(staff, sample("places_broken.csv"), layout="places", name="places_broken.csv")
    assert r.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)行目</td><td>([^<]+)</td><td class=\"wrap\">([^<]+)</td></tr>", r.text)
    assert [(int(line), col) for line, col, _ in rows] == [
        (3, "利用可能曜日"), (4, "終了時間"), (5, "開所時間"), (6, "経度"), (7, "緯度"), (8, "地区"), (9, "地区"),
        (10, "（行全体）"), (11, "NO"), (12, "URL")]
    assert "曜日として読めません（祭）" in html.unescape(rows[0][2])
    assert "追加: 2件" in text_of(r) and count(bot, Place) == 2


def test_dry_run_writes_nothing(env):
    bot, ids, login = env
    r = upload(login("staff"), sample("events.csv"), dry_run="y")
    assert r.status_code == 200 and "確認の結果（何も取り込んでいません）" in r.text and "追加: 3件" in text_of(r)
    assert count(bot, Event) == 0 and count(bot, AuditEntry, action="opendata.import") == 0


def test_without_announcement(env):
    bot, ids, login = env
    form = {"layout": "places"}  # the box unticked
    r = login("staff").post(f"{PAGE}/import", form, files={"file": ("p.csv", sample("places.csv"), "text/csv")},
                            token_from=PAGE)
    assert r.status_code == 200 and count(bot, Place) == 3 and count(bot, Publication) == 0


def test_organisations_import_and_download_only_their_own(env):
    bot, ids, login = env
    orga, orgb, staff = login("orga"), login("orgb"), login("staff")
    assert "あなたの団体が登録した行" in orga.get(PAGE).text
    assert "追加: 3件" in text_of(upload(orga, sample("places.csv"), layout="places"))
    assert count(bot, Place, organisation_id=ids["org_a"]) == 3
    # B cannot overwrite A's rows: each is refused on its NO, nothing changes.
    hijack = sample("places.csv").decode().replace("こうづ こども食堂", "乗っ取り食堂").encode()
    t = text_of(upload(orgb, hijack, layout="places"))
    assert "取り込めない行: 3件" in t and t.count("ほかの団体（または市）が登録した行のため、変更できません。") == 3
    assert count(bot, Place, name="乗っ取り食堂") == 0 and count(bot, Place, organisation_id=ids["org_b"]) == 0

    mine, theirs, everything = (c.get("/admin/opendata/places.csv") for c in (orga, orgb, staff))
    for r in (mine, theirs, everything):
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.headers["Content-Disposition"].startswith('attachment; filename="places.csv"')
        assert r.content.startswith(codecs.BOM_UTF8) and b"\n" not in r.content.replace(b"\r\n", b"")
    assert mine.content.count(b"\r\n") == 4 and "こうづ こども食堂" in mine.content.decode("utf-8-sig")
    assert theirs.content.count(b"\r\n") == 1  # the header only
    assert everything.content == mine.content
    # A's own export, edited and uploaded by A, updates its row.
    edited = mine.content.replace("こうづ こども食堂".encode(), "こうづ こども食堂（名前変更）".encode())
    assert "更新: 1件" in text_of(upload(orga, edited, layout="places"))
    assert count(bot, Place, name="こうづ こども食堂（名前変更）", organisation_id=ids["org_a"]) == 1


def test_roles_csrf_and_odd_uploads(env):
    bot, ids, login = env
    survey = login("survey")
    for path in (PAGE, f"{PAGE}/events.csv", f"{PAGE}/places.csv"):
        assert survey.get(path).status_code == 403
    from tests.live_admin import HttpAdmin

    anonymous = HttpAdmin(bot.url)
    assert anonymous.get(f"{PAGE}/events.csv").status_code == 302  # to the login page
    staff = login("staff")
    no_token = staff.post(f"{PAGE}/import", {"layout": "events"}, files={"file": ("e.csv", sample("events.csv"))},
                          csrf=False)
    assert no_token.status_code == 400
    odd = [
        ({"layout": "events"}, ("e.csv", b"\x81\x20\x81\x20"), "文字コードを判別できません"),
        ({"layout": "events"}, ("e.csv", "名称,住所\r\nあ,い\r\n".encode()), "見出し"),
        ({"layout": "events"}, ("e.csv", b""), "ファイルが空です"),
        ({"layout": "weather"}, ("e.csv", sample("events.csv")), "種類を選んでください"),
    ]
    for form, file, message in odd:
        r = staff.post(f"{PAGE}/import", form, files={"file": file}, token_from=PAGE)
        assert r.status_code == 422 and message in r.text, (form, r.status_code)
    r = staff.post(f"{PAGE}/import", {"layout": "events"}, token_from=PAGE)
    assert r.status_code == 422 and "CSVファイルを選んでください" in r.text
    assert count(bot, Event) == 0 and count(bot, AuditEntry, action="opendata.import") == 0
