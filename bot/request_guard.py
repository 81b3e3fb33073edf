"""Refuse, with 400, requests whose path, query string or form body no page of ours can use: bytes that are not
UTF-8 (a lone surrogate like "\\ud800" arrives as ED A0 80), NUL and other control characters.

Checked once, before any view, on the raw bytes the server received (Werkzeug would quietly turn invalid
UTF-8 into U+FFFD and let NUL through to the database, where PostgreSQL refuses it with an error). Form
values may hold tab and line breaks (a textarea); paths and query strings may not, which also keeps CR/LF
out of any header built from them (a `next` redirect). The LINE webhook is answered in front of Flask
(bot/webhook.py) and never reaches this.

Bodies: MAX_CONTENT_LENGTH (Config.max_body_bytes, 1 MiB) everywhere, except the staff's image uploads
(`allow_upload_body`): the upload endpoints, for a signed-in account their rule lets in, take
Config.max_upload_bytes; decided from the session cookie and the URL, before anything reads the body.
Over the limit: 413 with the site's Japanese page (on an upload route, saying how large a photo may be).
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, request, session
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # the same, less tab, LF, CR
FORM_TYPE = "application/x-www-form-urlencoded"
# The views that take an image (bot/admin/views_media.py, views_announcements.py: the compose form posts it).
UPLOAD_ENDPOINTS = frozenset({"admin.media_upload", "admin.announcement_new", "admin.announcement_edit",
                              "admin.opendata_import"})  # images; a city's CSV file
# The multipart form around the file (boundaries, the text fields): the file itself may reach the limit,
# so a photo just under it gets bot/media.py's own message rather than a 413.
FORM_ALLOWANCE = 256 * 1024
UPLOAD_TOO_LARGE_MB = "ファイルが大きすぎます。{mb}MBまでのファイルにしてから、もう一度お試しください（写真は小さくして、CSVは分けてください）。"


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


def _may_upload(endpoint: str) -> bool:
    """Is the session's account one the endpoint's rule lets in? Read-only: the admin blueprint loads the
    session properly afterwards (timeouts, the temporary password) and refuses what it must."""
    from bot.admin import policy
    from models.accounts import Account

    aid, rule = session.get("aid"), policy.rule_for(endpoint)
    if aid is None or rule is None or not isinstance(aid, int):
        return False
    with current_app.extensions["kyodo"].sessions() as db:
        account = db.get(Account, aid)
        return (account is not None and account.session_version == session.get("ver")
                and not account.must_change_password and policy.has(account, rule.permission))


def upload_limit() -> int | None:
    """The body limit of an image upload, or None when this request is not one."""
    if request.method != "POST" or request.endpoint not in UPLOAD_ENDPOINTS:
        return None
    return current_app.extensions["kyodo"].config.max_upload_bytes + FORM_ALLOWANCE


def allow_upload_body() -> None:
    limit = upload_limit()
    if limit is not None and limit > (current_app.config["MAX_CONTENT_LENGTH"] or 0) and _may_upload(request.endpoint):
        request.max_content_length = limit  # Flask >= 3.1: this request only


def _too_large(e: RequestEntityTooLarge):
    from bot import error_pages

    if (request.max_content_length or 0) <= (current_app.config["MAX_CONTENT_LENGTH"] or 0):
        return error_pages.render(413)  # not an upload this account may make: the ordinary page
    mb = current_app.extensions["kyodo"].config.max_upload_bytes // (1024 * 1024)
    return error_pages.render(413, message=UPLOAD_TOO_LARGE_MB.format(mb=mb))


def install(app: Flask) -> None:
    app.before_request(allow_upload_body)  # first: the next hook reads the body
    app.before_request(refuse_unusable_input)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
