"""Who an お知らせ reaches, end to end on fixed residents (tests/announcements_support.RESIDENTS): a staff member
composes it on the live app's form (the count it shows), sends it, and kyodo deliver's loop pushes it to the
emulator; the residents LINE received it from are exactly those the form counted.

A segment that names topics decides by them (a resident who chose any of them, without also keeping
市からのお知らせ); with no topics, the announcement is a 市からのお知らせ (residents who kept it, or never chose)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.admin.accounts import create_account
from models.announcements import Announcement
from models.publications import Publication
from models.users import User
from tests.admin_support import PASSWORD, Client
from tests.announcements_support import add_residents
from tests.fanout_support import NOON, fan, received  # noqa: F401 (fan: fixture)

NEW = "/admin/announcements/new"
COUNT_RE = re.compile(r"届く人数（プレビュー時点）: <strong>([\d,]+)人</strong>")
EMAIL = "kouhou@example.jp"


@pytest.fixture
def town(bot, fan):
    """The fixed residents' LINE ids (index as in RESIDENTS) and a signed-in staff member's client."""
    with bot.rt.sessions() as db:
        create_account(db, email=EMAIL, role="staff", password=PASSWORD, now=NOON, testing=True, display_name="広報")
        db.commit()
        ids = add_residents(db, NOON)
    with bot.rt.sessions() as db:
        lines = {u.id: u.line_user_id for u in db.scalars(select(User).where(User.id.in_(ids)))}
    client = Client(bot.app)
    assert client.login(EMAIL).status_code == 302
    return [lines[i] for i in ids], client


def send_from_the_form(bot, fan, client, title: str, **fields) -> tuple[int, Announcement]:
    """Preview (the count the clerk sees), save, send now, deliver. Returns (count shown, announcement)."""
    data = {"title": title, "body": f"{title}です。", "target": "everyone", "match": "any", "link_label": "", **fields}
    page = client.post(NEW, {**data, "action": "preview"}, token_from=NEW)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    shown = int(COUNT_RE.search(html).group(1).replace(",", ""))
    r = client.post(NEW, {**data, "action": "save"}, token_from=NEW)
    assert r.status_code == 302, r.get_data(as_text=True)
    path = r.headers["Location"]
    assert client.post(f"{path}/send", token_from=path).status_code == 302
    fan.drain()
    with bot.rt.sessions() as db:
        ann = db.scalar(select(Announcement).where(Announcement.title == title))
        db.expunge(ann)
    return shown, ann


def test_the_form_says_how_topics_choose_residents(town):
    _, client = town
    html = client.get(NEW).get_data(as_text=True)
    assert "選んだ関心のどれかを受け取ると設定した方に届きます。" in html
    assert "関心を選ばないときは、「市からのお知らせ」を受け取る設定の方" in html


def test_an_events_announcement_reaches_residents_who_chose_events_even_without_city(bot, fan, emulator, town):
    lines, client = town
    shown, ann = send_from_the_form(bot, fan, client, "夏まつり", target="chosen", topics="events")
    got = received(emulator)
    # 2 chose only events; 1 chose events and city. 3 chose only city, 0 never chose (city by default): not them.
    assert set(got) == {lines[1], lines[2]} and all(n == 1 for n in got.values())
    assert shown == len(got) == ann.audience == 2
    with bot.rt.sessions() as db:
        assert db.get(Publication, ann.publication_id).topic is None


def test_an_announcement_without_topics_reaches_city_and_default_residents_only(bot, fan, emulator, town):
    lines, client = town
    shown, ann = send_from_the_form(bot, fan, client, "ごみ収集日の変更")
    assert "友だち全員（「市からのお知らせ」を受け取る設定の方）" in client.get(f"/admin/announcements/{ann.id}").get_data(as_text=True)
    got = received(emulator)
    # 0 never chose (city by default), 1 and 3 kept city; 2 chose only events; 4 stopped; 5 blocked.
    assert set(got) == {lines[0], lines[1], lines[3]}
    assert shown == len(got) == ann.audience == 3
    with bot.rt.sessions() as db:
        assert db.get(Publication, ann.publication_id).topic == "city"


def test_topics_with_a_district_all_of_them(bot, fan, emulator, town):
    lines, client = town
    shown, _ = send_from_the_form(bot, fan, client, "曽我のイベント", target="chosen", districts="soga", topics="events",
                                  match="all")
    got = received(emulator)
    assert set(got) == {lines[1], lines[2]}  # both live in 曽我 and chose events (2 without city)
    assert shown == len(got) == 2


def test_urgent_reaches_everyone_in_the_segment_whatever_their_topics(bot, fan, emulator, town):
    lines, client = town
    shown, _ = send_from_the_form(bot, fan, client, "断水", urgent="y", target="chosen", districts="soga")
    got = received(emulator)
    assert set(got) == {lines[1], lines[2]}  # 2 chose only events: an urgent one reaches them anyway
    assert shown == len(got) == 2


def test_a_district_or_a_topic_respects_what_district_residents_chose_to_hear(bot, fan, emulator, town):
    """「どれか一つ」 with 国府津 and イベント: 国府津 residents who hear the city's news, and everyone who chose
    イベント; not a 国府津 resident who asked for surveys only."""
    from emulator import new_user_id
    from models.subscriptions import Preference, SubscribedDistrict, SubscribedTopic

    lines, client = town
    with bot.rt.sessions() as db:
        u = User(line_user_id=new_user_id(), active=True, created_at=NOON, followed_at=NOON)
        db.add(u)
        db.flush()
        db.add_all([Preference(user_id=u.id, frequency="now", topics_chosen=True, updated_at=NOON),
                    SubscribedDistrict(user_id=u.id, district="kozu"), SubscribedTopic(user_id=u.id, topic="surveys")])
        db.commit()
        surveys_only = u.line_user_id
    shown, ann = send_from_the_form(bot, fan, client, "国府津かイベント", target="chosen", districts="kozu",
                                    topics="events", match="any")
    got = received(emulator)
    # 0 (国府津, city by default) and 1 (国府津, city and events) by the district; 2 by events; not the new one.
    assert set(got) == {lines[0], lines[1], lines[2]} and surveys_only not in got
    assert shown == len(got) == ann.audience == 3
