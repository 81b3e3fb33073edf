"""Public event pages and calendars: /events (filters, paging, 中止), /events/<id>, /events.ics, /events/<id>.ics.
Real HTTP through the app (test client and the live server), real SQL on both databases; the .ics files are read
back with the icalendar library and their rules expanded with dateutil."""
from __future__ import annotations

import re
import urllib.request
from datetime import datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlalchemy import select

from bot.clock import TOKYO, utc
from models.events import EventOccurrence
from tests import events_support
from tests.listings_support import client, open_site, page, saved, text_of  # noqa: F401 (client: fixture)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=TOKYO)  # a Thursday


@pytest.fixture
def site(bot):
    return open_site(bot, NOW)


def add_event(site, title: str, *, starts: datetime, **kw) -> int:
    """Its times stored in UTC, as every writer does (SQLite keeps no offset)."""
    return saved(site, events_support.add_event, title, starts=utc(starts), **kw)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


def ics(client, path: str) -> Calendar:
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(resp.get_data())


def vevents(cal: Calendar) -> dict[str, object]:
    return {str(c["SUMMARY"]): c for c in cal.walk("VEVENT")}


# -- the list ----------------------------------------------------------------------------------------------------

def test_list_shows_upcoming_published_and_cancelled_events_only(site, client):
    add_event(site, "公開中の朝市", starts=at(5, 8))
    add_event(site, "中止の観察会", starts=at(5, 10), status="cancelled", cancel_reason="増水のため")
    add_event(site, "下書きの会", starts=at(5, 11), status="draft")
    add_event(site, "承認待ちの会", starts=at(5, 12), status="pending")
    add_event(site, "終わった会", starts=at(2, 10))
    add_event(site, "今日あと少し続く会", starts=at(3, 8), hours=2)  # 8:00-10:00, now 9:00: still on
    html = page(client, "/events")
    assert "公開中の朝市" in html and "中止の観察会" in html and "今日あと少し続く会" in html
    assert "下書きの会" not in html and "承認待ちの会" not in html and "終わった会" not in html
    text = text_of(html)
    assert "中止 中止の観察会" in text  # the badge before the title
    assert "2026年12月5日（土）8:00〜10:00" in text and "2026年12月3日（木） 今日" in text
    assert html.index("今日あと少し続く会") < html.index("公開中の朝市") < html.index("中止の観察会")  # soonest first


def test_filters_by_district_project_children_and_free(site, client):
    add_event(site, "国府津のこども会", starts=at(5, 10), district="kozu", project=3, age_min=6, age_max=12)
    add_event(site, "国府津の講演会", starts=at(5, 13), district="kozu", project=7, cost_kind="amount", cost_yen=500)
    add_event(site, "緑のこども会", starts=at(6, 10), district="midori", project=3, age_max=12, cost_kind="amount",
              cost_yen=300)
    add_event(site, "緑の朝市", starts=at(6, 8), district="midori", project=5)

    def titles(query: str) -> set[str]:
        html = page(client, "/events" + query)
        return {t for t in ("国府津のこども会", "国府津の講演会", "緑のこども会", "緑の朝市") if t in html}

    assert titles("") == {"国府津のこども会", "国府津の講演会", "緑のこども会", "緑の朝市"}
    assert titles("?district=kozu") == {"国府津のこども会", "国府津の講演会"}
    assert titles("?project=3") == {"国府津のこども会", "緑のこども会"}
    assert titles("?children=1") == {"国府津のこども会", "緑のこども会"}
    assert titles("?free=1") == {"国府津のこども会", "緑の朝市"}
    assert titles("?district=midori&children=1") == {"緑のこども会"}
    assert titles("?district=kozu&project=3&children=1&free=1") == {"国府津のこども会"}
    assert titles("?district=midori&project=7") == set()
    html = page(client, "/events?district=midori&project=7")
    assert "この条件に合うイベントは、いまのところありません" in html
    # The form keeps the choices, and the feed link carries the filters a calendar understands.
    html = page(client, "/events?district=kozu&children=1")
    assert '<option value="kozu" selected>国府津</option>' in html and 'name="children" value="1" checked' in html
    assert 'href="/events.ics?district=kozu"' in html
    # Unknown values are ignored and said so, never an error.
    html = page(client, "/events?district=atlantis&project=99")
    assert "地区・プロジェクトの指定が見つからないため" in html and "緑の朝市" in html
    for odd in ("?project=-1", "?project=１", "?page=abc", "?page=0", "?page=99999999999999999999", "?children=yes"):
        page(client, "/events" + odd)


