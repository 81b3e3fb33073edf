"""こどもの居場所 in the admin over HTTP (frozen clock at 2026-11-25 10:00 Tokyo, a Wednesday), on both databases:
create with weekly hours (第2・第4土曜, a row across midnight), exceptions and the next opening; edit replaces
the rows; every check in Japanese; another organisation's place refused (403) on every route; publication with
and without the city's approval; withdraw and publish again."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models.places import Place, PlaceHours
from models.publications import Publication
from tests.admin_support import fresh_env
from tests.test_events_admin import approval_app  # noqa: F401 (fixture: KYODO_LISTING_APPROVAL on)

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
    r = post(env.signed_in(who), NEW, form(**kw))
    assert r.status_code == 302, re.findall(r'field-error">([^<]*)', r.get_data(as_text=True))
    return int(r.headers["Location"].rsplit("/", 1)[1])


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
    assert "土曜 20:00〜翌1:00" in orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
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
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Place)) == 0
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
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Place)) == 0


def place_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.place") and "item_id" in rule.rule:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule.rule


def test_another_organisations_place_is_refused_on_every_route(admin_env):
    theirs = make(admin_env, "orgb", name="あおばの居場所")
    orga = admin_env.signed_in("orga")
    token = orga.token(NEW)
    routes = list(place_routes(admin_env.app))
    assert len(routes) == 8
    for endpoint, method, rule in routes:
        url = re.sub(r"<(int:)?item_id>", str(theirs), rule)
        r = orga.c.open(url, method=method, data=dict(form(name="乗っ取り"), csrf_token=token))
        assert r.status_code == 403, (endpoint, method, r.status_code)
    assert get_place(admin_env, theirs).name == "あおばの居場所"
    mine = make(admin_env, "orga", name="みどりの居場所")
    listing = orga.get("/admin/places").get_data(as_text=True)
    assert "みどりの居場所" in listing and "あおばの居場所" not in listing
    staff_list = admin_env.signed_in("staff").get("/admin/places").get_data(as_text=True)
    assert "みどりの居場所" in staff_list and "あおばの居場所" in staff_list
    assert admin_env.signed_in("survey").get(f"/admin/places/{mine}").status_code == 403


def test_publish_withdraw_and_publish_again_without_approval(admin_env):
    place_id = make(admin_env)
    orga = admin_env.signed_in("orga")
    assert orga.post(f"/admin/places/{place_id}/publish").status_code == 302
    assert get_place(admin_env, place_id).status == "published"
    with admin_env.db() as db:
        pub = db.scalar(select(Publication).where(Publication.ref == f"listing:places:{place_id}"))
        assert pub is not None and pub.topic == "places" and pub.segment["districts"] == ["kozu"]
    r = orga.post(f"/admin/places/{place_id}/delete")
    assert r.status_code == 409 and "先に「掲載を終える」を押してください" in r.get_data(as_text=True)
    assert orga.post(f"/admin/places/{place_id}/withdraw").status_code == 302
    assert get_place(admin_env, place_id).status == "withdrawn"
    assert orga.post(f"/admin/places/{place_id}/withdraw").status_code == 409
    assert orga.post(f"/admin/places/{place_id}/publish").status_code == 302
    assert get_place(admin_env, place_id).status == "published"
    with admin_env.db() as db:  # told once, however often it is published
        assert db.scalar(select(func.count()).select_from(Publication)
                         .where(Publication.ref == f"listing:places:{place_id}")) == 1
    assert [len(admin_env.audit(a)) for a in ("place.publish", "place.withdraw")] == [2, 1]
    assert orga.post(f"/admin/places/{place_id}/approve").status_code == 403


def test_approval_on_organisation_submits_and_staff_approve_or_send_back(approval_app):  # noqa: F811
    env = fresh_env(*approval_app)
    orga, staff = env.signed_in("orga"), env.signed_in("staff")
    place_id = make(env)
    assert "承認を依頼する" in orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    orga.post(f"/admin/places/{place_id}/publish")
    assert get_place(env, place_id).status == "pending"
    assert orga.post(f"/admin/places/{place_id}/approve").status_code == 403
    assert "承認待ちの居場所が1件あります" in staff.get("/admin/places").get_data(as_text=True)
    staff.post(f"/admin/places/{place_id}/send_back", {"reason": "電話番号を入れてください。"})
    assert get_place(env, place_id).status == "draft"
    assert "市の職員から差し戻されました: 電話番号を入れてください。" in orga.get(f"/admin/places/{place_id}").get_data(as_text=True)
    orga.post(f"/admin/places/{place_id}/publish")
    assert staff.post(f"/admin/places/{place_id}/approve").status_code == 302
    assert get_place(env, place_id).status == "published"
    with env.db() as db:
        assert db.scalar(select(Publication).where(Publication.ref == f"listing:places:{place_id}")) is not None
    assert [e.actor_id for e in env.audit("place.approve")] == [env.ids["staff"]]
    # Staff publish directly.
    own = make(env, "staff", name="市の子育てひろば", kind="hiroba", cost_kind="free", cost_yen="")
    staff.post(f"/admin/places/{own}/publish")
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
