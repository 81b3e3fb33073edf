"""faq ids never reused: faq_entries gets SQLite AUTOINCREMENT (PostgreSQL's sequence never reused them)

A resident's answer button and the audit log name an entry by id; on SQLite a deleted last entry's id went to
the next new one, so an old button showed a different answer and the audit trail joined two entries.
SQLite can only set AUTOINCREMENT when the table is created, so batch mode copies the table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 07:30:00
"""
from __future__ import annotations

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('faq_entries', recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
