"""A staff member's own LINE account, linked by a one-time code, so テスト配信 reaches their phone.

The admin page asks for a code (`issue_code`): 6 digits, valid 10 minutes, one live code per account,
stored only as a keyed hash (the secret key keys it, so a copy of the table does not give the codes away
even though 6 digits are few). The staff member sends 「連携 123456」 to the bot; handlers/staff_link.py
calls `redeem`, which consumes the code (single use, even when two messages race), links that LINE user
to the account and writes the audit entry. Wrong or expired codes get the same answer, and a LINE user
who sends MAX_FAILURES wrong codes within FAILURE_WINDOW is not even checked until the window passes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.admin import audit
from bot.admin.policy import LINE_LINK_SELF, has
from models.accounts import Account
from models.staff_link import StaffLink, StaffLinkCode, StaffLinkFailure
from models.users import User

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
COMMAND_WORD = "連携"  # what the staff member types before the code (handlers/staff_link.py reads it)

# redeem() outcomes
LINKED, WRONG, THROTTLED = "linked", "wrong", "throttled"


def code_hash(code: str, secret: str) -> str:
    key = hashlib.sha256(("kyodo-staff-link:" + secret).encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def issue_code(db: Session, account: Account, now: datetime, secret: str) -> str:
    """A fresh code for `account` (any earlier one stops working); the caller commits and shows it once."""
    db.execute(delete(StaffLinkCode).where((StaffLinkCode.account_id == account.id) | (StaffLinkCode.expires_at <= now)))
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        digest = code_hash(code, secret)
        if db.scalar(select(func.count()).select_from(StaffLinkCode).where(StaffLinkCode.code_hash == digest)) == 0:
            break  # another account's live code: draw again, so a code names one account
    db.add(StaffLinkCode(account_id=account.id, code_hash=digest, created_at=now, expires_at=now + CODE_TTL))
    audit.record(db, "staff_link.code", actor=account, object_type="admin_accounts", object_id=account.id,
                 summary="LINE連携コードを発行（10分間有効）", now=now)
    return code


def pending_code(db: Session, account: Account, now: datetime) -> StaffLinkCode | None:
    return db.scalar(select(StaffLinkCode).where(StaffLinkCode.account_id == account.id, StaffLinkCode.expires_at > now))


def linked_user(db: Session, account: Account) -> User | None:
    """The LINE user (resident row) linked to this account, or None. It may have blocked the account since
    (user.active False): a test send to it is then skipped by the delivery, and the link page says so."""
    return db.scalar(select(User).join(StaffLink, StaffLink.user_id == User.id).where(StaffLink.account_id == account.id))


def link_of(db: Session, account: Account) -> StaffLink | None:
    return db.get(StaffLink, account.id)


def unlink(db: Session, account: Account, *, now: datetime | None = None) -> bool:
    gone = db.execute(delete(StaffLink).where(StaffLink.account_id == account.id)).rowcount
    if gone:
        audit.record(db, "staff_link.unlink", actor=account, object_type="admin_accounts", object_id=account.id,
                     summary="LINE連携を解除", now=now)
    return bool(gone)


@dataclass(frozen=True)
class Redeemed:
    outcome: str  # LINKED, WRONG or THROTTLED
    account: Account | None = None


def redeem(db: Session, user: User, code: str, now: datetime, secret: str) -> Redeemed:
    """A code sent to the bot by `user`, inside the event's transaction (the caller commits)."""
    db.execute(delete(StaffLinkFailure).where(StaffLinkFailure.user_id == user.id,
                                              StaffLinkFailure.at <= now - FAILURE_WINDOW))
    failures = db.scalar(select(func.count()).select_from(StaffLinkFailure).where(StaffLinkFailure.user_id == user.id)) or 0
    if failures >= MAX_FAILURES:
        return Redeemed(THROTTLED)
    digest = code_hash(code, secret)
    row = db.scalar(select(StaffLinkCode).where(StaffLinkCode.code_hash == digest, StaffLinkCode.expires_at > now))
    account = db.get(Account, row.account_id) if row is not None else None
    # Single use: only the transaction whose DELETE removed the row links (a racing one deletes nothing).
    consumed = row is not None and db.execute(
        delete(StaffLinkCode).where(StaffLinkCode.account_id == row.account_id, StaffLinkCode.code_hash == digest)
    ).rowcount == 1
    if not consumed or account is None or not has(account, LINE_LINK_SELF):
        db.add(StaffLinkFailure(user_id=user.id, at=now))
        if failures + 1 == MAX_FAILURES:
            audit.record(db, "staff_link.throttled", summary="LINE連携コードの誤りが続いたため、そのLINEからの受付を15分停止",
                         now=now)
        return Redeemed(WRONG)
    db.execute(delete(StaffLink).where((StaffLink.account_id == account.id) | (StaffLink.user_id == user.id)))
    db.execute(delete(StaffLinkFailure).where(StaffLinkFailure.user_id == user.id))
    db.add(StaffLink(account_id=account.id, user_id=user.id, linked_at=now))
    audit.record(db, "staff_link.link", actor=account, object_type="admin_accounts", object_id=account.id,
                 summary="LINEアカウントを連携", now=now)
    return Redeemed(LINKED, account)
