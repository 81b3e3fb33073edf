"""Alembic, driven from Python (no alembic.ini needed; the scripts ship inside the package)."""
from __future__ import annotations

import logging
from pathlib import Path


def quiet_alembic() -> None:
    """Alembic logs each plugin it sets up (on import) and each migration it runs at INFO: a dozen lines, some
    wrapping. Callers print one line of their own instead; alembic's warnings and errors still show."""
    logging.getLogger("alembic").setLevel(logging.WARNING)


quiet_alembic()  # before alembic is imported: its plugins log while it loads

from alembic import command  # noqa: E402
from alembic.config import Config as AlembicConfig  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402

import migrations  # noqa: E402
from bot.db import make_engine, normalise_url  # noqa: E402


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["url"] = normalise_url(url)
    return cfg


def current_revisions(url: str) -> tuple[str, ...]:
    """The revisions the database is at (its alembic_version rows); () for a database never migrated."""
    engine = make_engine(normalise_url(url), pool_size=1)
    try:
        with engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "heads") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Migrate; returns the revisions before and after, for the caller's one line."""
    before = current_revisions(url)
    # "heads": feature modules add their migrations as branches off 0001_core.
    command.upgrade(alembic_config(url), revision)
    return before, current_revisions(url)


def upgrade_summary(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """One line: 'database set up (0005)', 'database migrated to 0005 (was 0004)', 'database already up to date (0005)'."""
    now = ", ".join(after) or "no revision"
    if before == after:
        return f"database already up to date ({now})"
    if not before:
        return f"database set up ({now})"
    return f"database migrated to {now} (was {', '.join(before)})"


def revision(url: str, message: str, autogenerate: bool = True, rev_id: str | None = None) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate, rev_id=rev_id)
