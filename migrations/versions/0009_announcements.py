"""announcements (staff お知らせ): replaces notice_drafts, whose rows are copied in as drafts

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-26 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
STATUS_CHECK = "status IN ('draft', 'pending', 'approved', 'scheduled', 'sent', 'cancelled')"


def _account_fk(name: str) -> sa.Column:
    return sa.Column(name, BIGID, sa.ForeignKey("admin_accounts.id", ondelete="SET NULL",
                                                name=f"fk_announcements_{name}_admin_accounts"), nullable=True)


def _empty_json() -> str:
    # '{}' as a JSON value: PostgreSQL needs the cast; SQLite stores JSON as text (a cast would make it 0).
    return "CAST('{}' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'{}'"


def _fix_sequence(table: str) -> None:
    """Rows were copied with their ids: PostgreSQL's sequence must continue after the largest."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL)"
                   f" FROM {table}")


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("organisation_id", BIGID, sa.ForeignKey("organisations.id", name="fk_announcements_organisation_id_organisations"),
                  nullable=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("image_id", BIGID, nullable=True),
        sa.Column("link_url", sa.String(1000), nullable=True),
        sa.Column("link_label", sa.String(20), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=True),
        sa.Column("scheduled_at", TS, nullable=True),
        sa.Column("publication_id", BIGID, nullable=True),
        _account_fk("created_by_id"), _account_fk("submitted_by_id"), _account_fk("approved_by_id"),
        _account_fk("sent_by_id"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint(STATUS_CHECK, name="ck_announcements_status"),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
    )
    op.create_index("ix_announcements_organisation_id", "announcements", ["organisation_id"])
    op.create_index("ix_announcements_status_updated", "announcements", ["status", "updated_at"])
    # Every old draft becomes a draft announcement of the same organisation, title, body, author and times.
    op.execute(
        "INSERT INTO announcements (id, organisation_id, title, body, urgent, segment, status, created_by_id,"
        " created_at, updated_at)"
        f" SELECT id, organisation_id, title, body, {sa.false().compile(dialect=op.get_bind().dialect)}, {_empty_json()},"
        " 'draft', created_by_id, created_at, updated_at FROM notice_drafts"
    )
    _fix_sequence("announcements")
    op.drop_index("ix_notice_drafts_organisation_id", table_name="notice_drafts")
    op.drop_table("notice_drafts")


def downgrade() -> None:
    op.create_table(
        "notice_drafts",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("organisation_id", BIGID, nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", BIGID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["admin_accounts.id"],
                                name="fk_notice_drafts_created_by_id_admin_accounts", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name="fk_notice_drafts_organisation_id_organisations"),
        sa.PrimaryKeyConstraint("id", name="pk_notice_drafts"),
    )
    op.create_index("ix_notice_drafts_organisation_id", "notice_drafts", ["organisation_id"])
    # Only an organisation's announcements fit the old table (the city's own have no organisation).
    op.execute("INSERT INTO notice_drafts (id, organisation_id, title, body, created_by_id, created_at, updated_at)"
               " SELECT id, organisation_id, title, body, created_by_id, created_at, updated_at FROM announcements"
               " WHERE organisation_id IS NOT NULL")
    _fix_sequence("notice_drafts")
    op.drop_index("ix_announcements_status_updated", table_name="announcements")
    op.drop_index("ix_announcements_organisation_id", table_name="announcements")
    op.drop_table("announcements")
