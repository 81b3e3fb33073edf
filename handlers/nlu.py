"""Free text -> intent. Normalises Japanese input and matches keyword tables.

Step 1 keeps a small core table; the plan-aware tables (synonyms as city data, fuzzy matching,
action numbers) extend `classify` in step 3.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import jaconv


@dataclass(frozen=True)
class Alternative:
    label: str
    action: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Intent:
    name: str                     # e.g. "help", "plan.project", "unknown"
    target: str | None = None     # e.g. project number "1", action "101", district name
    score: float = 1.0
    alternatives: tuple[Alternative, ...] = ()


UNKNOWN = Intent("unknown", score=0.0)

_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\U0000FE0F\U0000200D\U000020E3\U00002B00-\U00002BFF]"
)
_TRAIL = re.compile(r"[\s。、．，.,!?！？~〜ー…・ｗw笑]+$")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full/half width), lower case, katakana -> hiragana, emoji and trailing punctuation off."""
    s = unicodedata.normalize("NFKC", text or "")
    s = _EMOJI.sub("", s)
    s = s.lower().strip()
    s = _SPACE.sub(" ", s)
    while True:
        t = _TRAIL.sub("", s)
        if t == s:
            break
        s = t
    return s


def to_hiragana(s: str) -> str:
    return jaconv.kata2hira(s)


# Core intents: (intent, keywords matched against the hiragana form). Plan intents come in step 3.
CORE_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("leave", ("退会", "たいかい", "データ削除", "でーた削除", "登録解除", "個人情報を消", "アカウント削除")),
    ("help", ("ヘルプ", "へるぷ", "使い方", "つかいかた", "めにゅー", "何ができ", "なにができ", "はじめまして", "こんにちは")),
    ("places", ("居場所", "いばしょ", "こども食堂", "子ども食堂", "子供食堂")),
    ("events", ("いべんと", "催し", "お祭り", "おまつり")),
    ("volunteer", ("ぼらんてぃあ", "手伝", "てつだ")),
    ("survey", ("あんけーと",)),
    ("settings", ("設定", "せってい", "通知", "つうち")),
    ("plan.list", ("ぷろじぇくと", "協働")),
]


def classify(text: str) -> Intent:
    s = to_hiragana(normalise(text))
    if not s:
        return UNKNOWN
    for name, words in CORE_KEYWORDS:
        if any(to_hiragana(w) in s for w in words):
            return Intent(name)
    return UNKNOWN
