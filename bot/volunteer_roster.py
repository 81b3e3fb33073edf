"""A shift's roster at the door: who holds a place (by the name they chose to give), who waits, and the
出席 / 欠席 taps with the hours that follow.

Attendance is a registration status (attended / no_show) of the one mechanism (bot/registrations.py): both
still hold the place, so the slot's counters do not change. The change is made under the slot's row lock
(`registrations._lock`), so a tap and a resident's cancellation of the same sign-up are decided one after the
other, never both.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import registrations as regs
from bot.clock import to_tokyo
from models.registrations import ATTENDED, HOLDING, Registration
from models.volunteer import Shift, VolunteerProfile

MARKABLE = regs.MARKABLE
NO_NAME = "（お名前の登録なし）"


@dataclass
class Row:
    reg_id: int
    name: str
    status: str
    number: int  # order within its list (places held, or the waitlist)
    requested_at: datetime  # Tokyo
    minutes: int  # the shift's length when attended, else 0


def mark_attendance(db: Session, reg_id: int, attended: bool, *, now: datetime) -> str:
    """出席 / 欠席 for one sign-up: the registration mechanism's own (bot/registrations.py)."""
    return regs.mark_attendance(db, reg_id, attended, now=now)


def names(db: Session, user_ids) -> dict[int, str]:
    """The name each resident chose to give for sign-ups; nothing else about them."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    return dict(db.execute(select(VolunteerProfile.user_id, VolunteerProfile.display_name)
                           .where(VolunteerProfile.user_id.in_(ids))).all())


def rows(db: Session, shift: Shift) -> tuple[list[Row], list[Row]]:
    """(holding a place in arrival order, waitlist in order) for the shift; cancelled sign-ups are left out."""
    slot = regs.find_slot(db, "shift", shift.id)
    if slot is None:
        return [], []
    regs_ = regs.roster(db, slot.id)
    named = names(db, [r.user_id for r in regs_])
    held: list[Row] = []
    waiting: list[Row] = []
    for r in regs_:
        target = held if r.status in HOLDING else waiting
        target.append(Row(reg_id=r.id, name=named.get(r.user_id) or NO_NAME, status=r.status,
                          number=len(target) + 1, requested_at=to_tokyo(r.requested_at),
                          minutes=shift.minutes if r.status == ATTENDED else 0))
    return held, waiting


def hours_text(minutes: int) -> str:
    """2時間30分, 3時間, 45分."""
    h, m = divmod(int(minutes), 60)
    if h and m:
        return f"{h}時間{m}分"
    return f"{h}時間" if h else f"{m}分"

