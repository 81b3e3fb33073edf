"""The LINE view of an FAQ entry (also the admin's preview): the question as a heading, the city's answer, the
department that answers for it, and the menu as quick replies. A pure function of the entry's values."""
from __future__ import annotations

from handlers import ui
from handlers.flex import MUTED, bubble, text
from handlers.menu import main_menu_quick

LABEL = "よくある質問"
DEPARTMENT = "担当：{department}"
NOT_AVAILABLE = "この質問の答えは、いまは表示できません。メニューからお選びください。"


def answer_bubble(question: str, answer: str, department: str | None = None) -> dict:
    header = [text(LABEL, size="xs", color=MUTED), text(question, weight="bold", size="md")]
    body = [text(answer)]
    if department:
        body.append(text(DEPARTMENT.format(department=department), size="xs", color=MUTED, margin="lg"))
    return bubble(body, header=header)


def answer_messages(entry) -> list[dict]:
    """What a resident gets for an entry: one bubble with the answer, then the way on (the menu)."""
    return [ui.flex(f"{LABEL}：{entry.question}", answer_bubble(entry.question, entry.answer, entry.department),
                    main_menu_quick())]


def not_available() -> list[dict]:
    return [ui.text(NOT_AVAILABLE, main_menu_quick())]
