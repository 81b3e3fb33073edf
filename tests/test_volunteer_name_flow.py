"""The name for organisers, typed during sign-up (handlers/volunteer.py: name_flow): a resident who says they want
to stop is not signed up, another request leaves the step and is answered, a sentence or a question is asked again
politely, and real names (漢字, かな, Latin, one character) still work."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.registrations import Registration
from models.users import User
from models.volunteer import VolunteerProfile
from tests.helpers import quick_labels
from tests.test_events_bot import NOON, Chat, city  # noqa: F401
from tests.test_volunteer_bot import shifts  # noqa: F401


def _asked_name(chat: Chat, shift_id: int) -> list[dict]:
    ask = chat.tap(f"v=1&a=volunteer.join&id={shift_id}")
    name_q = chat.tap_label(ask, ask[0]["template"]["actions"][0]["label"])  # 申し込む / キャンセル待ちに登録
    assert "主催者にお伝えするお名前" in name_q[0]["text"]
    return name_q


def _stored(city, line_id: str) -> tuple[str | None, int]:
    with city.rt.sessions() as db:
        uid = db.scalar(select(User.id).where(User.line_user_id == line_id))
        prof = db.get(VolunteerProfile, uid)
        regs = db.scalar(select(Registration.id).where(Registration.user_id == uid).limit(1))
        return (prof.display_name if prof else None), (1 if regs else 0)


@pytest.mark.parametrize("said", ["やっぱりやめます", "やっぱりいいです", "申し込まない", "いらないです", "キャンセルします"])
def test_wanting_to_stop_is_not_a_name_and_signs_nothing(shifts, city, emulator, user_id, said):
    chat = Chat(city, emulator, user_id)
    _asked_name(chat, shifts["kitchen"])
    out = chat.say(said)
    assert out[0]["text"] == "お名前の入力をやめました。申し込みはしていません。"
    assert "にしました" not in " ".join(m.get("text", "") for m in out)
    assert _stored(city, user_id) == (None, 0)
    # The step is over: a name typed now is not taken as one.
    assert "にしました" not in " ".join(m.get("text", "") for m in chat.say("山田 花子"))
    assert _stored(city, user_id) == (None, 0)


def test_another_request_leaves_the_step_and_is_answered(shifts, city, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    _asked_name(chat, shifts["beach"])
    out = chat.say("今週末のイベント")
    said = " ".join(m.get("text", "") or m.get("altText", "") for m in out)
    assert "にしました" not in said and "申し込みました" not in said
    assert "イベント" in said
    assert _stored(city, user_id) == (None, 0)


@pytest.mark.parametrize("said", ["参加したいのですが持ち物はありますか？", "山田？", "よろしくお願いします。", "名前は言いたくないです"])
def test_a_sentence_or_a_question_is_asked_again(shifts, city, emulator, user_id, said):
    chat = Chat(city, emulator, user_id)
    _asked_name(chat, shifts["beach"])
    again = chat.say(said)
    assert "お名前として受け取れませんでした" in again[0]["text"] and quick_labels(again[0]) == ["やめる"]
    assert _stored(city, user_id) == (None, 0)
    done = chat.say("山田 花子")  # still in the step
    assert "お名前を「山田 花子」にしました" in done[0]["text"]
    assert _stored(city, user_id) == ("山田 花子", 1)


@pytest.mark.parametrize("typed,name", [("山田 花子", "山田 花子"), ("やまだ", "やまだ"), ("Smith", "Smith"), ("李", "李"),
                                        ("早川 太郎", "早川 太郎"), ("山田です", "山田"), ("Mary Ann Smith", "Mary Ann Smith")])
def test_real_names_still_work(shifts, city, emulator, user_id, typed, name):
    chat = Chat(city, emulator, user_id)
    _asked_name(chat, shifts["beach"])
    out = chat.say(typed)
    assert f"お名前を「{name}」にしました" in out[0]["text"] and "申し込みました" in out[1]["text"]
    assert _stored(city, user_id) == (name, 1)
