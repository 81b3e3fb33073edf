"""LINE view of a content-search answer: 「こちらが関係ありそうです」 and one bubble per match (what it is, its
title, a line about it, and one button into the feature's own view). Pure functions from values to message
dicts; shared pieces from handlers/flex.py."""
from __future__ import annotations

from dataclasses import dataclass

from handlers import ui
from handlers.flex import ACCENT, MUTED, bubble, button, flex_message, tail_quick, text

INTRO = "こちらが関係ありそうです。"
ALT = "こちらが関係ありそうです"
# What each kind of match is, in the words residents see on the bubble's header.
KIND_LABELS = {"action": "計画のアクション", "project": "協働プロジェクト", "event": "イベント", "place": "こどもの居場所",
               "volunteer": "ボランティア募集", "survey": "アンケート", "faq": "よくある質問"}
BUTTON = {"action": "詳しく見る", "project": "詳しく見る", "event": "詳しく見る", "place": "詳しく見る",
          "volunteer": "詳しく見る", "survey": "アンケートを開く", "faq": "答えを見る"}
TITLE_LINES, LINE_LINES = 3, 2


@dataclass(frozen=True)
class Card:
    """One match, ready to show: `action` is the postback into the feature's view."""

    kind: str
    title: str
    subtitle: str
    when: str | None
    action: dict


def card_bubble(c: Card) -> dict:
    body = [{**text(c.title, weight="bold"), "maxLines": TITLE_LINES}]
    if c.when:
        body.append(text(c.when, size="sm", color=ACCENT, weight="bold"))
    if c.subtitle:
        body.append({**text(c.subtitle, size="sm", color=MUTED), "maxLines": LINE_LINES})
    return bubble(body, header=[text(KIND_LABELS.get(c.kind, ""), size="sm", color=ACCENT, weight="bold")],
                  footer=[button(c.action, style="primary")], size="kilo")


def answer_messages(cards: list[Card]) -> list[dict]:
    """The intro line, then the bubbles in one carousel, with the way back to the menu."""
    return ui.with_quick([ui.text(INTRO), flex_message(ALT, [card_bubble(c) for c in cards])], tail_quick())


def postback(kind: str, display: str, **params) -> dict:
    return ui.postback(BUTTON.get(kind, "詳しく見る"), ACTIONS[kind], display[:300], **params)


# The view each kind's button opens (the features' own postbacks).
ACTIONS = {"action": "plan.action", "project": "plan.project", "event": "events.show", "place": "places.show",
           "volunteer": "volunteer.show", "survey": "survey.open", "faq": "faq"}
