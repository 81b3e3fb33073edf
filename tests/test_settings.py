"""設定 on LINE, through signed webhooks against the emulator: what a resident chooses is what is stored, and what
is stored is what a push would select (bot/segments.py). Every button tapped here is taken from the message the
bot sent, and every message is checked against LINE's limits (Chat does it; the emulator rejects the rest)."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from bot.plan_loader import default_plan_path
from bot.postback import decode, encode
from bot.segments import Segment, count
from models.subscriptions import Preference, SubscribedDistrict, SubscribedProject, SubscribedTopic
from models.users import User
from tests.helpers import quick_labels
from tests.test_plan_bot import Chat, actions_in, assert_no_rejections, bubbles, plan_bot, texts  # noqa: F401

DISTRICTS = yaml.safe_load((default_plan_path("odawara").parent / "districts.yaml").read_text("utf-8"))["districts"]
NAMES = [d["name"] for d in DISTRICTS]


def button(messages: list[dict], label: str) -> str:
    """The postback data of the one button (or quick reply) with this label."""
    found = {a["data"] for a in actions_in(messages) if a.get("label") == label and a["type"] == "postback"}
    assert len(found) == 1, (label, [a.get("label") for a in actions_in(messages)])
    return found.pop()


def labels(messages: list[dict]) -> list[str]:
    return [a.get("label") for a in actions_in(messages)]


def stored(bot, line_user_id: str) -> dict:
    with bot.rt.sessions() as db:
        uid = db.scalar(select(User.id).where(User.line_user_id == line_user_id))
        p = db.get(Preference, uid)
        return {
            "districts": set(db.scalars(select(SubscribedDistrict.district).where(SubscribedDistrict.user_id == uid))),
            "projects": set(db.scalars(select(SubscribedProject.project).where(SubscribedProject.user_id == uid))),
            "topics": set(db.scalars(select(SubscribedTopic.topic).where(SubscribedTopic.user_id == uid))),
            "pref": None if p is None else {"frequency": p.frequency, "quiet": (p.quiet_start, p.quiet_end),
                                            "topics_chosen": p.topics_chosen, "onboarded_at": p.onboarded_at},
            "uid": uid,
        }


def reached(bot, line_user_id: str, seg: Segment = Segment(), **kw) -> bool:
    """Would a push to `seg` reach this resident now (the same query the delivery uses)?"""
    uid = stored(bot, line_user_id)["uid"]
    with bot.rt.sessions() as db:
        return count(db, Segment(districts=seg.districts, projects=seg.projects, topics=seg.topics,
                                 user_ids=(uid,)), **kw) == 1


@pytest.fixture
def chat(plan_bot, emulator, user_id):  # noqa: F811
    c = Chat(plan_bot, emulator, user_id)
    yield c
    assert_no_rejections(emulator)


def _settings_values(messages: list[dict]) -> list[str]:
    [msg] = [m for m in messages if m["type"] == "flex"]
    [b] = bubbles(msg)
    return texts(b["body"])


def test_settings_bubble_shows_the_current_choices(chat, plan_bot, user_id):
    # The rich menu's 設定 and the typed word give the same single bubble, with the defaults.
    first = chat.tap(encode("settings"))
    assert len(first) == 1 and len(bubbles(first[0])) == 1
    shown = _settings_values(first)
    assert "まだ選んでいません" in shown  # districts and projects
    assert "市からのお知らせ" in shown and "すぐに" in shown
    assert "21:00〜8:00は届けず、朝にお届けします" in shown
    assert labels(first)[:6] == ["地区を選ぶ", "プロジェクトを選ぶ", "内容を選ぶ", "届け方を選ぶ", "夜間の設定", "通知を停止する"]
    assert _settings_values(chat.say("設定")) == shown
    assert stored(plan_bot, user_id)["pref"] is None  # looking stores nothing

    # After changes through the choosers, the bubble says what was chosen, in the city's order.
    chat.tap(button(chat.tap(button(first, "地区を選ぶ")), "曽我"))
    chat.tap(button(chat.tap(encode("settings.districts")), "国府津"))
    chat.tap(button(chat.tap(encode("settings.projects")), "3 こども未来共創"))
    chat.tap(button(chat.tap(encode("settings.freq")), "週1回のまとめ"))
    shown = _settings_values(chat.tap(encode("settings")))
    assert "国府津、曽我" in shown
    assert any(t.startswith("3 こども未来") for t in shown)
    assert "週1回のまとめ" in shown and "計画の進み具合、市からのお知らせ" in shown


def test_districts_are_grouped_by_kana_and_toggled_across_groups(chat, plan_bot, user_id):
    msgs = chat.tap(encode("settings.districts"))
    [carousel] = msgs
    groups = bubbles(carousel)
    assert 4 <= len(groups) <= 6
    listed = [a["label"] for b in groups for a in actions_in(b["body"])]
    assert sorted(listed) == sorted(NAMES) and len(listed) == 26  # every 地区 once, none chosen yet
    heads = [texts(b["header"])[1] for b in groups]
    assert heads[:2] == ["あ行", "か行"]
    assert [q for q in quick_labels(carousel) if q.endswith("の地区")] == [f"{h}の地区" for h in heads]

    # 新玉 (あ行), 国府津 (か行), 前羽 (は・ま行): each tap saves and confirms, showing that group with a check mark.
    for name in ("新玉", "国府津", "前羽"):
        all_groups = chat.tap(encode("settings.districts"))
        after = chat.tap(button(all_groups, name))
        [msg] = after
        assert msg["altText"] == f"「{name}」を登録しました。"
        assert f"✓ {name}" in labels(after) and len(bubbles(msg)) == 1
        assert "設定にもどる" in quick_labels(msg) and "メニュー" in quick_labels(msg)
    assert stored(plan_bot, user_id)["districts"] == {"aratama", "kozu", "maeba"}

    # A group chosen from the quick replies shows only that group, with the choices marked.
    ka = chat.tap(button(msgs, "か行の地区"))
    assert "✓ 国府津" in labels(ka) and "新玉" not in "".join(labels(ka))

    # Tapping a chosen 地区 removes it; an old "add" button tapped again adds it once, never toggles it off.
    removed = chat.tap(button(ka, "✓ 国府津"))
    assert removed[0]["altText"] == "「国府津」の登録を解除しました。" and "国府津" in labels(removed)
    old_add = button(msgs, "新玉")  # from before 新玉 was chosen
    chat.tap(old_add)
    chat.tap(old_add)
    assert stored(plan_bot, user_id)["districts"] == {"aratama", "maeba"}
    assert reached(plan_bot, user_id, Segment(districts=("maeba",)), topic="city")
    assert not reached(plan_bot, user_id, Segment(districts=("kozu",)), topic="city")


def test_projects_and_topics_are_chosen_by_tapping(chat, plan_bot, user_id):
    projects = chat.tap(encode("settings.projects"))
    assert len([lbl for lbl in labels(projects) if lbl[0].isdigit()]) == 7
    chat.tap(button(projects, "5 地産地消"))
    assert stored(plan_bot, user_id)["projects"] == {5}

    topics = chat.tap(encode("settings.topics"))
    assert labels(topics)[:6] == ["イベント", "こどもの居場所", "ボランティア", "アンケート", "✓ 計画の進み具合",
                                  "✓ 市からのお知らせ"]  # following a project turned its progress news on
    chat.tap(button(topics, "イベント"))
    after = chat.tap(button(topics, "✓ 市からのお知らせ"))
    assert after[0]["altText"] == "「市からのお知らせ」の登録を解除しました。"
    s = stored(plan_bot, user_id)
    assert s["topics"] == {"events", "progress"} and s["pref"]["topics_chosen"] is True
    assert reached(plan_bot, user_id, topic="events")
    assert not reached(plan_bot, user_id, topic="city")  # the default no longer applies once they chose
    assert reached(plan_bot, user_id, topic="city", urgent=True)  # 緊急 ignores topics


def test_frequency_and_quiet_hours(chat, plan_bot, user_id):
    freq = chat.tap(encode("settings.freq"))
    assert labels(freq)[:3] == ["✓ すぐに", "週1回のまとめ", "受け取らない"]
    weekly = chat.tap(button(freq, "週1回のまとめ"))
    assert weekly[0]["altText"] == "届け方を「週1回のまとめ」にしました。" and "✓ 週1回のまとめ" in labels(weekly)
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "weekly"
    assert not reached(plan_bot, user_id, topic="city")
    assert reached(plan_bot, user_id, topic="city", frequencies=("weekly",))

    quiet = chat.tap(encode("settings.quiet"))
    assert labels(quiet)[:2] == ["✓ 21:00〜8:00は届けない", "時間を問わず届ける"]
    off = chat.tap(button(quiet, "時間を問わず届ける"))
    assert "✓ 時間を問わず届ける" in labels(off)
    assert stored(plan_bot, user_id)["pref"]["quiet"] == (None, None)
    assert "時間を問わずお届けします" in _settings_values(chat.tap(encode("settings")))
    chat.tap(button(off, "21:00〜8:00は届けない"))
    assert stored(plan_bot, user_id)["pref"]["quiet"] == (21 * 60, 8 * 60)


def test_stop_everything_then_turn_it_back_on(chat, plan_bot, user_id):
    chat.tap(button(chat.tap(encode("settings.projects")), "1 ケアタウン"))
    [stopped] = chat.tap(button(chat.tap(encode("settings")), "通知を停止する"))
    assert "通知を停止しました" in stopped["text"] and "通知を再開する" in stopped["text"]
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "off"
    for topic in ("city", "progress"):  # nothing reaches them, whatever the push
        assert not reached(plan_bot, user_id, topic=topic)
    assert not reached(plan_bot, user_id, Segment(projects=(1,)), topic="progress")
    assert not reached(plan_bot, user_id, topic=None, urgent=True)
    bubble_now = _settings_values(chat.tap(encode("settings")))
    assert "受け取らない" in bubble_now

    again = chat.say("配信停止")
    assert "通知は停止しています" in again[0]["text"]
    resumed = chat.tap(button(again, "通知を再開する"))
    assert resumed[0]["altText"].startswith("通知を再開しました。届け方は「すぐに」です。")
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "now"
    assert reached(plan_bot, user_id, Segment(projects=(1,)), topic="progress")
    assert stored(plan_bot, user_id)["projects"] == {1}  # stopping kept every choice


def test_resuming_brings_back_the_weekly_digest_and_every_choice(chat, plan_bot, user_id):
    # A resident who chose 週1回のまとめ (and 地区, a project, a topic, no quiet hours) stops, then resumes.
    chat.say("国府津の情報がほしい")
    chat.tap(button(chat.tap(encode("settings.projects")), "1 ケアタウン"))
    chat.tap(button(chat.tap(encode("settings.topics")), "イベント"))
    chat.tap(button(chat.tap(encode("settings.quiet")), "時間を問わず届ける"))
    chat.tap(button(chat.tap(encode("settings.freq")), "週1回のまとめ"))
    before = stored(plan_bot, user_id)
    assert before["pref"]["frequency"] == "weekly" and before["topics"] == {"city", "events", "progress"}

    [stopped] = chat.tap(button(chat.tap(encode("settings")), "通知を停止する"))
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "off"
    assert not reached(plan_bot, user_id, topic="city", frequencies=("weekly",))
    # 通知を再開する brings back the digest, so it is not offered as a second choice.
    assert "週1回のまとめで再開" not in quick_labels(stopped)
    [again] = chat.say("配信停止")  # stopping twice keeps what the first stop kept
    assert "通知は停止しています" in again["text"]

    resumed = chat.tap(button([again], "通知を再開する"))
    assert resumed[0]["altText"].startswith("通知を再開しました。届け方は「週1回のまとめ」です。")
    assert "週1回のまとめ" in _settings_values(resumed)
    after = stored(plan_bot, user_id)
    assert after == before | {"pref": before["pref"] | {"onboarded_at": after["pref"]["onboarded_at"]}}
    assert after["pref"]["frequency"] == "weekly"
    assert reached(plan_bot, user_id, Segment(districts=("kozu",)), topic="events", frequencies=("weekly",))
    assert not reached(plan_bot, user_id, topic="city")  # not switched to すぐに

    # 受け取らない in the chooser is the same stop; the settings bubble's 通知を再開する and free text resume too.
    chat.tap(button(chat.tap(encode("settings.freq")), "受け取らない"))
    settings = chat.tap(encode("settings"))
    assert "ただいま、通知を停止しています。" in texts(settings)
    chat.tap(button(settings, "通知を再開する"))
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "weekly"
    chat.say("通知を止めて")
    assert "「週1回のまとめ」" in chat.say("通知を再開してください")[0]["altText"]
    assert stored(plan_bot, user_id) == after

    # A 通知を再開する button sent before the frequency was kept (f=now) resumes as before, too.
    chat.say("通知を止めて")
    chat.tap(encode("settings.resume", f="now"))
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "weekly"


def test_a_resident_who_had_immediate_pushes_may_resume_with_the_digest(chat, plan_bot, user_id):
    chat.tap(button(chat.tap(encode("settings.freq")), "✓ すぐに"))
    [stopped] = chat.tap(button(chat.tap(encode("settings")), "通知を停止する"))
    assert quick_labels(stopped)[:3] == ["通知を再開する", "週1回のまとめで再開", "設定を見る"]
    resumed = chat.tap(button([stopped], "週1回のまとめで再開"))
    assert resumed[0]["altText"].startswith("通知を再開しました。届け方は「週1回のまとめ」です。")
    chat.say("通知を止めて")
    [again] = chat.say("配信停止")
    assert "通知を再開しました。届け方は「週1回のまとめ」です。" in chat.tap(button([again], "通知を再開する"))[0]["altText"]


def test_free_text_reaches_the_same_places(chat, plan_bot, user_id):
    [kozu] = chat.say("国府津の情報がほしい")
    assert "「国府津」地区のお知らせをお届けします" in kozu["text"] and "取り消す" in quick_labels(kozu)
    [care] = chat.say("ケアタウンの通知")
    assert "「ケアタウンの実現」のお知らせをお届けします" in care["text"]
    s = stored(plan_bot, user_id)
    assert s["districts"] == {"kozu"} and s["projects"] == {1}
    [stop] = chat.say("通知を止めて")
    assert "通知を停止しました" in stop["text"]
    assert stored(plan_bot, user_id)["pref"]["frequency"] == "off"

    # Readings and older names lead to the 地区 too; a follow while stopped says it will not arrive yet.
    [alias] = chat.say("橘南の情報がほしい")
    assert "「前羽」地区" in alias["text"] and "再開するまで届きません" in alias["text"]
    chat.say("こうづのお知らせを受け取りたい")
    assert stored(plan_bot, user_id)["districts"] == {"kozu", "maeba"}
    chat.say("小八幡のお知らせ")  # one part of 酒匂・小八幡
    chat.say("国府津の通知を止めて")  # a named 地区 with a stop word drops just that one
    assert stored(plan_bot, user_id)["districts"] == {"maeba", "sakawa_koyawata"}
    # Words pick the chooser.
    assert "夜間のお知らせ" in texts(chat.say("夜は通知来ないようにしてほしい"))
    assert "受け取る内容を選ぶ" in texts(chat.say("イベントのお知らせだけ欲しい"))
    assert "地区を選ぶ" in "".join(texts(chat.say("引っ越したので地区を変更したいです")))
    # The undo of a free-text follow works.
    [care2] = chat.say("ケアタウンの通知を受け取りたい")
    assert "すでに登録されています" in care2["text"]
    chat.tap(button([care2], "取り消す"))
    assert stored(plan_bot, user_id)["projects"] == set()


def test_the_project_carousel_subscribes_in_one_step(chat, plan_bot, user_id):
    carousel = [m for m in chat.tap(encode("plan.list")) if m["type"] == "flex"][0]
    third = bubbles(carousel)[2]
    follow = button([third], "通知を受け取る")
    assert decode(follow).action == "plan.follow"
    confirm = chat.tap(follow)
    assert len(confirm) == 1 and "「こども未来共創」のお知らせをお届けします" in confirm[0]["text"]
    assert quick_labels(confirm[0])[:2] == ["取り消す", "設定を見る"]
    s = stored(plan_bot, user_id)
    assert s["projects"] == {3} and "progress" in s["topics"]
    assert reached(plan_bot, user_id, Segment(projects=(3,)), topic="progress")  # the fiscal-year news reaches them
    assert "すでに登録されています" in chat.tap(follow)[0]["text"]
    undone = chat.tap(button(confirm, "取り消す"))
    assert "取り消しました" in undone[0]["text"] and stored(plan_bot, user_id)["projects"] == set()


def test_a_new_follower_is_asked_once_in_two_taps(chat, plan_bot, emulator, user_id):
    asked = chat._collect(lambda: emulator.send_follow(user_id))
    greeting, question = asked
    assert "友だち追加ありがとうございます" in greeting["text"]
    assert question["altText"] == "お住まいの地区を選んでください"
    assert sorted(lbl for b in bubbles(question) for lbl in labels(b["body"]["contents"])) == sorted(NAMES)
    assert stored(plan_bot, user_id)["pref"]["onboarded_at"] is not None

    interests = chat.tap(button([question], "国府津"))  # tap 1
    [msg] = interests
    assert msg["altText"] == "「国府津」地区を登録しました。"
    done = chat.tap(button(interests, "イベント"))  # tap 2
    assert "「イベント」「市からのお知らせ」のお知らせをお届けします" in done[0]["text"]
    s = stored(plan_bot, user_id)
    assert s["districts"] == {"kozu"} and s["topics"] == {"events", "city"}

    # Not asked again when they come back.
    emulator.send_unfollow(user_id)
    back = chat._collect(lambda: emulator.send_follow(user_id))
    assert len(back) == 1 and "おかえりなさい" in back[0]["text"]


def test_onboarding_can_be_skipped(plan_bot, emulator):  # noqa: F811
    from emulator import new_user_id

    user = new_user_id()
    chat = Chat(plan_bot, emulator, user)
    _, question = chat._collect(lambda: emulator.send_follow(user))
    [skipped] = chat.tap(button([question], "あとで選ぶ"))
    assert "あとからでも、メニューの「設定」で選べます" in skipped["text"]
    s = stored(plan_bot, user)
    assert s["districts"] == set() and s["pref"]["onboarded_at"] is not None and not s["pref"]["topics_chosen"]
    assert reached(plan_bot, user, topic="city")  # the default still applies
    emulator.send_unfollow(user)
    assert len(chat._collect(lambda: emulator.send_follow(user))) == 1
    assert_no_rejections(emulator)


def test_without_districts_the_follower_is_asked_about_interests_only(bot, emulator, user_id):
    """No 地区 loaded (a city still setting up): the question that can be asked, and still once."""
    chat = Chat(bot, emulator, user_id)
    greeting, question = chat._collect(lambda: emulator.send_follow(user_id))
    assert "友だち追加ありがとうございます" in greeting["text"] and question["altText"] == "関心のあることを選んでください"
    done = chat.tap(button([question], "すべて受け取る"))
    assert "「イベント」「こどもの居場所」「ボランティア」「アンケート」「計画の進み具合」「市からのお知らせ」" in done[0]["text"]
    assert len(stored(bot, user_id)["topics"]) == 6
    assert "準備しています" in chat.tap(encode("settings.districts"))[0]["text"]
    assert_no_rejections(emulator)


def test_stale_or_forged_buttons_are_answered(chat, plan_bot, user_id):
    for data in (encode("settings.district", k="nowhere", on=1), encode("settings.project", id=99, on=1),
                 encode("settings.topic", t="lottery", on=1), encode("settings.freq.set", f="hourly"),
                 encode("plan.follow", id=42), encode("settings.districts", g=77)):
        assert chat.tap(data)
    s = stored(plan_bot, user_id)
    assert s["districts"] == set() and s["projects"] == set() and s["topics"] == set()


def test_vocabulary_covers_the_stored_keys_and_fits_labels():
    """The wording file names every stored key (YAML would read a bare `off` as false) and its labels fit."""
    from handlers import settings_flex as F
    from models.subscriptions import FREQUENCIES, TOPICS

    assert set(F.TOPIC_LABELS) == set(TOPICS) and set(F.FREQ_LABELS) == set(FREQUENCIES)
    assert set(F.V["frequency_notes"]) == set(FREQUENCIES)
    for s in [*F.TOPIC_LABELS.values(), *F.FREQ_LABELS.values()] + [F.T[k] for k in F.T if k.startswith("btn_")]:
        assert 0 < len(F.mark(s, True)) <= 20, s


def test_a_location_answer_subscribes_to_that_district_in_one_tap(chat, plan_bot, emulator, user_id):
    from tests.test_location import send

    answer = send(plan_bot, emulator, user_id, 35.2765, 139.2152)  # 国府津駅
    follow = button(answer, "この地区のお知らせを受け取る")
    assert decode(follow).action == "settings.district" and decode(follow).get("k") == "kozu"
    confirm = chat.tap(follow)
    assert any("国府津" in t for m in confirm for t in ([m.get("text", "")] + (texts(bubbles(m)[0]["body"])
                                                                                 if m["type"] == "flex" else [])))
    assert stored(plan_bot, user_id)["districts"] == {"kozu"}
    assert reached(plan_bot, user_id, Segment(districts=("kozu",)), topic="city")
