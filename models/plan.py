"""The city's plan (vision, pillars, forces, projects, actions, roadmap), its glossary and its 地区, loaded from the
city folder.

One plan per database. Rows are keyed by the file's natural keys (project and action numbers, roadmap
position within an action, district key) so reloading an edited file keeps ids stable. Public data only:
nothing here is personal, so there is no deletion hook.
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from models.base import Base, BigId


class PlanInfo(Base):
    """The plan's single header row: which city, and its 将来都市像."""

    __tablename__ = "plan_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    city_name: Mapped[str] = mapped_column(String(100))
    vision: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class _KeyedName:
    """Columns shared by the plan's short named lists (pillars, forces): a stable key, a name, an order."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    updated_at: Mapped[datetime]


class PlanPillar(_KeyedName, Base):
    """施策体系の柱."""

    __tablename__ = "plan_pillars"


class PlanForce(_KeyedName, Base):
    """まちづくりの原動力."""

    __tablename__ = "plan_forces"


class PlanPeriod(Base):
    """実行計画の期 (e.g. 第1期 FY2026-2028)."""

    __tablename__ = "plan_periods"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100))
    from_fy: Mapped[int]
    to_fy: Mapped[int]
    updated_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "plan_projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(unique=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(100))
    goal: Mapped[str] = mapped_column(Text)
    # Keys into plan_pillars / plan_forces, when the city's documents relate them.
    pillar_keys: Mapped[list] = mapped_column(default=list)
    force_keys: Mapped[list] = mapped_column(default=list)
    position: Mapped[int]
    updated_at: Mapped[datetime]

    actions: Mapped[list["Action"]] = relationship(
        back_populates="project", order_by="Action.position", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def display_short(self) -> str:
        return self.short_name or self.name


class Action(Base):
    __tablename__ = "plan_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(unique=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("plan_projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    details: Mapped[list] = mapped_column(default=list)      # 実施内容, one string per bullet
    note: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[list] = mapped_column(default=list)  # action numbers this one was folded into
    position: Mapped[int]
    updated_at: Mapped[datetime]

    project: Mapped[Project] = relationship(back_populates="actions")
    roadmap: Mapped[list["RoadmapItem"]] = relationship(
        back_populates="action", order_by="RoadmapItem.position", cascade="all, delete-orphan", passive_deletes=True)


class RoadmapItem(Base):
    """One bar of the 線表: `text` runs from `from_fy` to `to_fy` (Gregorian fiscal years, inclusive)."""

    __tablename__ = "plan_roadmap_items"
    __table_args__ = (UniqueConstraint("action_id", "position", name="uq_plan_roadmap_items_action_position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("plan_actions.id", ondelete="CASCADE"))
    position: Mapped[int]
    from_fy: Mapped[int]
    to_fy: Mapped[int]
    period: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    action: Mapped[Action] = relationship(back_populates="roadmap")

    def active_in(self, fy: int) -> bool:
        return self.from_fy <= fy <= self.to_fy


class District(Base):
    """地区: later features (subscriptions, places, events) refer to these rows."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kana: Mapped[str | None] = mapped_column(String(200))
    # Other names residents or documents use for the same 地区 (e.g. an older name).
    aliases: Mapped[list] = mapped_column(default=list, server_default="[]")
    organisation: Mapped[str | None] = mapped_column(String(200))
    # An approximate centre, good only for "near me" sorting; NULL where the city data gives none.
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # True when the centre was placed by judgement rather than on a known landmark (see districts.yaml).
    center_estimated: Mapped[bool] = mapped_column(default=False, server_default=false())
    position: Mapped[int]
    updated_at: Mapped[datetime]


class GlossaryTerm(Base):
    """An abbreviation the plan uses and its short explanation (cities/<city>/glossary.yaml).

    `gloss` is NULL, or `confirmed` false, while the meaning is still to be checked: such terms are not shown.
    """

    __tablename__ = "plan_glossary"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(64), unique=True)
    gloss: Mapped[str | None] = mapped_column(String(200))
    confirmed: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int]
    updated_at: Mapped[datetime]


# -- queries the handlers and pages share ---------------------------------------------------------------------

def memoise_plan_reads(db: Session) -> None:
    """Within this session, answer each plan query below once. For the worker's batch transactions,
    whose events read the same plan again and again (it changes only when `kyodo plan load` runs, and
    never in such a session); never for a session that writes the plan."""
    db.info["plan_memo"] = {}


def _memo(fn):
    @functools.wraps(fn)
    def read(db: Session, *args, **kw):
        memo = db.info.get("plan_memo")
        if memo is None:
            return fn(db, *args, **kw)
        key = (fn.__name__, args, tuple(sorted(kw.items())))
        if key not in memo:
            memo[key] = fn(db, *args, **kw)
        value = memo[key]
        return list(value) if isinstance(value, list) else value  # a caller may sort or slice its copy
    return read


@_memo
def plan_info(db: Session) -> PlanInfo | None:
    return db.get(PlanInfo, 1)


def city_name(db: Session, default: str = "このまち") -> str:
    """The loaded city's name for greetings and page footers (nothing city-specific in code)."""
    info = plan_info(db)
    return info.city_name if info else default


@_memo
def projects(db: Session, *, with_roadmap: bool = False) -> list[Project]:
    opt = selectinload(Project.actions)
    if with_roadmap:
        opt = opt.selectinload(Action.roadmap)
    return list(db.scalars(select(Project).options(opt).order_by(Project.position, Project.number)))


@_memo
def project(db: Session, number: int | None, *, with_roadmap: bool = False) -> Project | None:
    if number is None:
        return None
    opt = selectinload(Project.actions)
    if with_roadmap:
        opt = opt.selectinload(Action.roadmap)
    return db.scalar(select(Project).options(opt).where(Project.number == number))


@_memo
def project_by_key(db: Session, key: str) -> Project | None:
    return db.scalar(select(Project).options(selectinload(Project.actions)).where(Project.key == key))


@_memo
def action(db: Session, number: int | None) -> Action | None:
    if number is None:
        return None
    return db.scalar(select(Action).options(selectinload(Action.roadmap), selectinload(Action.project))
                     .where(Action.number == number))


@_memo
def pillars(db: Session) -> list[PlanPillar]:
    return list(db.scalars(select(PlanPillar).order_by(PlanPillar.position)))


@_memo
def forces(db: Session) -> list[PlanForce]:
    return list(db.scalars(select(PlanForce).order_by(PlanForce.position)))


@_memo
def periods(db: Session) -> list[PlanPeriod]:
    return list(db.scalars(select(PlanPeriod).order_by(PlanPeriod.from_fy)))


@_memo
def plan_years(db: Session) -> tuple[int, int] | None:
    """The years a timeline shows: the periods' whole range, else the roadmap's own range."""
    ps = periods(db)
    if ps:
        return min(p.from_fy for p in ps), max(p.to_fy for p in ps)
    rows = db.execute(select(RoadmapItem.from_fy, RoadmapItem.to_fy)).all()
    if not rows:
        return None
    return min(r[0] for r in rows), max(r[1] for r in rows)


@_memo
def districts(db: Session) -> list[District]:
    return list(db.scalars(select(District).order_by(District.position)))


@_memo
def glossary_entries(db: Session) -> list[tuple[str, str]]:
    """(term, gloss) for the confirmed glossary terms, in the file's order."""
    rows = db.execute(select(GlossaryTerm.term, GlossaryTerm.gloss)
                      .where(GlossaryTerm.confirmed.is_(True), GlossaryTerm.gloss.is_not(None))
                      .order_by(GlossaryTerm.position))
    return [(t, g) for t, g in rows]
