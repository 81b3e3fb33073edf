"""よくある質問 on LINE (step 10): a button carrying an entry's id (content search bubbles, the fallback's
answer) shows that entry's answer while it is published. Free text reaches an entry through
handlers/fallback.py, which asks bot/faq.py: match and shows `answer(entry)`."""
from __future__ import annotations

from handlers import faq_flex as F
from handlers.context import Ctx
from models.faq import PUBLISHED, FaqEntry

ACTION = "faq"


def answer(entry: FaqEntry) -> list[dict]:
    return F.answer_messages(entry)


def show(ctx: Ctx) -> list[dict]:
    eid = ctx.postback.int("id") if ctx.postback is not None else None
    entry = ctx.db.get(FaqEntry, eid) if eid is not None and 0 < eid < 2 ** 63 else None
    if entry is None or entry.status != PUBLISHED:
        return F.not_available()
    return answer(entry)


POSTBACKS = {ACTION: show}
