"""Refuse, with 400, requests whose path, query string or form body no page of ours can use: bytes that are not
UTF-8 (a lone surrogate like "\\ud800" arrives as ED A0 80), NUL and other control characters.

Checked once, before any view, on the raw bytes the server received (Werkzeug would quietly turn invalid
UTF-8 into U+FFFD and let NUL through to the database, where PostgreSQL refuses it with an error). Form
values may hold tab and line breaks (a textarea); paths and query strings may not, which also keeps CR/LF
out of any header built from them (a `next` redirect). The LINE webhook is answered in front of Flask
(bot/webhook.py) and never reaches this.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import BadRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # the same, less tab, LF, CR
FORM_TYPE = "application/x-www-form-urlencoded"


class UnusableInput(BadRequest):
    """Answered with the site's 400 page (bot/error_pages.py)."""


def _decoded(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _wsgi_bytes(value: str) -> bytes | None:
    """WSGI hands the path and query over as latin-1 text of the raw bytes."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None


def path_ok(path_info: str) -> bool:
    raw = _wsgi_bytes(path_info)
    text = _decoded(raw) if raw is not None else None
    return text is not None and not _CONTROL.search(text)


def urlencoded_ok(raw: bytes, control: re.Pattern = _CONTROL) -> bool:
    """A query string or urlencoded body: every %-escape decodes to UTF-8 text without control characters."""
    text = _decoded(unquote_to_bytes(raw.replace(b"+", b" ")))
    return text is not None and not control.search(text)


def problem() -> str | None:
    """What is unusable about the current request (for the log; never the value itself), or None."""
    environ = request.environ
    if not path_ok(environ.get("PATH_INFO", "")):
        return "path"
    query = _wsgi_bytes(environ.get("QUERY_STRING", ""))
    if query is None or not urlencoded_ok(query):
        return "query string"
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype == FORM_TYPE:
            # Bounded by MAX_CONTENT_LENGTH (413 beyond it); cached, so request.form parses the same bytes.
            if not urlencoded_ok(request.get_data(cache=True), _CONTROL_IN_TEXT):
                return "form field"
        elif request.mimetype == "multipart/form-data":
            if any(_CONTROL_IN_TEXT.search(k) or _CONTROL_IN_TEXT.search(v) for k, v in request.form.items(multi=True)):
                return "form field"
    return None


def refuse_unusable_input() -> None:
    what = problem()
    if what is not None:
        raise UnusableInput(f"unusable characters in the {what}")


def install(app: Flask) -> None:
    app.before_request(refuse_unusable_input)
