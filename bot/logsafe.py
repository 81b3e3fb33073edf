"""Pseudonymise personal identifiers before they reach a log line."""
from __future__ import annotations

import hashlib
import hmac

_KEY = b"kyodo"


def set_key(secret: str) -> None:
    global _KEY
    _KEY = hashlib.sha256(("kyodo-log:" + secret).encode()).digest()


def uid(user_id: str | None) -> str:
    """Keyed hash of a LINE user id: stable within a deployment, useless outside it."""
    if not user_id:
        return "-"
    return "u:" + hmac.new(_KEY, user_id.encode(), hashlib.sha256).hexdigest()[:12]


def user_key(user_id: str) -> str:
    """Keyed hash used as a database key for ordering (so the events table holds no id in clear)."""
    return hmac.new(_KEY, b"uk:" + user_id.encode(), hashlib.sha256).hexdigest()[:32]