def test_paging(site, client):
    for i in range(25):
        add_event(site, f"連続講座その{i:02d}", starts=at(4, 8) + timedelta(hours=i))
    first = page(client, "/events")
    assert first.count("連続講座その") == 20 and "連続講座その19" in first and "連続講座その20" not in first
    assert 'href="/events?page=2">次へ' in first and "← 前へ" not in first
    second = page(client, "/events?page=2")
    assert second.count("連続講座その") == 5 and "連続講座その24" in second
    assert 'href="/events">← 前へ' in second and "次へ →" not in second
    assert "このページにはイベントがありません" in page(client, "/events?page=3")
    # Filters survive paging.
    assert 'href="/events?district=kozu&amp;page=2"' in page(client, "/events?district=kozu")


# -- the detail page ---------------------------------------------------------------------------------------------

def test_detail_shows_time_place_map_cost_ages_and_registration(site, client):
    from bot.registrations import slot_for

    eid = add_event(site, "親子でつくる木のおもちゃ", starts=at(5, 10), hours=2, place_name="緑地区の公民館",
                    address="小田原市緑1-1", lat=35.259, lon=139.157, cost_kind="amount", cost_yen=500,
                    cost_note="材料費", age_min=6, age_max=12, registration_required=True, capacity=12,
                    registration_deadline=utc(at(4, 17)), phone="0465-00-0101", organiser_name="みどり子ども会",
                    project=3, action=302, description="こまをつくります。\n汚れてもよい服で。")
    with site.rt.sessions() as db:
        slot_for(db, "event", eid, capacity=12, starts_at=utc(at(5, 10)), now=site.rt.now())
        db.commit()
    html = page(client, f"/events/{eid}")
    text = text_of(html)
    assert "2026年12月5日（土）10:00〜12:00" in text
    assert "緑地区の公民館" in text and "小田原市緑1-1" in text and "緑地区" in text
    assert 'href="https://www.google.com/maps/search/?api=1&amp;query=35.259000,139.157000"' in html
    assert "500円（材料費）" in text and "6〜12歳" in text
    assert "LINEの『イベント』から申し込めます" in text and "定員 12名（残り 12名）" in text
    assert "締切：2026年12月4日（金）17:00まで" in text
    assert 'href="tel:0465000101"' in html and 'href="/plan/3"' in html and 'href="/plan/actions/302"' in html
    assert f'href="/events/{eid}.ics"' in html and "カレンダーに追加" in html
    assert 'class="pre-line"' in html  # line breaks of the description kept by CSS, not <br> from input


def test_detail_of_a_start_only_event_and_a_full_one(site, client):
    from bot.registrations import slot_for

    eid = add_event(site, "開始だけの会", starts=at(6, 13, 30), hours=None, registration_required=True, capacity=2)
    with site.rt.sessions() as db:
        slot = slot_for(db, "event", eid, capacity=2, starts_at=utc(at(6, 13, 30)), now=site.rt.now())
        slot.confirmed = 2  # as two sign-ups leave it (counters are the slot's own; no residents needed here)
        db.commit()
    text = text_of(page(client, f"/events/{eid}"))
    assert "2026年12月6日（日）13:30〜 " in text  # no invented end
    assert "定員 2名（満員です）" in text and "キャンセル待ちとして申し込めます" in text


