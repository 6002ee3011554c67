"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL — so a
future ``siyu db revision`` autogenerates nothing unexpected (such as dropping an index that a
migration added but no model declares)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import siyu.models  # noqa: F401  (registers every table)
from siyu.kit.db import Base
from siyu.kit.migrate import alembic_config


def test_migrations_have_one_head():
    # Given the migration scripts / Then they form one line of history (branches were merged)
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def test_migrated_schema_matches_the_models(database):
    # Given a database built by the migrations (the suite's) / When compared with the models
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Then there is nothing to migrate
    assert differences == []
