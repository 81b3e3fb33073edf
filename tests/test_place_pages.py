"""Public pages for children's places: /places (by 地区 and kind, today's or the next opening, paged) and
/places/<id> (weekly hours, exceptions, map and tel: links). Real HTTP through the app, both databases."""
from __future__ import annotations

import re
import urllib.request
from datetime import datetime

import pytest

from bot.clock import TOKYO
from tests import places_support
from tests.listings_support import client, open_site, page, saved, text_of  # noqa: F401 (client: fixture)

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=TOKYO)  # Thursday 14:00


@pytest.fixture
def site(bot):
    return open_site(bot, NOW)


def add_place(site, name: str, *, hours: list[tuple[int, str, str, int]] = (), **kw) -> int:
    """hours: (weekday 0=Mon, "15:00", "18:00", weeks mask)."""
    return saved(site, places_support.add_place, name, rows=hours, **kw)


def test_list_groups_published_places_by_district_and_kind(site, client):
    add_place(site, "国府津の食堂", district="kozu", kind="shokudo", hours=[(3, "15:00", "18:00", 0)])
    add_place(site, "国府津のひろば", district="kozu", kind="hiroba", hours=[(5, "10:00", "12:00", 0)])
    add_place(site, "緑の学習室", district="midori", kind="study", hours=[(3, "13:00", "17:00", 0)])
    add_place(site, "下書きの食堂", status="draft", hours=[(3, "15:00", "18:00", 0)])
    add_place(site, "承認待ちの食堂", status="pending", hours=[(3, "15:00", "18:00", 0)])
    add_place(site, "取り下げた食堂", status="withdrawn", hours=[(3, "15:00", "18:00", 0)])
    html = page(client, "/places")
    for name in ("国府津の食堂", "国府津のひろば", "緑の学習室"):
        assert name in html
    for name in ("下書きの食堂", "承認待ちの食堂", "取り下げた食堂"):
        assert name not in html
    text = text_of(html)
    # 地区 in the city's order (緑 before 国府津 in districts.yaml), then kind (食堂 before ひろば).
    assert text.index("緑地区") < text.index("緑の学習室") < text.index("国府津地区") < text.index("国府津の食堂") \
        < text.index("国府津のひろば")
    assert "開いています 今日 13:00〜17:00" in text  # open now (14:00)
    assert "今日 15:00〜18:00" in text and "次は 土曜 10:00" in text

    def names(query: str) -> set[str]:
        h = page(client, "/places" + query)
        return {n for n in ("国府津の食堂", "国府津のひろば", "緑の学習室") if n in h}

    assert names("?district=kozu") == {"国府津の食堂", "国府津のひろば"}
    assert names("?kind=hiroba") == {"国府津のひろば"}
    assert names("?district=kozu&kind=shokudo") == {"国府津の食堂"}
    assert names("?district=midori&kind=hiroba") == set()
    assert "この条件に合う居場所は、いまのところ登録されていません" in page(client, "/places?district=midori&kind=hiroba")
    html = page(client, "/places?district=kozu&kind=nothing")
    assert "種類の指定が見つからないため" in html and names("?kind=nothing") == {"国府津の食堂", "国府津のひろば", "緑の学習室"}
    assert '<option value="kozu" selected>国府津</option>' in html
    for odd in ("?page=x", "?page=0", "?district=%E3%81%82", "?page=99999"):
        page(client, "/places" + odd)


def test_list_pages_thirty_at_a_time(site, client):
    for i in range(35):
        add_place(site, f"遊び場{i:02d}", kind="play", hours=[(5, "10:00", "16:00", 0)])
    first = page(client, "/places")
    assert len(re.findall(r"遊び場\d\d", first)) == 30 and "遊び場29" in first and "遊び場30" not in first
    assert 'href="/places?page=2">次へ' in first
    second = page(client, "/places?page=2")
    assert re.findall(r"遊び場\d\d", second) == [f"遊び場{i}" for i in range(30, 35)] and 'href="/places">← 前へ' in second
    assert 'href="/places?district=kozu&amp;page=2"' in page(client, "/places?district=kozu")


def test_empty_list(site, client):
    assert "居場所は、いまのところ登録されていません" in page(client, "/places")


def test_detail_weekly_table_exceptions_map_and_phone(site, client):
    pid = add_place(
        site, "みどり子ども食堂", district="midori",
        hours=[(2, "17:00", "19:30", 0), (5, "11:30", "13:30", 0b10100), (4, "22:00", "25:00", 0)],
        closed_dates=["2026-12-09", "2026-11-01"],
        extra_dates=[{"date": "2026-12-06", "open": "10:00", "close": "12:00"}],
        hours_note="雨の日はお休みです。", phone="0465-00-0101", phone_ext="12", address="小田原市緑1-1", lat=35.259,
        lon=139.157, cost_kind="per_meal", cost_yen=100, cost_note="大人300円", age_min=0, age_max=18,
        booking_required=True, accessibility="スロープがあります。", organiser_name="みどり子ども会", project=3, action=303)
    html = page(client, f"/places/{pid}")
    text = text_of(html)
    assert "水曜 17:00〜19:30" in text and "土曜 第2・第4 11:30〜13:30" in text and "金曜 22:00〜翌1:00" in text
    assert "月曜 休み" in text and "日曜 休み" in text
    assert "祝日はお休みです。" in text and "年末年始（12月29日〜1月3日）はお休みです。" in text
    assert "2026年12月9日（水）はお休みです。" in text and "2026年11月1日" not in text  # past dates off are not listed
    assert "2026年12月6日（日）は10:00〜12:00に開きます。" in text and "雨の日はお休みです。" in text
    # The next opening: Friday 22:00 (Thursday has none); the next two weeks skip the date off.
    assert "次は 明日 22:00" in text
    assert "12月4日（金） 22:00〜翌1:00" in text and "12月6日（日） 10:00〜12:00" in text
    assert "12月9日（水）" not in text.split("これから2週間の予定")[1].split("場所")[0]
    assert "12月12日（土） 11:30〜13:30" in text  # 第2土曜
    assert 'href="tel:0465000101"' in html and "（内線 12）" in text and "電話する" in text
    assert 'href="https://www.google.com/maps/search/?api=1&amp;query=35.259000,139.157000"' in html
    assert "1食100円（大人300円）" in text and "0〜18歳" in text and "予約 必要です" in text
    assert "スロープがあります。" in text and "みどり子ども会" in text and 'href="/plan/actions/303"' in html


def test_detail_map_by_address_and_no_phone(site, client):
    pid = add_place(site, "住所だけの所", address="小田原市国府津1-2-3", hours=[(0, "10:00", "12:00", 0)])
    html = page(client, f"/places/{pid}")
    assert "https://www.google.com/maps/search/?api=1&amp;query=%E5%B0%8F%E7%94%B0%E5%8E%9F" in html
    assert "tel:" not in html and "電話する" not in html


def test_unpublished_and_unknown_places_are_not_found(site, client):
    for status in ("draft", "pending", "withdrawn"):
        pid = add_place(site, f"{status}の所", status=status, hours=[(0, "10:00", "12:00", 0)])
        page(client, f"/places/{pid}", 404)
    page(client, "/places/123456", 404)
    page(client, "/places/99999999999", 404)
    page(client, "/places/x", 404)


def test_place_page_over_real_http(site):
    pid = add_place(site, "本番の食堂", hours=[(3, "15:00", "18:00", 0)])
    with urllib.request.urlopen(f"{site.url}/places/{pid}", timeout=10) as r:
        assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
        body = r.read().decode()
    assert "本番の食堂" in body and "今日 15:00〜18:00" in body
