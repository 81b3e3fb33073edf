"""Creating accounts and groups: one path for the admin pages, the `kyodo admin` command and the demo."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin import audit
from bot.admin.auth import email_problem, normalise_email, one_time_password, password_problem, set_password
from models.accounts import ORGANISATION, ROLES, SURVEY, Account, Organisation, SurveyTeam


class AccountError(ValueError):
    """A refused account, with the form field it concerns and a Japanese message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def membership_problem(role: str, organisation_id: int | None, survey_team_id: int | None) -> tuple[str, str] | None:
    """(field, message) when the role and the group do not fit; the database enforces the same rule."""
    if role not in ROLES:
        return "role", "役割を選んでください。"
    if role == ORGANISATION:
        if survey_team_id:
            return "survey_team_id", "団体のアカウントは調査チームに所属できません。"
        if not organisation_id:
            return "organisation_id", "団体を選んでください。"
    elif role == SURVEY:
        if organisation_id:
            return "organisation_id", "調査チームのアカウントは団体に所属できません。"
        if not survey_team_id:
            return "survey_team_id", "調査チームを選んでください。"
    elif organisation_id or survey_team_id:
        field = "organisation_id" if organisation_id else "survey_team_id"
        return field, "管理者と職員は、団体や調査チームに所属しません。"
    return None


def create_account(db: Session, *, email: str, role: str, now: datetime, display_name: str = "",
                   organisation_id: int | None = None, survey_team_id: int | None = None,
                   password: str | None = None, testing: bool = False, actor: Account | None = None,
                   via: str = "") -> tuple[Account, str | None]:
    """A new account and, when no password was given, the one-time password to hand over (shown once)."""
    email = normalise_email(email)
    if (problem := email_problem(email)) is not None:
        raise AccountError("email", problem)
    if db.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise AccountError("email", "このメールアドレスはすでに登録されています。")
    if (mismatch := membership_problem(role, organisation_id, survey_team_id)) is not None:
        raise AccountError(*mismatch)
    temporary = password is None
    if password is not None and (problem := password_problem(password, email)) is not None:
        raise AccountError("password", problem)
    secret = password if password is not None else one_time_password()
    account = Account(email=email, role=role, display_name=display_name.strip(), organisation_id=organisation_id or None,
                      survey_team_id=survey_team_id or None, created_at=now, active=True, failed_logins=0,
                      session_version=0, password_hash="")
    set_password(account, secret, now, testing=testing, temporary=temporary)
    db.add(account)
    db.flush()
    group = ""
    if account.organisation_id:
        group = "（" + (db.get(Organisation, account.organisation_id).name) + "）"
    elif account.survey_team_id:
        group = "（" + (db.get(SurveyTeam, account.survey_team_id).name) + "）"
    audit.record(db, "account.create", actor=actor, obj=account, now=now,
                 summary=f"{email}: {account.role_label}{group}{via}")
    return account, (secret if temporary else None)


def find_or_create_group(db: Session, model: type[Organisation | SurveyTeam], name: str, now: datetime,
                         *, actor: Account | None = None) -> Organisation | SurveyTeam:
    name = name.strip()
    group = db.scalar(select(model).where(model.name == name))
    if group is None:
        group = model(name=name, created_at=now)
        db.add(group)
        action = "organisation.create" if model is Organisation else "survey_team.create"
        audit.record(db, action, actor=actor, obj=group, now=now, summary=name)
    return group
