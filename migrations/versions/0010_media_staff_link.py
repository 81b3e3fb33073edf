"""media images, staff LINE link (codes, links, failed guesses), follows per day

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-26 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _fk(name: str, table: str, ondelete: str, **kw) -> sa.Column:
    return sa.Column(name, _ID, sa.ForeignKey(f"{table}.id", ondelete=ondelete), **kw)


def upgrade() -> None:
    op.create_table(
        "media_images",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("preview_width", sa.Integer(), nullable=False),
        sa.Column("preview_height", sa.Integer(), nullable=False),
        sa.Column("original", sa.LargeBinary(), nullable=False),
        sa.Column("preview", sa.LargeBinary(), nullable=False),
        sa.Column("original_name", sa.String(200), nullable=False),
        _fk("created_by_id", "admin_accounts", "SET NULL", nullable=True),
        sa.Column("created_at", _AT, nullable=False),
    )
    op.create_table(
        "staff_link_codes",
        _fk("account_id", "admin_accounts", "CASCADE", primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
    )
    op.create_table(
        "staff_links",
        _fk("account_id", "admin_accounts", "CASCADE", primary_key=True),
        _fk("user_id", "users", "CASCADE", nullable=False, unique=True),
        sa.Column("linked_at", _AT, nullable=False),
    )
    op.create_table(
        "staff_link_failures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        _fk("user_id", "users", "CASCADE", nullable=False),
        sa.Column("at", _AT, nullable=False),
    )
    op.create_index("ix_staff_link_failures_user_id", "staff_link_failures", ["user_id"])
    op.create_table(
        "follow_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column("follows", sa.Integer(), nullable=False),
        sa.Column("unfollows", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_days")
    op.drop_index("ix_staff_link_failures_user_id", table_name="staff_link_failures")
    for table in ("staff_link_failures", "staff_links", "staff_link_codes", "media_images"):
        op.drop_table(table)
