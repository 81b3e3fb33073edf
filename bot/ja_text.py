"""Japanese words of a message: SudachiPy with sudachidict_core, loaded once per process.

Why Sudachi: its normalised form folds spelling variants a resident types into one word (子ども / こども / 子供 →
子供, 申込む / 申し込む → 申し込む), which both the intent scoring (handlers/nlu.py) and the content search
(bot/content_search.py) need, and it splits a sentence into words so every cue in it counts, not only the first
table word found. The dictionary loads at first use (or `warm()` at process start) and its cost is kept in
`stats()` for bench/intent.py; a tokenizer per thread, because Sudachi's is not safe to share between threads.
"""
from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 1000  # the router does not parse longer messages; Sudachi refuses inputs over ~49 KB anyway
# Parts of speech that carry meaning for matching; particles, auxiliaries and symbols do not.
CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞")  # 感動詞 (こんにちは): tokens()
# Words too common to tell one thing from another (normalised forms).
STOP = frozenset("する ある いる なる 為る 居る 成る 有る こと 事 もの 物 よう 様 ため 為 の ん さん 方 これ それ あれ どれ "
                 "ここ そこ どこ 何 なに いい 良い 好い 思う 言う 云う 出来る できる 頂く いただく 下さる くださる 欲しい "
                 "ほしい 知る 教える 見る 分かる わかる 今 一 お ご".split())

_lock = threading.Lock()
_dictionary = None
_local = threading.local()
_stats = {"load_s": None}


@dataclass(frozen=True)
class Token:
    surface: str
    norm: str      # Sudachi's normalised form: 子供 for 子ども / こども
    base: str      # dictionary form: 行ける for 行け
    pos: str       # first part-of-speech level: 名詞, 動詞 ...
    reading: str   # katakana reading


def _dict():
    global _dictionary
    if _dictionary is None:
        with _lock:
            if _dictionary is None:
                t0 = time.perf_counter()
                from sudachipy import Dictionary

                d = Dictionary(dict="core")
                d.tokenizer().tokenize("起動")  # the first call maps the dictionary: count it as loading
                _stats["load_s"] = time.perf_counter() - t0
                _dictionary = d
    return _dictionary


def _tokenizer():
    tok = getattr(_local, "tok", None)
    if tok is None:
        from sudachipy import SplitMode

        tok = _local.tok = _dict().tokenizer(SplitMode.C)
    return tok


def warm() -> float:
    """Load the dictionary now (a worker's first resident should not wait); returns the seconds it took."""
    _dict()
    _tokenizer()
    return _stats["load_s"] or 0.0


def stats() -> dict:
    return dict(_stats)


def clean(text: str) -> str:
    """NFKC, no control characters or lone surrogates, at most MAX_CHARS: what the tokenizer is given."""
    s = "".join(ch for ch in (text or "")[:MAX_CHARS] if not 0xD800 <= ord(ch) <= 0xDFFF)
    s = unicodedata.normalize("NFKC", s)
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in s).strip()


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[Token, ...]:
    """The words of `text` (cleaned first). Cached: residents send the same short texts again and again."""
    s = clean(text)
    if not s:
        return ()
    out = []
    for m in _tokenizer().tokenize(s):
        pos = m.part_of_speech()[0]
        if pos in ("空白", "補助記号"):
            continue
        out.append(Token(m.surface(), m.normalized_form(), m.dictionary_form(), pos, m.reading_form()))
    return tuple(out)


def terms(text: str) -> list[str]:
    """Content words in normalised form, lower case, in order (repeats kept): for search and cue matching."""
    out = []
    for t in tokens(text):
        if t.pos not in CONTENT_POS:
            continue
        word = t.norm.lower()
        if word in STOP or (len(word) == 1 and "\u3041" <= word <= "\u309f"):
            continue
        out.append(word)
    return out