def test_cancelled_event_says_so_and_drafts_are_not_found(site, client):
    cid = add_event(site, "中止の観察会", starts=at(5, 10), status="cancelled", cancel_reason="増水のおそれがあるため",
                    registration_required=True, capacity=10)
    text = text_of(page(client, f"/events/{cid}"))
    assert "このイベントは中止になりました。（増水のおそれがあるため）" in text
    assert "申込の受付は終わりました" in text and "LINEの『イベント』から申し込めます" not in text
    for status in ("draft", "pending"):
        eid = add_event(site, f"{status}の会", starts=at(5, 10), status=status)
        page(client, f"/events/{eid}", 404)
        page(client, f"/events/{eid}.ics", 404)
    page(client, "/events/999999", 404)
    page(client, "/events/99999999999", 404)  # beyond an <int:>'s range: not found, not an overflow
    page(client, "/events/abc", 404)


def test_past_event_page_says_it_ended(site, client):
    eid = add_event(site, "先週の会", starts=at(1, 10))
    assert "このイベントは終了しました" in page(client, f"/events/{eid}")


def test_recurring_event_lists_its_coming_dates(site, client):
    eid = add_event(site, "朝の体操", starts=at(5, 7), hours=0.75, rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=12")
    text = text_of(page(client, f"/events/{eid}"))
    assert "今後の日程" in text and "2026年12月12日（土）7:00〜7:45" in text and "2027年1月2日（土）7:00〜7:45" in text
    assert "ほかにもあります" in text  # 12 dates, 10 listed


# -- calendars ---------------------------------------------------------------------------------------------------

def test_event_ics_has_tokyo_times_uid_sequence_geo_and_url(site, client):
    eid = add_event(site, "木のおもちゃ", starts=at(5, 10), hours=2, place_name="緑地区の公民館", address="小田原市緑1-1",
                    lat=35.259, lon=139.157, description="こまをつくります。", registration_required=True,
                    revision=3)
    cal = ics(client, f"/events/{eid}.ics")
    assert str(cal["PRODID"]).startswith("-//kyodo//") and str(cal["X-WR-TIMEZONE"]) == "Asia/Tokyo"
    assert "木のおもちゃ" in str(cal["X-WR-CALNAME"])
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    (ev,) = cal.walk("VEVENT")
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    assert start == at(5, 10) and end == at(5, 12) and start.utcoffset() == timedelta(hours=9)
    assert ev["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert str(ev["UID"]) == f"event-{eid}@127.0.0.1"  # the host of KYODO_PUBLIC_BASE_URL
    assert int(ev["SEQUENCE"]) == 3 and str(ev["STATUS"]) == "CONFIRMED"
    assert (ev["GEO"].latitude, ev["GEO"].longitude) == (35.259, 139.157)
    assert str(ev["LOCATION"]) == "緑地区の公民館　小田原市緑1-1"
    assert str(ev["URL"]) == f"http://127.0.0.1:5000/events/{eid}"
    assert "こまをつくります。" in str(ev["DESCRIPTION"]) and "LINEの『イベント』から申し込めます" in str(ev["DESCRIPTION"])
    assert "RRULE" not in ev


def test_cancelled_event_ics_is_cancelled(site, client):
    eid = add_event(site, "観察会", starts=at(5, 10), status="cancelled", cancel_reason="増水のため", revision=2)
    (ev,) = ics(client, f"/events/{eid}.ics").walk("VEVENT")
    assert str(ev["STATUS"]) == "CANCELLED" and int(ev["SEQUENCE"]) == 2
    assert str(ev["SUMMARY"]) == "【中止】観察会" and "中止になりました" in str(ev["DESCRIPTION"])


def test_rrule_in_the_ics_repeats_as_the_occurrences_do(site, client):
    """The rule is carried as written and, read with DTSTART's TZID, gives exactly the materialised dates (Tokyo
    wall time: 7:00 JST is 22:00 UTC the day before, so a rule read in UTC would be a day off)."""
    eid = add_event(site, "朝の体操", starts=at(5, 7), hours=1, rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=5")
    (ev,) = ics(client, f"/events/{eid}.ics").walk("VEVENT")
    assert ev["RRULE"].to_ical().decode() == "FREQ=WEEKLY;COUNT=5;BYDAY=SA"
    dtstart = ev.decoded("DTSTART")
    expanded = list(rrulestr(ev["RRULE"].to_ical().decode(), dtstart=dtstart))
    with site.rt.sessions() as db:
        stored = [utc(o.starts_at) for o in db.scalars(select(EventOccurrence).where(EventOccurrence.event_id == eid)
                                                        .order_by(EventOccurrence.starts_at))]
    assert [utc(x) for x in expanded] == stored and len(stored) == 5
    assert all(x.astimezone(TOKYO).hour == 7 and x.astimezone(TOKYO).weekday() == 5 for x in expanded)


def test_feed_lists_visible_events_with_filters(site, client):
    add_event(site, "国府津の会", starts=at(5, 10), district="kozu", project=3)
    add_event(site, "緑の会", starts=at(6, 10), district="midori", project=5)
    add_event(site, "中止の会", starts=at(7, 10), district="kozu", project=5, status="cancelled")
    add_event(site, "下書き", starts=at(7, 10), status="draft")
    add_event(site, "承認待ち", starts=at(7, 10), status="pending")
    add_event(site, "去年の会", starts=datetime(2025, 11, 1, 10, tzinfo=TOKYO))
    add_event(site, "先週の会", starts=at(1, 10))  # ended recently: kept, so a change still reaches calendars
    cal = ics(client, "/events.ics")
    assert set(vevents(cal)) == {"国府津の会", "緑の会", "【中止】中止の会", "先週の会"}
    assert str(vevents(cal)["【中止】中止の会"]["STATUS"]) == "CANCELLED"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Tokyo"
    kozu = ics(client, "/events.ics?district=kozu")
    assert set(vevents(kozu)) == {"国府津の会", "【中止】中止の会", "先週の会"} and "国府津" in str(kozu["X-WR-CALNAME"])
    assert set(vevents(ics(client, "/events.ics?project=5"))) == {"緑の会", "【中止】中止の会"}
    assert set(vevents(ics(client, "/events.ics?district=kozu&project=5"))) == {"【中止】中止の会"}
    # Each event's UID is stable, so a subscribed calendar updates rather than duplicates.
    uids = [str(c["UID"]) for c in cal.walk("VEVENT")]
    assert len(set(uids)) == len(uids) and all(re.fullmatch(r"event-\d+@127\.0\.0\.1", u) for u in uids)
    assert set(vevents(ics(client, "/events.ics?district=nowhere"))) == set(vevents(cal))  # ignored, not an error


def test_ics_over_real_http(site):
    eid = add_event(site, "本番の会", starts=at(5, 10))
    with urllib.request.urlopen(f"{site.url}/events/{eid}.ics", timeout=10) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = r.read()
    cal = Calendar.from_ical(body)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["本番の会"]
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")  # RFC 5545 line endings


def test_all_day_event_is_a_date_in_the_page_and_the_ics(site, client):
    from datetime import date

    eid = add_event(site, "文化財の一斉公開", starts=at(5, 0), hours=48, all_day=True)  # Saturday and Sunday
    text = text_of(page(client, f"/events/{eid}"))
    assert "2026年12月5日（土）〜2026年12月6日（日）" in text and "0:00" not in text
    (ev,) = ics(client, f"/events/{eid}.ics").walk("VEVENT")
    assert ev.decoded("DTSTART") == date(2026, 12, 5) and ev.decoded("DTEND") == date(2026, 12, 7)  # exclusive
    assert ev["DTSTART"].params.get("VALUE") == "DATE"
