"""こどもの居場所 in the admin over HTTP (frozen clock at 2026-11-25 10:00 Tokyo, a Wednesday), on both databases:
create with weekly hours (第2・第4土曜, a row across midnight), exceptions and the next opening; edit replaces
the rows; every check in Japanese; another organisation's place refused (403) on every route; publication with
and without the city's approval; withdraw and publish again."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.places import Place, PlaceHours
from models.publications import Publication
from tests.admin_support import fresh_env
from tests.listings_admin_support import (approval_app, approval_round_trip,  # noqa: F401 (approval_app: a fixture)
                                          assert_lists_show_own_only, assert_refused_on_every_route, count, created_id,
                                          publication)

NEW = "/admin/places/new"


def form(**kw) -> list[tuple[str, str]]:
    """Fields as a browser sends them (repeated names for the 第N週 checkboxes)."""
    data = {"name": "こくふづ こども食堂", "kind": "shokudo", "district": "kozu", "address": "小田原市国府津2丁目",
            "lat": "35.281", "lon": "139.205", "cost_kind": "per_meal", "cost_yen": "100", "cost_note": "大人300円",
            "age_min": "0", "age_max": "18", "closed_on_holidays": "y", "closed_year_end": "y",
            "hours-0-weekday": "5", "hours-0-open": "10:00", "hours-0-close": "13:00",
            "hours-1-weekday": "2", "hours-1-open": "17:00", "hours-1-close": "19:30",
            "hours-2-weekday": "", "hours-2-open": "", "hours-2-close": ""}
    weeks = kw.pop("weeks", ["2", "4"])
    data.update(kw)
    pairs = [(k, v) for k, v in data.items() if v is not None]
    return pairs + [("hours-0-week", w) for w in weeks]


def post(client, url: str, pairs, token_from: str = NEW):
    from werkzeug.datastructures import MultiDict

    return client.c.post(url, data=MultiDict(pairs + [("csrf_token", client.token(token_from))]))


def make(env, who: str = "orga", **kw) -> int:
    return created_id(post(env.signed_in(who), NEW, form(**kw)))


def get_place(env, place_id: int) -> Place:
    with env.db() as db:
        place = db.get(Place, place_id)
        _ = list(place.hours)
        db.expunge_all()
        return place


def hours_of(env, place_id: int) -> list[tuple]:
    with env.db() as db:
        return [tuple(r) for r in db.execute(select(PlaceHours.weekday, PlaceHours.opens, PlaceHours.closes, PlaceHours.weeks)
                                             .where(PlaceHours.place_id == place_id)
                                             .order_by(PlaceHours.weekday, PlaceHours.opens))]


def test_create_with_weekly_hours_and_exceptions_then_edit(admin_env):
    orga = admin_env.signed_in("orga")
    page = orga.get(NEW).get_data(as_text=True)
    assert page.count('name="hours-') >= 3 * 5 and 'name="organisation_id"' not in page
    assert 'name="closed_on_holidays" value="y" checked' in page  # the usual case is preset
    place_id = make(admin_env, closed_dates="2026-12-12\n２０２６/１２/２６", extra_dates="2026-12-23 10:00-12:00")
    place = get_place(admin_env, place_id)
    assert (place.organisation_id, place.status, place.kind, place.district) == (admin_env.ids["org_a"], "draft", "shokudo", "kozu")
    assert (place.cost_kind, place.cost_yen, place.age_min, place.age_max) == ("per_meal", 100, 0, 18)
    assert place.closed_dates == ["2026-12-12", "2026-12-26"]
    assert place.extra_dates == [{"date": "2026-12-23", "open": "10:00", "close": "12:00"}]
    assert place.closed_on_holidays and place.closed_year_end and place.organiser_name == "みどり子ども会"
    # 土曜 10:00-13:00 on the 2nd and 4th weeks only (bits 2 and 4), 水曜 17:00-19:30 every week.
    assert hours_of(admin_env, place_id) == [(2, 1020, 1170, 0), (5, 600, 780, 0b10100)]
    detail = orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    assert "土曜（第2・第4） 10:00〜13:00" in detail and "水曜 17:00〜19:30" in detail
    assert "祝日は休み" in detail and "年末年始（12/29〜1/3）は休み" in detail
    assert '<strong id="next-opening">今日 17:00〜19:30</strong>' in detail  # Wednesday 25 November, 10:00
    [entry] = admin_env.audit("place.create")
    assert entry.summary == "こくふづ こども食堂"

    edit = orga.get(f"/admin/places/{place_id}/edit").get_data(as_text=True)
    assert 'name="hours-1-week" value="2" checked' in edit and 'value="13:00"' in edit
    # Edit: one row open across midnight, holidays open, the old rows replaced.
    r = post(orga, f"/admin/places/{place_id}/edit",
             form(weeks=[], closed_on_holidays=None, **{"hours-0-open": "20:00", "hours-0-close": "01:00",
                                                       "hours-0-overnight": "y", "hours-1-weekday": None,
                                                       "hours-1-open": None, "hours-1-close": None}))
    assert r.status_code == 302
    assert hours_of(admin_env, place_id) == [(5, 1200, 1500, 0)]
    place = get_place(admin_env, place_id)
    assert not place.closed_on_holidays and place.closed_dates == []
    detail = orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    assert "こどもの居場所を保存しました。" in detail and "土曜 20:00〜翌1:00" in detail
    assert len(admin_env.audit("place.update")) == 1


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "名前を入力してください。"),
    ({"kind": ""}, "種類を選んでください。"),
    ({"kind": "casino"}, "種類は一覧から選んでください。"),
    ({"district": ""}, "地区を選んでください。"),
    ({"district": "atlantis"}, "地区は一覧から選んでください。"),
    ({"address": ""}, "住所を入力してください。"),
    ({"lat": "35.0", "lon": "139.0"}, "緯度・経度（35.0, 139.0）が市の外を指しています。"),
    ({"age_min": "12", "age_max": "6"}, "対象年齢の下限（12歳）が上限（6歳）より上になっています。"),
    ({"cost_yen": ""}, "有料のときは金額を入力してください"),
    ({"hours-1-close": "16:00"}, "開いている時間の2行目: 終わりの時刻を始まりの時刻より後にしてください（夜0時をまたぐときは「翌日まで」に印を付けます）。"),
    ({"hours-0-weekday": ""}, "開いている時間の1行目: 曜日を選んでください。"),
    ({"hours-0-open": "あさ"}, "開いている時間の1行目: 始まりと終わりの時刻を 10:00 のように入力してください。"),
    ({"hours-0-weekday": None, "hours-0-open": None, "hours-0-close": None, "hours-1-weekday": None,
      "hours-1-open": None, "hours-1-close": None}, "開いている曜日と時間を1行以上入力するか、「開いている日時の補足」に書いてください。"),
    ({"closed_dates": "12月5日"}, "休みの日「12月5日」は日付として読めません。"),
    ({"extra_dates": "2026-12-23 午前"}, "「2026-12-23 午前」が読めません。2026-12-26 10:00-12:00 のように"),
    ({"verified_on": "2026-12-01"}, "情報を確かめた日に、これから先の日付は入れられません。"),
    ({"phone": "でんわ"}, "電話番号は 0465-33-1234 のように数字とハイフンで入力してください。"),
])
def test_each_check_answers_in_japanese(admin_env, fields, message):
    orga = admin_env.signed_in("orga")
    r = post(orga, NEW, form(**fields))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in html and 'class="field-error"' in html
    assert count(admin_env, Place) == 0
    # What was typed is shown again (the rows too).
    assert 'value="こくふづ こども食堂"' in html or fields.get("name") == ""


def test_preview_saves_nothing_and_shows_the_phone(admin_env):
    orga = admin_env.signed_in("orga")
    r = post(orga, NEW, form(action="preview"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    # The bot's own card (handlers/places_flex.place_bubble), with the next opening computed from the unsaved rows.
    phone = html[html.index('id="phone-chat"'):html.index("</figure>")]
    assert 'data-message="flex"' in phone and "こくふづ こども食堂" in phone
    assert "今日 17:00〜19:30" in phone and "1食100円" in phone and ">地図</span>" in phone
    assert count(admin_env, Place) == 0


def test_another_organisations_place_is_refused_on_every_route(admin_env):
    theirs = make(admin_env, "orgb", name="あおばの居場所")
    assert assert_refused_on_every_route(admin_env, "admin.place", theirs, {"reason": "x", **dict(form(name="乗っ取り"))}) == 8
    assert get_place(admin_env, theirs).name == "あおばの居場所"
    mine = make(admin_env, "orga", name="みどりの居場所")
    assert_lists_show_own_only(admin_env, "places", mine, mine_name="みどりの居場所", theirs_name="あおばの居場所")


def test_publish_withdraw_and_publish_again_without_approval(admin_env):
    place_id = make(admin_env)
    orga = admin_env.signed_in("orga")
    assert orga.post(f"/admin/places/{place_id}/publish").status_code == 302
    assert get_place(admin_env, place_id).status == "published"
    page = orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    assert "公開しました。LINEとホームページのこどもの居場所に表示されます。" in page and "掲載を終える" in page
    pub = publication(admin_env, f"listing:places:{place_id}")
    assert pub is not None and pub.topic == "places" and pub.segment["districts"] == ["kozu"]
    r = orga.post(f"/admin/places/{place_id}/delete")
    assert r.status_code == 409 and "先に「掲載を終える」を押してください" in r.get_data(as_text=True)
    assert orga.post(f"/admin/places/{place_id}/withdraw").status_code == 302
    assert get_place(admin_env, place_id).status == "withdrawn"
    page = orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    assert "掲載を終えました。" in page and "公開する" in page  # published again from 掲載終了
    r = orga.post(f"/admin/places/{place_id}/withdraw")
    assert r.status_code == 409 and "掲載を終えられるのは、公開中か承認待ちの居場所です。" in r.get_data(as_text=True)
    assert orga.post(f"/admin/places/{place_id}/publish").status_code == 302
    assert get_place(admin_env, place_id).status == "published"
    # Told once, however often it is published.
    assert count(admin_env, select(Publication).where(Publication.ref == f"listing:places:{place_id}")) == 1
    assert [len(admin_env.audit(a)) for a in ("place.publish", "place.withdraw")] == [2, 1]
    assert orga.post(f"/admin/places/{place_id}/approve").status_code == 403
    r = orga.post(f"/admin/places/{place_id}/publish")
    assert r.status_code == 409 and "この居場所は「公開中」のため、公開の操作はできません。" in r.get_data(as_text=True)
    # Withdrawn, it may be deleted.
    orga.post(f"/admin/places/{place_id}/withdraw")
    assert orga.post(f"/admin/places/{place_id}/delete").status_code == 302
    assert "こどもの居場所を削除しました。" in orga.get("/admin/places").get_data(as_text=True)
    assert count(admin_env, Place) == 0 and len(admin_env.audit("place.delete")) == 1


def test_approval_on_organisation_submits_and_staff_approve_or_send_back(approval_app):  # noqa: F811
    env = fresh_env(*approval_app)
    place_id = make(env)
    approval_round_trip(env, Place, place_id, noun="居場所", reason="電話番号を入れてください。")
    # Staff publish directly.
    own = make(env, "staff", name="市の子育てひろば", kind="hiroba", cost_kind="free", cost_yen="")
    env.signed_in("staff").post(f"/admin/places/{own}/publish")
    assert get_place(env, own).status == "published" and get_place(env, own).organisation_id is None


def test_odd_input_never_gives_a_500(admin_env):
    orga = admin_env.signed_in("orga")
    for junk in ({"lat": "nan", "lon": "nan"}, {"hours-0-open": "99:99"}, {"hours-0-weekday": "9"},
                 {"hours-999-weekday": "1", "hours-999-open": "10:00", "hours-999-close": "11:00"},
                 {"closed_dates": "2026-12-01 " * 2000}, {"extra_dates": "x\n" * 50}, {"cost_yen": "1" * 50},
                 {"verified_on": "0001-01-01"}, {"kind": "<script>"}):
        r = post(orga, NEW, form(**junk) + [("hours-0-week", "7"), ("hours-0-week", "x")])
        assert r.status_code in (302, 422), junk
        assert "<script>" not in r.get_data(as_text=True)
