"""The bot side of a staff member's LINE link: 「連携 123456」 (the code from the admin's LINE連携 page).

Tried before the conversation flows and the NLU (router COMMANDS): the message must be the command word
and six digits, nothing else, so a resident's ordinary message never lands here. The answer never says
whether a code existed, was used or expired: one text for every refusal.
"""
from __future__ import annotations

import re

from bot.admin.staff_link import LINKED, THROTTLED, redeem
from handlers import ui
from handlers.context import Ctx
from handlers.flex import tail_quick

# After NFKC and lower-casing (nlu.normalise): 「連携 123456」「LINE連携：123 456」「れんけい123456」
_COMMAND = re.compile(r"(?:line\s*)?(?:連携|れんけい)(?:こーど|コード)?\s*[:：]?\s*(\d{3})[\s-]?(\d{3})")

TEXTS = {
    LINKED: "管理画面のアカウントと、このLINEを連携しました。\nお知らせの「テスト配信」は、このLINEに届きます。"
            "\n解除は、管理画面の「LINE連携」からできます。",
    "wrong": "連携できませんでした。コードが違うか、有効期限（10分）が過ぎています。"
             "\n管理画面の「LINE連携」で新しいコードを出して、もう一度送ってください。",
    THROTTLED: "続けて間違えたため、しばらく受け付けを止めています。\n15分ほど待ってから、もう一度お試しください。",
}


def link_command(ctx: Ctx) -> list[dict] | None:
    m = _COMMAND.fullmatch(ctx.text)
    if m is None or ctx.user is None:
        return None
    result = redeem(ctx.db, ctx.user, m.group(1) + m.group(2), ctx.now, ctx.config.secret_key)
    return [ui.text(TEXTS.get(result.outcome, TEXTS["wrong"]), tail_quick())]


COMMANDS = {"staff_link": link_command}
