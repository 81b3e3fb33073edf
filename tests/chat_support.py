"""A resident chatting with the live bot through the emulator, and the actions (buttons, tappable boxes, quick
replies) inside what the bot sent: shared by the plan, events, places and volunteer bot tests."""
from __future__ import annotations

from emulator.limits import check_messages


class Chat:
    """One resident tapping buttons: each call returns the messages the bot sent for that event."""

    def __init__(self, bot, emulator, user_id):
        self.bot, self.emulator, self.user = bot, emulator, user_id

    def _collect(self, send) -> list[dict]:
        n = len(self.emulator.sent(user=self.user))
        status, _ = send()
        assert status == 200
        self.bot.settle()
        records = self.emulator.sent(user=self.user)[n:]
        assert records, "the bot stayed silent"
        for r in records:
            assert check_messages(r["messages"]) == [], r["messages"]
        return [m for r in records for m in r["messages"]]

    def tap(self, data: str) -> list[dict]:
        return self._collect(lambda: self.emulator.send_postback(self.user, data))

    def say(self, text: str) -> list[dict]:
        return self._collect(lambda: self.emulator.send_text(self.user, text))

    def tap_label(self, messages: list[dict], label: str) -> list[dict]:
        return self.tap(action(messages, label)["data"])


def walk(node, found: list[dict]) -> None:
    """Every action object inside a message (buttons, tappable boxes, quick replies)."""
    if isinstance(node, dict):
        if (node.get("type") == "postback" and "data" in node) or (node.get("type") == "uri" and "uri" in node):
            found.append(node)
        for v in node.values():
            walk(v, found)
    elif isinstance(node, list):
        for v in node:
            walk(v, found)


def actions_in(messages) -> list[dict]:
    found: list[dict] = []
    walk(messages, found)
    return found


def action(messages, label: str) -> dict:
    hits = [a for a in actions_in(messages) if a.get("label") == label]
    assert hits, (label, [a.get("label") for a in actions_in(messages)])
    return hits[0]


def texts(node) -> list[str]:
    """Every text node's text inside a message (or any part of one), in order."""
    out: list[str] = []

    def go(n):
        if isinstance(n, dict):
            if n.get("type") == "text" and isinstance(n.get("text"), str):
                out.append(n["text"])
            for v in n.values():
                go(v)
        elif isinstance(n, list):
            for v in n:
                go(v)
    go(node)
    return out
