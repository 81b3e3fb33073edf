"""友だち・ブロック: follows and blocks per day counted as signed webhooks arrive (frozen clock, Tokyo days),
and per push the recipients who blocked within 24 hours, on fixed data; roles; no user ids stored."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import inspect

from models.follow_log import FollowDay
from models.publications import R_SENT, Publication, PublicationRecipient
from models.users import User
from tests.live_admin import live_admin_bot, staff_env  # noqa: F401  (fixtures)

DAY1 = datetime(2026, 11, 25, 14, 59, tzinfo=timezone.utc)  # 23:59 on 11/25 in Tokyo
DAY2 = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)  # 00:00 on 11/26 in Tokyo


def day_rows(html: str) -> dict[str, tuple[int, int]]:
    table = html.split('<table id="days">', 1)[1].split("</table>", 1)[0]
    return {d: (int(f), int(u)) for d, f, u in re.findall(r"<tr><td>([\d/]+)</td><td>(\d+)</td><td>(\d+)</td></tr>", table)}


def push_rows(html: str) -> list[list[str]]:
    if '<table id="pushes">' not in html:
        return []
    body = html.split('<table id="pushes">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_follows_and_blocks_per_tokyo_day_from_signed_webhooks(staff_env, emulator):
    bot, ids, login = staff_env
    users = [f"U{'%032x' % (0xabc000 + i)}" for i in range(4)]
    bot.clock.set(DAY1)
    for u in users[:3]:
        emulator.send_follow(u)
    bot.settle()
    emulator.send_unfollow(users[0])
    emulator.send_unfollow(users[3])  # never known (or data deleted): the block still counts
    bot.settle()
    bot.clock.set(DAY2)
    emulator.send_follow(users[0])  # came back
    emulator.send_unfollow(users[1])
    bot.settle()
    with bot.rt.sessions() as db:  # an old day inside the window and one outside it
        db.add_all([FollowDay(day=date(2026, 10, 28), slot=0, follows=7, unfollows=1),
                    FollowDay(day=date(2026, 10, 27), slot=0, follows=50, unfollows=50)])
        db.commit()
    page = login("staff").get("/admin/follows")
    assert page.status_code == 200
    rows = day_rows(page.text)
    assert len(rows) == 30 and "2026/10/27" not in rows
    assert rows["2026/11/25"] == (3, 2) and rows["2026/11/26"] == (1, 1) and rows["2026/10/28"] == (7, 1)
    assert sum(f for f, _ in rows.values()) == 11 and sum(u for _, u in rows.values()) == 4
    assert '<strong id="total-follows">11</strong>' in page.text and '<strong id="total-blocks">4</strong>' in page.text
    # Two inline SVG charts, no script of their own (CSP: scripts only from our files).
    assert page.text.count("<svg") == 2 and "<title>11/25 3人</title>" in page.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == [] and "style=" not in page.text


def test_the_counter_table_holds_no_user_ids(database_url):
    assert {c.name for c in FollowDay.__table__.columns} == {"day", "slot", "follows", "unfollows"}
    assert not inspect(FollowDay).relationships and not FollowDay.__table__.foreign_keys


def test_blocks_within_24_hours_of_each_push_on_fixed_data(staff_env):
    bot, ids, login = staff_env
    sent = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)  # 09:00 Tokyo
    with bot.rt.sessions() as db:
        people = [User(line_user_id=f"U{'%032x' % i}", active=True, created_at=sent) for i in range(6)]
        db.add_all(people)
        db.flush()
        # 0, 1: blocked within 24 h; 2: blocked 25 h later; 3, 4: still friends; 5: blocked just before the push.
        for i, hours in ((0, 1), (1, 23.9), (2, 25), (5, -1)):
            people[i].active, people[i].unfollowed_at = False, sent + timedelta(hours=hours)

        def pub(title: str, purpose: str, started, recipients) -> None:
            p = Publication(purpose=purpose, title=title, messages=[{"type": "text", "text": title}], segment={},
                            frequencies=["now"], not_before=sent, status="done", created_at=sent, started_at=started,
                            finished_at=started)
            db.add(p)
            db.flush()
            db.add_all([PublicationRecipient(publication_id=p.id, user_id=u.id, status=R_SENT, due_at=sent,
                                             sent_at=started) for u in recipients])

        pub("年末の清掃のお知らせ", "announcement", sent, people[:5])
        pub("テスト", "test", sent + timedelta(hours=1), people[:1])  # a staff phone: not shown
        pub("予約のまま", "announcement", None, [])  # not started: not shown
        pub("国府津地区のお知らせ", "announcement", sent - timedelta(days=2), people[3:5])
        db.commit()
    rows = push_rows(login("admin").get("/admin/follows").text)
    assert rows == [["2026/11/20 09:00", "年末の清掃のお知らせ", "5", "2", "40.0%"],
                    ["2026/11/18 09:00", "国府津地区のお知らせ", "2", "0", "0.0%"]]


def test_who_may_see_the_dashboard(staff_env):
    bot, ids, login = staff_env
    assert login("admin").get("/admin/follows").status_code == 200
    staff_page = login("staff").get("/admin/follows").text
    assert "まだ配信はありません。" in staff_page and 'href="/admin/follows"' in staff_page
    for who in ("orga", "survey"):
        client = login(who)
        assert client.get("/admin/follows").status_code == 403
        assert 'href="/admin/follows"' not in client.get("/admin/").text
