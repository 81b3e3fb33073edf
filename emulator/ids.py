"""Identifiers shaped like the ones LINE hands out, so code that checks their form behaves as it would in production."""
from __future__ import annotations

import re
import secrets
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")


def new_user_id() -> str:
    """A LINE user id: "U" + 32 lower-case hex characters."""
    return "U" + secrets.token_hex(16)


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID (48-bit ms timestamp + 80 random bits, Crockford base32, 26 upper-case chars), like webhookEventId."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_reply_token() -> str:
    return secrets.token_hex(16)


def new_message_id() -> str:
    """LINE message ids are decimal strings of about 18 digits."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def new_quote_token() -> str:
    return secrets.token_urlsafe(48)


def new_request_id() -> str:
    return uuid.uuid4().hex


def new_rich_menu_id() -> str:
    return "richmenu-" + secrets.token_hex(16)


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and bool(USER_ID_RE.match(value))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
