"""What a handler gets: the event, the user, their conversation state, the clock and a session."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.postback import Postback
from models.conversation import ConversationState, clear_state, get_state, set_state
from models.users import User

if TYPE_CHECKING:
    from bot.config import Config


@dataclass
class Ctx:
    event: dict
    user: User | None
    db: Session
    now: datetime
    config: "Config"
    state: ConversationState | None = None
    postback: Postback | None = None
    text: str = ""                       # normalised text of a text message
    intent: Any = None                   # handlers.nlu.Intent for text messages

    def set_state(self, flow: str, **kw) -> ConversationState:
        assert self.user is not None
        self.state = set_state(self.db, self.user.id, flow, self.now, **kw)
        return self.state

    def clear_state(self) -> None:
        if self.user is not None:
            clear_state(self.db, self.user.id)
        self.state = None

    @classmethod
    def load_state(cls, db: Session, user: User | None, now: datetime) -> ConversationState | None:
        return get_state(db, user.id, now) if user is not None else None


def raw_text(ctx: Ctx) -> str:
    """The resident's message as typed, for reading it into words (Sudachi reads the typed text better than the
    router's folded `ctx.text`: 子ども and ｺﾄﾞﾓ keep their own readings); `ctx.text` when the event carries no
    text (a handler called with a postback or a hand-made event)."""
    msg = ctx.event.get("message") if isinstance(ctx.event, dict) else None
    raw = msg.get("text") if isinstance(msg, dict) else None
    return raw if isinstance(raw, str) and raw.strip() else (ctx.text or "")
