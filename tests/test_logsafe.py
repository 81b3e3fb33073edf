"""bot/logsafe.py: pseudonyms for LINE ids, exceptions described without their messages, and the
record factory that applies both to every log record as a last line of defence."""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import text

from bot import logsafe
from bot.db import make_engine

USER, GROUP, ROOM = "U" + "0123456789abcdef" * 2, "C" + "fedcba9876543210" * 2, "R" + "00ff" * 8
TEXT = "住所は秘密です"


def test_redact_replaces_user_group_and_room_ids_with_stable_pseudonyms():
    line = logsafe.redact(f"from {USER} in {GROUP}/{ROOM}.")
    assert USER not in line and GROUP not in line and ROOM not in line
    assert logsafe.uid(USER) in line and line == logsafe.redact(f"from {USER} in {GROUP}/{ROOM}.")
    assert logsafe.redact("Ubot U123 " + "U" + "0" * 33) == "Ubot U123 " + "U" + "0" * 33  # not ids


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as e:
        return e


def test_describe_exception_hides_messages_that_may_quote_input():
    e = _raise(ValueError(f"cannot parse {TEXT} from {USER}"))
    described = logsafe.describe_exception(e)
    assert described.startswith("ValueError: (message hidden") and "tests/test_logsafe.py:" in described
    assert TEXT not in described and USER not in described
    # messages of types that never quote input are kept, with ids redacted all the same
    os_error = logsafe.describe_exception(_raise(FileNotFoundError(2, "No such file", f"/tmp/{USER}")))
    assert "No such file" in os_error and USER not in os_error


def test_every_log_record_is_scrubbed_whatever_the_logger(monkeypatch):
    logsafe.install()
    logsafe.install()  # idempotent
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("some.library")
    logger.addHandler(handler)
    try:
        try:
            try:
                raise KeyError(USER)
            except KeyError as inner:
                raise RuntimeError(f"{TEXT} ({USER})") from inner
        except RuntimeError:
            logger.exception("request for %s failed", USER)
    finally:
        logger.removeHandler(handler)
    logged = out.getvalue()
    assert "request for u:" in logged and "Traceback" in logged and "direct cause" in logged
    assert "RuntimeError: (message hidden" in logged
    assert USER not in logged and TEXT not in logged


def test_database_errors_show_neither_parameters_nor_echoed_values(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMPORARY TABLE leak_probe (line_user_id VARCHAR(64) UNIQUE)"))
            insert = text("INSERT INTO leak_probe (line_user_id) VALUES (:u)")
            conn.execute(insert, {"u": USER})
            with pytest.raises(Exception) as info:
                conn.execute(insert, {"u": USER})
            conn.rollback()
    finally:
        engine.dispose()
    assert "[SQL parameters hidden" in str(info.value)  # hide_parameters=True on every engine
    described = logsafe.describe_exception(info.value)
    assert described.startswith("IntegrityError") and "INSERT INTO leak_probe" in described
    assert USER not in described  # PostgreSQL's DETAIL line echoes the key; it is never shown
