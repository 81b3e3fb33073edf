"""今週の一覧 and the place words, through signed webhooks against the emulator: this week's open shifts are small
cards (when, title, place, places left) whose 申し込む starts the same sign-up as the shift list's (volunteer.join,
asked once), 11 a carousel and a もっと見る card, within LINE's limits (Chat checks every message); a place the
organiser wrote as 集合：… is shown with that one label, the address on its own line, never 「場所：集合：…」 and
never brackets inside brackets."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import TOKYO
from bot.postback import decode
from tests.helpers import quick_labels
from tests.test_events_bot import NOON, Chat, action, actions_in, bubbles, city, texts, titles  # noqa: F401
from tests.volunteer_support import add_opportunity, add_shift


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def beach(city):
    with city.rt.sessions() as db:
        opp = add_opportunity(db, NOON, "国府津海岸の朝のごみ拾い（サンプル）", place_name="集合：国府津駅の海側の出口",
                              address="小田原市 国府津地区（サンプルの所在地）")
        shift = add_shift(db, opp, NOON, at(6, 7), hours=1.5, capacity=30)
        db.commit()
        return shift.id


def test_this_week_is_cards_with_sign_up_and_one_place_label(beach, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    week = chat.tap("v=1&a=volunteer.week")
    assert week[0]["type"] == "text" and "申し込む" in week[0]["text"]
    [card] = bubbles(week)
    assert card["size"] == "kilo" and texts(card["header"]) == ["6月6日（土）7:00〜8:30"]
    said = texts(card["body"])
    assert said[0] == "国府津海岸の朝のごみ拾い（サンプル）"
    assert ["集合", "国府津駅の海側の出口"] == said[1:3] and "残り30名" in said
    assert not any("（" in t and t.count("（") > 1 for t in said)  # no 「（集合：…（サンプルの所在地））」
    join = action([card], "申し込む")
    assert decode(join["data"]).action == "volunteer.join" and decode(join["data"]).int("id") == beach
    assert "今週の一覧" in quick_labels(week[-1])  # the quick replies on the last message

    ask = chat.tap(join["data"])  # the same flow as the shift list's 申し込む: asked once, then the name once
    assert "申し込みますか" in ask[0]["template"]["text"]
    assert "主催者にお伝えするお名前" in chat.tap_label(ask, "申し込む")[0]["text"]
    done = " ".join(m["text"] for m in chat.say("山田 花子"))
    assert "\n集合：国府津駅の海側の出口\n住所：小田原市 国府津地区（サンプルの所在地）\n" in done
    assert "場所：集合" not in done

    # Signed up: the card says so instead of offering 申し込む again.
    [again] = bubbles(chat.tap("v=1&a=volunteer.week"))
    assert "申込済みです" in texts(again) and "申し込む" not in [a["label"] for a in actions_in([again])]


def test_a_busy_week_pages_by_eleven(city, emulator, user_id):
    with city.rt.sessions() as db:
        opp = add_opportunity(db, NOON, "花壇の手入れ", place_name="緑公民館")
        for i in range(14):
            add_shift(db, opp, NOON, at(4, 8) + timedelta(hours=i // 4 * 24 + i % 4 * 3), hours=1, capacity=4)
        db.commit()
    chat = Chat(city, emulator, user_id)
    first = chat.tap("v=1&a=volunteer.week")
    cards = bubbles(first)
    assert len(cards) == 12 and len(titles(first)) == 11 and "1〜11件目" in first[0]["text"]
    assert all(action([c], "申し込む") for c in cards[:11])
    more = action([cards[-1]], "もっと見る")
    second = chat.tap(more["data"])
    assert len(titles(second)) == 3 and "12〜14件目" in second[0]["text"]
    assert "もっと見る" not in [a["label"] for a in actions_in(second)]
    with city.rt.sessions() as db:  # the next Monday's shift is next week's
        add_shift(db, opp, NOON, at(8, 8), hours=1, capacity=4)
        add_shift(db, opp, NOON, at(7, 20), hours=1, capacity=4)
        db.commit()
    last = chat.tap(more["data"])
    assert len(titles(last)) == 4 and "今週のボランティア（12〜15件目）" in last[0]["text"]
    assert "今週のボランティア（15件目）" in chat.tap(more["data"].replace("o=11", "o=14"))[0]["text"]
