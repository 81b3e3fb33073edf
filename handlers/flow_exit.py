"""Leaving a step-by-step flow from typed text, one way for every flow (the volunteer name, a survey question).

`wants_to_stop(text)`: the resident says they want to stop what they are doing here (やめます, やっぱりいいです,
キャンセル, 申し込まない ...): the flow ends as its own stop button would, and nothing is signed up or deleted.
An explicit request to leave the service (退会, データを消して, ブロック ...) is never a stop word: it goes on to the
退会 screen. `other_request(text)`: the classifier is sure the message asks for another feature, so the flow
is left and the message answered as that request. Words: handlers/flow_exit_vocab.yaml.
"""
from __future__ import annotations

import re
import unicodedata

from handlers.texts import vocab

V = vocab("flow_exit")
SHORT: int = int(V["short"])
LEAVES_FLOW = 0.8  # a route at least this sure is a request for another feature; a vague word is a (bad) answer
_END = re.compile(r"[\s。、．，,.!！?？…〜~ー―ｰ]+$")


def _fold(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or "").lower())


_FILLERS = sorted({_fold(w) for w in V["fillers"]}, key=len, reverse=True)
_WHOLE = frozenset(_fold(w) for w in V["whole"])
_PARTS = tuple(_fold(w) for w in V["parts"])
_LEAVE = tuple(_fold(w) for w in V["leave"])


def _core(text: str) -> str:
    """The message folded, end punctuation and leading fillers (もう, やっぱり ...) taken off."""
    s = _END.sub("", _fold(text))
    changed = True
    while changed and s:
        changed = False
        for f in _FILLERS:
            if s.startswith(f) and len(s) > len(f):
                s, changed = _END.sub("", s[len(f):].lstrip("、,。")), True
                break
    return s


def asks_to_leave(text: str) -> bool:
    """An explicit request to leave the service or delete one's data (退会, データを消して, ブロック ...)."""
    s = _fold(text)
    return any(w in s for w in _LEAVE)


def wants_to_stop(text: str, *, whole_only: bool = False) -> bool:
    """Does the resident say they want to stop this flow? `whole_only`: only a message that is nothing but a stop
    word (with fillers) counts, for a question whose free-text answer could mention 中止 or キャンセル."""
    if not text or asks_to_leave(text):
        return False
    s = _core(text)
    if s in _WHOLE or _END.sub("", _fold(text)) in _WHOLE:  # もういい: a stop word that starts like a filler
        return True
    return not whole_only and len(s) <= SHORT and any(w in s for w in _PARTS)


def other_request(text: str, *, ignore: tuple[str, ...] = ()) -> bool:
    """Does the classifier read this, surely, as another feature's words? Only a clear reading counts: a vague
    guess is an answer to ask again. `ignore`: intents that do not leave this flow (a greeting in the middle of
    giving one's name is asked again, not answered with the menu)."""
    from handlers import nlu

    got = nlu.classify(text)
    return got.name not in ("unknown", *ignore) and got.score >= LEAVES_FLOW
