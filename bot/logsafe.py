"""Keep personal data out of logs.

Pseudonyms for LINE ids (keyed hashes), exception descriptions without their messages (a message can
quote the input: a resident's text, or the values psycopg echoes in a DETAIL line), and, as a last line
of defence, `install()`: every log record this process creates has LINE ids replaced by pseudonyms and
its traceback rendered without exception messages, whichever logger or handler it goes to.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import traceback
from pathlib import Path

_KEY = b"kyodo"
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
# Our code, wherever it is installed (a checkout, or site-packages beside every other library).
_OURS = tuple(_ROOT + d + "/" for d in ("bot", "handlers", "models", "scheduler", "emulator", "migrations", "tests"))

# LINE user, group and room ids: "U", "C" or "R" and 32 lower-case hex digits.
LINE_ID = re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{32}(?![0-9a-f])")


def set_key(secret: str) -> None:
    global _KEY
    _KEY = hashlib.sha256(("kyodo-log:" + secret).encode()).digest()


def uid(user_id: str | None) -> str:
    """Keyed hash of a LINE user id: stable within a deployment, useless outside it."""
    if not user_id:
        return "-"
    return "u:" + _hash12(user_id)


def _hash12(ident: str) -> str:
    return hmac.new(_KEY, ident.encode(), hashlib.sha256).hexdigest()[:12]


def event_ref(event_id: str) -> str:
    """Keyed hash of a webhookEventId for a log line: a body's id is any printable text (up to 64 characters)."""
    return "e:" + hmac.new(_KEY, b"ev:" + event_id.encode(), hashlib.sha256).hexdigest()[:12]


def user_key(user_id: str) -> str:
    """Keyed hash used as a database key for ordering (so the events table holds no id in clear)."""
    return hmac.new(_KEY, b"uk:" + user_id.encode(), hashlib.sha256).hexdigest()[:32]


def keyed_hash(label: str, ident: str) -> str:
    """Keyed hash of `ident` for a purpose (`label`) as a database key: e.g. a survey respondent, so double
    answers are stopped without storing who answered."""
    return hmac.new(_KEY, label.encode() + b":" + ident.encode(), hashlib.sha256).hexdigest()


def _pseudonym(m: re.Match) -> str:
    ident = m.group()
    return ident[0].lower() + ":" + _hash12(ident)


def redact(text: str) -> str:
    """`text` with every LINE id replaced by its pseudonym (the same one `uid` gives a user id)."""
    return LINE_ID.sub(_pseudonym, text) if ("U" in text or "C" in text or "R" in text) else text


# -- exceptions ------------------------------------------------------------------------------------------------
# Types whose messages are written by code and never quote request data; all others are hidden.
_TRUSTED: tuple[type, ...] = (OSError, RecursionError, MemoryError, ImportError)


def trust_messages(*types: type) -> None:
    """Let these exception types show their messages (our own errors whose texts we write)."""
    global _TRUSTED
    _TRUSTED = tuple(dict.fromkeys(_TRUSTED + types))


def _db_code(e: BaseException) -> str | None:
    orig = getattr(e, "orig", None) or e
    return getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)


def safe_message(e: BaseException) -> str:
    """What may be shown of an exception: its message for trusted types, else only codes and SQL text."""
    parts = []
    if isinstance(e, _TRUSTED):
        parts.append(str(e))
    if (orig := getattr(e, "orig", None)) is not None:
        parts.append(type(orig).__name__)
    if code := _db_code(e):
        parts.append(f"code {code}")
    if statement := getattr(e, "statement", None):
        # the statement's text is ours (bound parameters, no values); the values are never shown
        parts.append("SQL: " + " ".join(str(statement).split())[:300])
    text = "; ".join(p for p in parts if p) or "(message hidden: it may quote input)"
    return redact(text)


def _where(tb) -> str:
    frames = traceback.extract_tb(tb) if tb is not None else []
    ours = [f for f in frames if f.filename.startswith(_OURS)]
    if not (ours or frames):
        return ""
    f = (ours or frames)[-1]
    return f" at {f.filename.removeprefix(_ROOT)}:{f.lineno} in {f.name}"


def describe_exception(e: BaseException) -> str:
    """One line for a log or an `error` column: type, safe message, where it was raised (no input)."""
    return f"{type(e).__name__}: {safe_message(e)}{_where(e.__traceback__)}"[:1000]


def format_exception(e: BaseException, _seen: set[int] | None = None) -> str:
    """A traceback like Python's, every message in the chain replaced by `safe_message`."""
    seen = _seen if _seen is not None else set()
    seen.add(id(e))
    text = ""
    if e.__cause__ is not None and id(e.__cause__) not in seen:
        text = (format_exception(e.__cause__, seen)
                + "\n\nThe above exception was the direct cause of the following exception:\n\n")
    elif e.__context__ is not None and not e.__suppress_context__ and id(e.__context__) not in seen:
        text = (format_exception(e.__context__, seen)
                + "\n\nDuring handling of the above exception, another exception occurred:\n\n")
    if e.__traceback__ is not None:
        text += "Traceback (most recent call last):\n" + "".join(traceback.format_list(traceback.extract_tb(e.__traceback__)))
    cls = type(e)
    name = cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
    return text + f"{name}: {safe_message(e)}"


# -- the last line of defence --------------------------------------------------------------------------------
def scrub_record(record: logging.LogRecord) -> None:
    """Redact LINE ids in the message; render the traceback without exception messages."""
    try:
        msg = record.getMessage()
    except Exception:  # a broken format string: the formatter reports it as usual
        return
    clean = redact(msg)
    if clean != msg:
        record.msg, record.args = clean, ()
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        record.exc_text = format_exception(exc)
        record.exc_info = None  # formatters print exc_text as is


_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Scrub every log record this process creates (idempotent; chains any existing record factory)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
