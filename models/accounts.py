"""People who run the bot in the web admin: accounts, their organisation or survey team, the audit log.
(What an organisation owns lives with its feature: announcements in models/announcements.py.)

These are staff and volunteers, not residents: nothing here holds a resident's personal data, so there is
no deletion hook. Residents live in models/users.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utc
from models.base import Base, BigId

ADMIN, STAFF, ORGANISATION, SURVEY = "admin", "staff", "organisation", "survey"
ROLES = (ADMIN, STAFF, ORGANISATION, SURVEY)
ROLE_LABELS = {ADMIN: "管理者", STAFF: "職員", ORGANISATION: "団体", SURVEY: "調査チーム"}

# An account belongs to at most one group, and the role says which kind: the database enforces it, so a
# bug in a form or a script cannot make an organisation account that also sees a survey team's results.
_MEMBERSHIP = (
    "(role IN ('admin', 'staff') AND organisation_id IS NULL AND survey_team_id IS NULL)"
    " OR (role = 'organisation' AND organisation_id IS NOT NULL AND survey_team_id IS NULL)"
    " OR (role = 'survey' AND survey_team_id IS NOT NULL AND organisation_id IS NULL)"
)


class Organisation(Base):
    """団体: a community group that posts its own events, places and volunteer shifts."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class SurveyTeam(Base):
    """調査チーム: a team that runs its own surveys and reads their results."""

    __tablename__ = "survey_teams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class Account(Base):
    __tablename__ = "admin_accounts"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'staff', 'organisation', 'survey')", name="role"),
        CheckConstraint(_MEMBERSHIP, name="membership"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    survey_team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("survey_teams.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Set when an admin (or the CLI) chose the password: the person must pick their own at first login.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Per-account lock-out lives in the database so it holds across every web process.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped on password change or disable: every session issued before is refused.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    survey_team: Mapped[SurveyTeam | None] = relationship(lazy="joined")

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and utc(self.locked_until) > utc(now)

    @property
    def group_name(self) -> str:
        group = self.organisation or self.survey_team
        return group.name if group else ""


class AuditEntry(Base):
    """Who did what, when, through the admin (or the CLI). No resident's personal data goes in here."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor_at", "actor_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500), default="")
    # Keyed hash of the client address: lets an admin see "same place" without storing the address.
    ip_hash: Mapped[str | None] = mapped_column(String(16))

    actor: Mapped[Account | None] = relationship(lazy="joined")

