"""Where a resident is in a multi-step flow (survey, sign-up, confirmation), with an expiry."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.clock import utc
from models.base import Base, BigId
from models.privacy import deletion_hook


class ConversationState(Base):
    __tablename__ = "conversation_states"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict] = mapped_column(default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime]


def get_state(db: Session, user_id: int, now: datetime) -> ConversationState | None:
    """The user's live state, or None when there is none or it has expired."""
    return live_state(db, db.get(ConversationState, user_id), now)


def live_state(db: Session, st: ConversationState | None, now: datetime) -> ConversationState | None:
    """`st` if it is still live; an expired state is deleted and None returned."""
    if st is not None and utc(st.expires_at) <= utc(now):
        db.delete(st)
        return None
    return st


def set_state(
    db: Session, user_id: int, flow: str, now: datetime, *, step: str = "", data: dict | None = None, ttl: timedelta = timedelta(minutes=30)
) -> ConversationState:
    st = db.get(ConversationState, user_id)
    if st is None:
        st = ConversationState(user_id=user_id, flow=flow, expires_at=now + ttl, updated_at=now)
        db.add(st)
    st.flow, st.step, st.data = flow, step, dict(data or {})
    st.expires_at, st.updated_at = now + ttl, now
    return st


def clear_state(db: Session, user_id: int) -> None:
    db.execute(delete(ConversationState).where(ConversationState.user_id == user_id))


@deletion_hook("conversation_states", order=20)
def delete_states(db: Session, user) -> None:
    clear_state(db, user.id)
