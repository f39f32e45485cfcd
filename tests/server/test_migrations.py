"""Migrations: `upgrade head` builds exactly the schema of the metadata, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from mamori.server.db import make_engine
from mamori.server.migrate import alembic_config, at_head, head_revisions, upgrade
from mamori.server.models import Base


def test_upgrade_builds_the_metadata_schema(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert not at_head(connection)
        upgrade(empty_database_url)
        with engine.connect() as connection:
            assert at_head(connection)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
        assert set(current) == head_revisions()
    finally:
        engine.dispose()


def test_revisions_form_one_chain_from_0001() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    chain = [script.revision for script in scripts.walk_revisions()]
    assert chain[-1] == "0001"
    assert len(head_revisions()) == 1
    assert chain == sorted(chain, reverse=True)


def test_compare_sees_a_schema_behind_the_metadata(empty_database_url: str) -> None:
    """The comparison above is not vacuous: stopping at 0001 leaves later tables missing."""
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.connect() as connection:
            assert not at_head(connection)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            missing = {diff[1].name for diff in compare_metadata(context, Base.metadata)}
        assert "scans" in missing
    finally:
        engine.dispose()
