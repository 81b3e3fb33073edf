"""Passwords, login with a per-account lock-out, and the admin session (signed cookie, idle and absolute expiry).

The lock-out is counted in the database so it holds across every web process; the per-IP throttle
(Flask-Limiter, see bot/admin/__init__.py) sits in front of it.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import session
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utc
from models.accounts import Account

MIN_PASSWORD = 12
MAX_PASSWORD = 128  # the issue asks for no maximum below 64; argon2 copes with far more
MAX_FAILED_LOGINS = 5
LOCK_FOR = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)

OK, BAD, LOCKED, DISABLED = "ok", "bad", "locked", "disabled"

# argon2id with the library's defaults (RFC 9106 low-memory profile, about 0.1 s here). Tests run the same
# code with cheap parameters; a hash records its parameters, so either verifies anywhere and a cheap one
# is upgraded at the next login (check_needs_rehash).
_STRONG = PasswordHasher()
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hasher(testing: bool) -> PasswordHasher:
    return _CHEAP if testing else _STRONG


def hash_password(password: str, *, testing: bool = False) -> str:
    return hasher(testing).hash(password)


def check_password(stored: str, password: str, *, testing: bool = False) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters)."""
    ph = hasher(testing)
    try:
        ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (ph.hash(password) if ph.check_needs_rehash(stored) else None)


_DUMMY: dict[bool, str] = {}


def _spend_like_a_check(password: str, testing: bool) -> None:
    """An unknown address costs as much time as a wrong password, so timing does not reveal accounts."""
    if testing not in _DUMMY:
        _DUMMY[testing] = hash_password("not-a-real-password-0000", testing=testing)
    check_password(_DUMMY[testing], password, testing=testing)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        return "メールアドレスの形式が正しくありません。"
    return None


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused, in Japanese, or None."""
    if len(password) < MIN_PASSWORD:
        return f"パスワードは{MIN_PASSWORD}文字以上にしてください。"
    if len(password) > MAX_PASSWORD:
        return f"パスワードは{MAX_PASSWORD}文字以内にしてください。"
    if len(set(password)) < 5:
        return "同じ文字の繰り返しが多すぎます。別のパスワードにしてください。"
    local = normalise_email(email).split("@")[0]
    if email and (password.lower() == normalise_email(email) or (len(local) >= 4 and local in password.lower())):
        return "メールアドレスを含むパスワードは使えません。"
    return None


def one_time_password() -> str:
    """16 URL-safe characters (96 bits); the account must replace it at first login."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class LoginResult:
    status: str
    account: Account | None = None
    failures: int = 0
    previous_login_at: datetime | None = None  # on success: the login before this one


def attempt_login(db: Session, email: str, password: str, now: datetime, *, testing: bool = False) -> LoginResult:
    """Check a login and update the account's counters; the caller commits and writes the audit entry."""
    account = db.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        _spend_like_a_check(password, testing)
        return LoginResult(BAD)
    if account.locked_until is not None and utc(account.locked_until) > now:
        # The same argon2 work as a wrong password: a locked account must not answer faster than others
        # (the answer's text is the same too, see views_auth), or the lock-out tells which addresses exist.
        check_password(account.password_hash, password, testing=testing)
        return LoginResult(LOCKED, account)
    ok, new_hash = check_password(account.password_hash, password, testing=testing)
    if not ok:
        # Counted with an UPDATE on the row, not in Python, so two processes cannot lose a failure.
        db.execute(update(Account).where(Account.id == account.id).values(failed_logins=Account.failed_logins + 1))
        failures = db.scalar(select(Account.failed_logins).where(Account.id == account.id)) or 0
        if failures >= MAX_FAILED_LOGINS:
            db.execute(update(Account).where(Account.id == account.id).values(failed_logins=0, locked_until=now + LOCK_FOR))
            db.refresh(account)
            return LoginResult(LOCKED, account, failures)
        db.refresh(account)
        return LoginResult(BAD, account, failures)
    if not account.active:
        return LoginResult(DISABLED, account)
    previous = account.last_login_at
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if new_hash:
        account.password_hash = new_hash
    return LoginResult(OK, account, previous_login_at=previous)


def set_password(account: Account, password: str, now: datetime, *, testing: bool = False, temporary: bool) -> None:
    """New password; every existing session of the account ends (session_version)."""
    account.password_hash = hash_password(password, testing=testing)
    account.must_change_password = temporary
    account.password_changed_at = now
    account.session_version = (account.session_version or 0) + 1
    account.failed_logins = 0
    account.locked_until = None


# --- the session cookie ---------------------------------------------------------------------------

def start_session(account: Account, now: datetime) -> None:
    session.clear()  # nothing from before the login survives it
    session.permanent = True
    session["aid"] = account.id
    session["ver"] = account.session_version
    session["t0"] = now.timestamp()
    session["seen"] = now.timestamp()


def end_session() -> None:
    session.clear()


def session_account(db: Session, now: datetime) -> tuple[Account | None, str | None]:
    """The signed-in account, or (None, why): "expired" after 30 idle minutes or 8 hours, "revoked" when
    the account was disabled or its password changed since. Checked against the app clock per request."""
    aid = session.get("aid")
    if aid is None:
        return None, None
    ts = now.timestamp()
    if ts - float(session.get("seen", 0)) > IDLE_TIMEOUT.total_seconds() or ts - float(session.get("t0", 0)) > SESSION_LIFETIME.total_seconds():
        session.clear()
        return None, "expired"
    account = db.get(Account, aid)
    if account is None or not account.active or account.session_version != session.get("ver"):
        session.clear()
        return None, "revoked"
    session["seen"] = ts
    return account, None
