"""The Alembic migrations and the table specs the sink writes from agree, column by column."""

from __future__ import annotations

import psycopg
import pytest

from creditwatch.embedded import EmbeddedPostgres
from streams.archive import migrate
from streams.archive.tables import ALL_TABLES, SOURCE_COLUMNS, STORED_AT
from tests.conftest import fresh_store

pytestmark = pytest.mark.integration

#: information_schema's name of each type the specs use.
SQL_TYPE = {
    "text": "text",
    "timestamptz": "timestamp with time zone",
    "date": "date",
    "double precision": "double precision",
    "numeric": "numeric",
    "integer": "integer",
    "bigint": "bigint",
    "boolean": "boolean",
    "jsonb": "jsonb",
}


def columns_in(conn: psycopg.Connection, table: str) -> list[tuple[str, str, bool]]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(name, kind, nullable) for name, kind, nullable in rows]


def primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def test_the_migrated_tables_are_the_specs_the_sink_writes(store_url: str) -> None:
    with psycopg.connect(store_url) as conn:
        for table in ALL_TABLES:
            expected = [(c.name, SQL_TYPE[c.type], c.nullable) for c in table.columns]
            expected += [
                (SOURCE_COLUMNS[0], "integer", False),
                (SOURCE_COLUMNS[1], "bigint", False),
                (STORED_AT, "timestamp with time zone", False),
            ]
            assert columns_in(conn, table.name) == expected, table.name
            assert primary_key(conn, table.name) == list(table.key), table.name


def test_migrate_is_idempotent_and_downgrade_drops_every_table(
    embedded_postgres: EmbeddedPostgres,
) -> None:
    with fresh_store(embedded_postgres) as url:
        assert migrate.current_revision(url) == migrate.head_revision()
        migrate.upgrade(url)  # again: nothing to do
        migrate.downgrade_to_base(url)
        assert migrate.current_revision(url) is None
        with psycopg.connect(url) as conn:
            left = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        assert {name for (name,) in left} <= {"alembic_version"}
        migrate.upgrade(url)
        assert migrate.current_revision(url) == migrate.head_revision()
