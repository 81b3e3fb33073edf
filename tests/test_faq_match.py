"""bot/faq.py on both databases: a resident's paraphrase reaches the published FAQ entry it asks about, other
messages reach none, drafts and unpublished entries are never answered, an edit is seen at the next message
(also one made in the same instant: the revision), the not-understood list aggregates one normalised text
with a count and keeps nothing else, and the 90-day purge."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import faq
from models.faq import DRAFT, PUBLISHED, FaqEntry, NluMiss
from scheduler import faq_jobs
from tests.admin_support import T0
from tests.test_faq_bot import faq_fresh  # noqa: F401  (autouse)

ENTRIES = [
    ("粗大ごみの出し方を教えてください", "粗大ごみは事前の申し込みが必要です。", ["粗大ごみを出したい", "大きいごみの捨て方"]),
    ("市役所の開庁時間は？", "平日の8時30分から17時15分までです。", ["市役所は何時から何時まで開いていますか", "窓口の受付時間"]),
    ("マイナンバーカードはどこで受け取れますか", "市役所の戸籍住民課で受け取れます。", ["マイナンバーカードの受け取り場所"]),
    ("子どもの予防接種はどこで受けられますか", "市内の協力医療機関で受けられます。", ["予防接種の予約"]),
    ("協働事業の提案はどうすればいいですか", "企画政策課にご相談ください。", ["市に事業を提案したい"]),
]

# (message, question of the entry it must reach)
PARAPHRASES = [
    ("粗大ゴミってどうやって出すの", 0),
    ("市役所って何時まで？", 1),
    ("市役所は土曜も開いてますか", 1),
    ("こどもの予防接種を受けたい", 3),
    ("子供の予防接種の場所", 3),
    ("事業の提案をしたいです", 4),
    ("協働の提案をしたい", 4),
    ("マイナンバーカード受け取りたい", 2),
]
# Messages no entry answers: other features' words, out of scope, courtesy, odd input.
UNRELATED = ["今日の天気は", "ゴミの日はいつ", "子どものイベント", "ボランティアしたい", "バスが減って困る", "ありがとう",
             "住民票がほしい", "子供の居場所を探したい", "カードをなくした", "プロジェクト3", "イベントに申し込みたい",
             "", "   ", "！！！", "12345", "a" * 2000, "\u0000\ud800"]


def add(db, question, answer, examples, status=PUBLISHED) -> FaqEntry:
    e = FaqEntry(question=question, answer=answer, examples=examples, status=status, created_at=T0, updated_at=T0)
    db.add(e)
    db.flush()
    return e


@pytest.fixture
def entries(admin_env):
    with admin_env.db() as db:
        ids = [add(db, *x).id for x in ENTRIES]
        db.commit()
    return ids


@pytest.mark.parametrize("text,which", PARAPHRASES)
def test_a_paraphrase_reaches_its_entry(admin_env, entries, text, which):
    with admin_env.db() as db:
        found = faq.match(db, text)
        assert found is not None, (text, faq.rank(faq.index_for(db), text)[:3])
        assert found[0].id == entries[which] and found[1] >= faq.THRESHOLD


def test_other_messages_reach_no_entry(admin_env, entries):
    with admin_env.db() as db:
        wrong = {t: faq.match(db, t) for t in UNRELATED}
        assert {t: (m[0].question, round(m[1], 2)) for t, m in wrong.items() if m} == {}


def test_only_published_entries_answer_and_changes_are_seen_at_once(admin_env, entries):
    """The index is per process; publish, unpublish, edit and delete reach the next message, even when the
    clock has not moved (the frozen clock: updated_at alone would not tell)."""
    with admin_env.db() as db:
        draft = add(db, "犬の登録はどこでしますか", "環境保護課で登録できます。", ["犬を飼い始めた"], status=DRAFT)
        db.commit()
        assert faq.match(db, "犬を飼い始めました") is None
        draft.status, draft.revision = PUBLISHED, draft.revision + 1
        db.commit()
        assert faq.match(db, "犬を飼い始めました")[0].id == draft.id
        draft.examples, draft.revision = ["犬を飼い始めた", "ペットの届け出"], draft.revision + 1
        db.commit()
        assert faq.match(db, "ペットの届け出をしたい")[0].id == draft.id
        draft.status, draft.revision = DRAFT, draft.revision + 1
        db.commit()
        assert faq.match(db, "犬を飼い始めました") is None
        db.delete(db.get(FaqEntry, entries[1]))
        db.commit()
        assert faq.match(db, "市役所って何時まで？") is None
        assert faq.match(db, "粗大ゴミってどうやって出すの")[0].id == entries[0]


def test_no_entries_no_match(admin_env):
    with admin_env.db() as db:
        assert faq.match(db, "粗大ゴミってどうやって出すの") is None


def test_two_close_entries_give_no_answer():
    """When the best two are close and neither is sure, a wrong answer is likelier than a right one."""
    assert faq.decide([(1, 0.55), (2, 0.52)]) is None
    assert faq.decide([(1, 0.9), (2, 0.88)]) == (1, 0.9)
    assert faq.decide([(1, 0.55), (2, 0.3)]) == (1, 0.55)
    assert faq.decide([(1, faq.THRESHOLD - 0.01)]) is None


# --- the not-understood list ------------------------------------------------------------------------------------

def misses(env) -> list[tuple[str, int]]:
    with env.db() as db:
        return [(m.text, m.count) for m in db.scalars(select(NluMiss).order_by(NluMiss.text))]


def test_misses_aggregate_by_normalised_text(admin_env):
    with admin_env.db() as db:
        for i, text in enumerate(["家の前の道路に穴があいてる", "家の前の道路に穴があいてる！", " 家の前の道路に穴があいてる。",
                                  "ＡＢＣ", "abc", "空き家が心配"]):
            assert faq.record_miss(db, text, T0 + timedelta(minutes=i)) is True
            db.commit()
    assert misses(admin_env) == [("abc", 2), ("家の前の道路に穴があいてる", 3), ("空き家が心配", 1)]
    with admin_env.db() as db:
        row = db.scalar(select(NluMiss).where(NluMiss.text == "家の前の道路に穴があいてる"))
        assert row.first_seen.replace(tzinfo=None) == T0.replace(tzinfo=None)
        assert row.last_seen.replace(tzinfo=None) == (T0 + timedelta(minutes=2)).replace(tzinfo=None)


def test_misses_skip_numbers_symbols_and_long_texts_and_mask_contact_details(admin_env):
    with admin_env.db() as db:
        for text in ["12345", "０９０-１２３４-５６７８", "！？…", "👍", "", "あ" * 201]:
            assert faq.record_miss(db, text, T0) is False, text
        assert faq.record_miss(db, "あ" * 200, T0) is True
        assert faq.record_miss(db, "090-1234-5678に電話ください", T0) is True
        assert faq.record_miss(db, "連絡は taro@example.jp まで", T0) is True
        db.commit()
    texts = [t for t, _ in misses(admin_env)]
    assert "＊に電話ください" in texts and "連絡は ＊ まで" in texts and "あ" * 200 in texts
    assert not any("090" in t or "taro" in t for t in texts)


def test_the_table_holds_the_text_and_counts_only():
    assert {c.name for c in NluMiss.__table__.columns} == {"id", "text", "count", "first_seen", "last_seen"}
    assert not NluMiss.__table__.foreign_keys


def test_misses_not_seen_for_90_days_are_purged(admin_env):
    with admin_env.db() as db:
        faq.record_miss(db, "古い言葉", T0 - timedelta(days=120))
        faq.record_miss(db, "古いけれど最近も", T0 - timedelta(days=120))
        faq.record_miss(db, "古いけれど最近も", T0 - timedelta(days=89))
        faq.record_miss(db, "最近の言葉", T0 - timedelta(days=1))
        db.commit()
    assert faq_jobs.run(admin_env.rt, now=T0) == 1
    assert [t for t, _ in misses(admin_env)] == ["古いけれど最近も", "最近の言葉"]
    assert faq_jobs.run(admin_env.rt, now=T0) == 0  # idempotent
    assert faq_jobs.run(admin_env.rt, now=T0 + timedelta(days=88)) == 1  # 最近の言葉 is 89 days old then
    assert [t for t, _ in misses(admin_env)] == ["最近の言葉"]
