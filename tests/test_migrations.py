"""The Alembic migrations create exactly what the models declare: nothing left for autogenerate, on either
database. One test for every table, so a feature's migration that drifts from its model fails here."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import models
from bot.db import normalise_url


def test_migrations_match_the_models(database_url):
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
