"""Alembic, driven from Python (no alembic.ini needed; the scripts ship inside the package)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

import migrations
from bot.db import normalise_url


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["url"] = normalise_url(url)
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    # "heads": feature modules add their migrations as branches off 0001_core.
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str, autogenerate: bool = True, rev_id: str | None = None) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate, rev_id=rev_id)
