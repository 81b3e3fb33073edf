"""The one way to tell a resident about their OWN registration (a reminder, a place freed from the waitlist,
an event changed or cancelled): a publication to exactly them.

Unlike news, the resident asked for these by registering, so no topic filter applies and every frequency
(even 通知オフ) hears them; they are never held back by the daily cap (models/publications.py PERSONAL).
Quiet hours still apply: a message due at night arrives when they end. `ref` makes each notice idempotent:
a retried handler, a second scheduler or a re-run job cannot tell the same thing twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy.orm import Session

from bot.publish import publish
from models.publications import PERSONAL, Publication
from models.subscriptions import FREQUENCIES


def notify(db: Session, *, user_ids: Iterable[int], messages: list[dict], ref: str, now: datetime,
           when: datetime | None = None, title: str | None = None, guard_registration_id: int | None = None,
           urgent: bool = False) -> Publication | None:
    """Queue `messages` for `user_ids` in the caller's transaction; None when there is nobody to tell.
    `guard_registration_id`: a reminder, sent only while that registration holds its place and before the
    start (checked when it is sent). `urgent`: past quiet hours too (a reminder 2 hours before a 7:00 shift)."""
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return None
    return publish(db, messages=messages, user_ids=ids, when=when, purpose=PERSONAL, ref=ref[:120],
                   topic=None, urgent=urgent, frequencies=FREQUENCIES, title=title, now=now,
                   guard_registration_id=guard_registration_id)
