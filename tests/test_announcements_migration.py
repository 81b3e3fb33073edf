"""Migration 0009 keeps the step-2 drafts: every notice_drafts row becomes a draft announcement of the same
organisation, title, body, author and times (ids kept, and new ids continue after them), and going back
restores them. On a database of its own, migrated step by step (tests/test_migrations.py checks the end state)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, text

from bot.clock import utc
from bot.db import normalise_url, scratch_postgres
from bot.migrate import alembic_config, upgrade
from tests.conftest import BACKEND, PG_ADMIN_URL

AT = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 6, 2, 4, 30, tzinfo=timezone.utc)


@contextmanager
def fresh_database(tmp_path):
    if BACKEND == "postgresql":
        with scratch_postgres(PG_ADMIN_URL, prefix="kyodo_m9") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'm9.sqlite3'}"


def test_0009_copies_every_notice_draft_and_downgrade_restores_them(tmp_path):
    with fresh_database(tmp_path) as url:
        upgrade(url, "0007")
        engine = create_engine(normalise_url(url))
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'みどり子ども会', :t),"
                                  " (2, 'あおば自治会', :t)"), {"t": AT})
                conn.execute(text("INSERT INTO admin_accounts (id, email, display_name, role, organisation_id,"
                                  " password_hash, must_change_password, active, failed_logins, session_version,"
                                  " created_at) VALUES (7, 'o@example.jp', 'o', 'organisation', 1, 'x', false, true,"
                                  " 0, 1, :t)"), {"t": AT})
                for id_, org, title, body, author in ((3, 1, "夏祭り", "8月に夏祭り", 7), (9, 2, "清掃", "", None)):
                    conn.execute(text("INSERT INTO notice_drafts (id, organisation_id, title, body, created_by_id,"
                                      " created_at, updated_at) VALUES (:i, :o, :ti, :b, :a, :c, :u)"),
                                 {"i": id_, "o": org, "ti": title, "b": body, "a": author, "c": AT, "u": LATER})
            upgrade(url, "0009")
            with engine.begin() as conn:
                rows = conn.execute(text("SELECT id, organisation_id, title, body, created_by_id, created_at, updated_at,"
                                         " status, urgent, segment FROM announcements ORDER BY id")).all()
                assert [r[:5] for r in rows] == [(3, 1, "夏祭り", "8月に夏祭り", 7), (9, 2, "清掃", "", None)]
                assert all(_dt(r.created_at) == AT and _dt(r.updated_at) == LATER for r in rows)
                assert all(r.status == "draft" and not r.urgent for r in rows)
                assert [r.segment if isinstance(r.segment, dict) else __import__("json").loads(r.segment)
                        for r in rows] == [{}, {}]
                assert "notice_drafts" not in _tables(conn)
                # New announcements continue after the copied ids.
                new_id = conn.execute(text("INSERT INTO announcements (title, body, urgent, segment, status, created_at,"
                                           " updated_at) VALUES ('新', '', false, '{}', 'draft', :t, :t) RETURNING id"),
                                      {"t": AT}).scalar()
                assert new_id == 10
            command.downgrade(alembic_config(url), "0007")
            with engine.begin() as conn:
                back = conn.execute(text("SELECT id, organisation_id, title, body, created_by_id FROM notice_drafts"
                                         " ORDER BY id")).all()
                assert [tuple(r) for r in back] == [(3, 1, "夏祭り", "8月に夏祭り", 7), (9, 2, "清掃", "", None)]
                assert "announcements" not in _tables(conn)
        finally:
            engine.dispose()


def _dt(value) -> datetime:
    """A timestamp read with raw SQL: SQLite gives the stored text."""
    return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _tables(conn) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(conn).get_table_names())
