"""`kyodo admin ...`: create the first admin (or any account) and recover one from the command line."""
from __future__ import annotations

import sys

from models.accounts import ORGANISATION, ROLE_LABELS, ROLES, SURVEY


def add_commands(sub) -> None:
    p = sub.add_parser("admin", help="web admin accounts")
    asub = p.add_subparsers(dest="admin_command", required=True)

    c = asub.add_parser("create-user", help="create an admin account (prints a one-time password unless --password-stdin)")
    c.add_argument("--role", required=True, choices=ROLES, help="admin 管理者, staff 職員, organisation 団体, survey 調査チーム")
    c.add_argument("--email", required=True)
    c.add_argument("--name", default="", help="display name")
    c.add_argument("--organisation", help="organisation name for --role organisation (created when missing)")
    c.add_argument("--survey-team", help="survey team name for --role survey (created when missing)")
    c.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    c.set_defaults(func=cmd_create_user)

    r = asub.add_parser("reset-password", help="issue a new one-time password and unlock the account")
    r.add_argument("--email", required=True)
    r.set_defaults(func=cmd_reset_password)


def _runtime(args):
    from bot.cli import config_for
    from bot.runtime import build_runtime

    return build_runtime(config_for(args, need_secrets=False))


def _fail(message: str) -> int:
    print(f"kyodo admin: {message}", file=sys.stderr)
    return 1


def cmd_create_user(args) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.admin.accounts import AccountError, create_account, find_or_create_group
    from models.accounts import Organisation, SurveyTeam

    if args.role == ORGANISATION and not args.organisation:
        return _fail("--role organisation needs --organisation NAME")
    if args.role == SURVEY and not args.survey_team:
        return _fail("--role survey needs --survey-team NAME")
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    rt = _runtime(args)
    try:
        with rt.sessions() as db:
            now = rt.now()
            org = find_or_create_group(db, Organisation, args.organisation, now) if args.role == ORGANISATION else None
            team = find_or_create_group(db, SurveyTeam, args.survey_team, now) if args.role == SURVEY else None
            db.flush()
            account, secret = create_account(
                db, email=args.email, role=args.role, display_name=args.name, now=now, password=password,
                organisation_id=org.id if org else None, survey_team_id=team.id if team else None,
                testing=rt.config.testing, via="（コマンドライン）")
            db.commit()
    except AccountError as e:
        return _fail(e.message)
    except SQLAlchemyError as e:
        return _fail(f"database error ({e.__class__.__name__}); has `kyodo db upgrade` been run?")
    finally:
        rt.close()
    print(f"created {account.email} ({ROLE_LABELS[account.role]})")
    if secret:
        print(f"one-time password: {secret}")
        print("it is shown only now; the account must choose its own password at first login")
    return 0


def cmd_reset_password(args) -> int:
    from sqlalchemy import select

    from bot.admin import audit, auth
    from models.accounts import Account

    rt = _runtime(args)
    try:
        with rt.sessions() as db:
            account = db.scalar(select(Account).where(Account.email == auth.normalise_email(args.email)))
            if account is None:
                return _fail("no such account")
            secret = auth.one_time_password()
            auth.set_password(account, secret, rt.now(), testing=rt.config.testing, temporary=True)
            audit.record(db, "account.reset_password", obj=account, now=rt.now(), summary=f"{account.email}（コマンドライン）")
            db.commit()
    finally:
        rt.close()
    print(f"one-time password for {account.email}: {secret}")
    return 0
