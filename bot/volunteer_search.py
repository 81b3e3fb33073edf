"""Shifts a resident can still sign up for (ボランティア on LINE, the admin's preview): published
opportunities' open shifts not yet started, soonest first, those of the resident's 地区 and projects first.

`districts`/`projects` narrow the search; `prefer_districts`/`prefer_projects` only order it (the resident's
subscriptions: what is near them and what they care about comes first, the rest follows).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from bot.clock import utc
from models.registrations import RegistrationSlot
from models.volunteer import KIND, OPEN, PUBLISHED, Opportunity, Shift


@dataclass(frozen=True)
class ShiftHit:
    opportunity: Opportunity
    shift: Shift
    slot: RegistrationSlot | None  # None until the first sign-up (or the admin) makes it
    preferred: bool = False

    @property
    def left(self) -> int:
        """Places still free (0 when full or people wait)."""
        return places_left(self.shift, self.slot)


def places_left(shift: Shift, slot: RegistrationSlot | None) -> int:
    if slot is None:
        return shift.capacity
    if slot.capacity is None:
        return 1_000_000
    if slot.waiting:
        return 0
    return max(0, slot.capacity - slot.confirmed)


def find_shifts(db: Session, *, now: datetime, districts=(), projects=(), start: datetime | None = None,
                end: datetime | None = None, open_only: bool = False, limit: int = 10, offset: int = 0,
                prefer_districts=(), prefer_projects=(), opportunity_id: int | None = None) -> list[ShiftHit]:
    S, O, SL = Shift, Opportunity, RegistrationSlot
    now = utc(now)
    stmt = (select(O, S, SL).join(S, S.opportunity_id == O.id)
            .outerjoin(SL, and_(SL.kind == KIND, SL.ref_id == S.id))
            .where(O.status == PUBLISHED, S.status == OPEN, S.starts_at > now,
                   or_(S.signup_deadline.is_(None), S.signup_deadline >= now), or_(SL.id.is_(None), SL.open.is_(True))))
    if districts:
        stmt = stmt.where(O.district.in_(tuple(districts)))
    if projects:
        stmt = stmt.where(O.project.in_(tuple(int(p) for p in projects)))
    if opportunity_id is not None:
        stmt = stmt.where(O.id == opportunity_id)
    if start is not None:
        stmt = stmt.where(S.starts_at >= utc(start))
    if end is not None:
        stmt = stmt.where(S.starts_at < utc(end))
    if open_only:
        stmt = stmt.where(or_(SL.id.is_(None), and_(SL.waiting == 0, or_(SL.capacity.is_(None),
                                                                           SL.confirmed < SL.capacity))))
    conds = []
    if prefer_districts:
        conds.append(O.district.in_(tuple(prefer_districts)))
    if prefer_projects:
        conds.append(O.project.in_(tuple(int(p) for p in prefer_projects)))
    preferred = case((or_(*conds), 1), else_=0) if conds else None
    order = ([preferred.desc()] if preferred is not None else []) + [S.starts_at, S.id]
    cols = stmt.add_columns(preferred) if preferred is not None else stmt
    rows = db.execute(cols.order_by(*order).limit(limit).offset(offset)).all()
    return [ShiftHit(r[0], r[1], r[2], bool(r[3]) if preferred is not None else False) for r in rows]
