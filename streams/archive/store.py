"""Writing rows to the record store, idempotently and in batches; counting and digesting it.

A batch is written in one transaction: per table, its rows are copied
(``COPY``) into a temporary staging table and moved into the table with one
``INSERT … SELECT``. History tables insert
with ``ON CONFLICT DO NOTHING``; state tables replace a row only with a higher
``latest`` value. A statement PostgreSQL refuses (a NUL character in text, a
missing required value, …) is retried on each half of its rows inside a
savepoint until the refused rows are alone: they are returned with the
database's message, everything else is written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from streams.archive.rows import Row
from streams.archive.tables import ALL_TABLES, STORED_AT, Table

#: What a refused row looks like to psycopg: bad data (including text psycopg
#: itself cannot send, e.g. a NUL), or a broken constraint. Anything else (a
#: lost connection, a bug in our SQL) is not the row's fault and is raised.
REJECTIONS: tuple[type[psycopg.Error], ...] = (psycopg.DataError, psycopg.IntegrityError)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a row's message is: for tracing, and for its dead letter if it is refused."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class PendingRow:
    table: Table
    row: Row
    source: Source

    def values(self) -> tuple[Any, ...]:
        return (
            *(self.row.get(name) for name in self.table.column_names),
            self.source.partition,
            self.source.offset,
        )


@dataclass(slots=True)
class BatchResult:
    written: Counter[str] = field(default_factory=Counter)  # rows inserted or replaced, by table
    unchanged: Counter[str] = field(default_factory=Counter)  # already there (a replay), by table
    rejected: list[tuple[PendingRow, str]] = field(default_factory=list)  # with the reason


def stage_name(table: Table) -> str:
    return f"archive_stage_{table.name}"


def stage_statement(table: Table) -> sql.Composed:
    """The connection's staging table for ``table``: emptied at every commit."""
    return sql.SQL(
        "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    ).format(stage=sql.Identifier(stage_name(table)), table=sql.Identifier(table.name))


def copy_statement(table: Table) -> sql.Composed:
    names = sql.SQL(", ").join(map(sql.Identifier, table.written_columns))
    return sql.SQL("COPY {stage} ({names}) FROM STDIN").format(
        stage=sql.Identifier(stage_name(table)), names=names
    )


def insert_statement(table: Table) -> sql.Composed:
    """Move the staged rows into the table (emptying the stage): a history table keeps
    the row it has; a state table takes the staged row if its ``latest`` is higher."""
    names = sql.SQL(", ").join(map(sql.Identifier, table.written_columns))
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    statement = sql.SQL(
        "WITH staged AS (DELETE FROM {stage} RETURNING *) "
        "INSERT INTO {table} ({names}) SELECT {names} FROM staged "
    ).format(stage=sql.Identifier(stage_name(table)), table=sql.Identifier(table.name), names=names)
    if table.latest is None:
        return statement + sql.SQL("ON CONFLICT ({key}) DO NOTHING").format(key=key)
    replaced = [name for name in table.written_columns if name not in table.key]
    assignments = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(name)) for name in replaced
    )
    return statement + sql.SQL(
        "ON CONFLICT ({key}) DO UPDATE SET {assignments}, {stored_at} = now() "
        "WHERE {table}.{latest} < EXCLUDED.{latest}"
    ).format(
        key=key,
        assignments=assignments,
        stored_at=sql.Identifier(STORED_AT),
        table=sql.Identifier(table.name),
        latest=sql.Identifier(table.latest),
    )


def newest_per_key(table: Table, rows: Sequence[PendingRow]) -> list[PendingRow]:
    """Of a state table's rows, the one with the highest ``latest`` per key (a statement
    may touch a row once); a history table's rows unchanged."""
    if table.latest is None:
        return list(rows)
    newest: dict[tuple[Any, ...], PendingRow] = {}
    for pending in rows:
        key = tuple(pending.row[name] for name in table.key)
        if key not in newest or _latest(table, pending) > _latest(table, newest[key]):
            newest[key] = pending
    return list(newest.values())


def _latest(table: Table, pending: PendingRow) -> Any:
    assert table.latest is not None
    if table.latest == "source_offset":
        return pending.source.offset
    return pending.row[table.latest]


class StoreWriter:
    """Writes batches of rows over one connection: COPY into a staging table, then one
    ``INSERT … SELECT`` per table (COPY is ~10x faster than array parameters here)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self._statements = {
            table.name: (copy_statement(table), insert_statement(table)) for table in ALL_TABLES
        }
        self._staged = False

    @classmethod
    async def connect(cls, url: str) -> StoreWriter:
        return cls(await psycopg.AsyncConnection.connect(url))

    async def close(self) -> None:
        await self.conn.close()

    async def write(self, rows: Sequence[PendingRow]) -> BatchResult:
        """Write ``rows`` in one transaction; refused rows are left out and returned."""
        by_table: dict[str, list[PendingRow]] = defaultdict(list)
        for pending in rows:
            by_table[pending.table.name].append(pending)
        result = BatchResult()
        async with self.conn.transaction():
            if not self._staged:
                for table in ALL_TABLES:
                    await self.conn.execute(stage_statement(table))
            for name, table_rows in by_table.items():
                table = table_rows[0].table
                await self._insert(table, newest_per_key(table, table_rows), result)
                refused = sum(1 for row, _ in result.rejected if row.table.name == name)
                result.unchanged[name] += len(table_rows) - result.written[name] - refused
        self._staged = True
        return result

    async def _insert(self, table: Table, rows: list[PendingRow], result: BatchResult) -> None:
        copy, insert = self._statements[table.name]
        try:
            async with self.conn.transaction():  # a savepoint: a refusal undoes these rows only
                async with self.conn.cursor() as cursor:
                    async with cursor.copy(copy) as staging:
                        for pending in rows:
                            await staging.write_row(pending.values())
                    await cursor.execute(insert)
                    result.written[table.name] += max(cursor.rowcount, 0)
        except REJECTIONS as exc:
            if len(rows) == 1:
                result.rejected.append((rows[0], _message(exc)))
                return
            middle = len(rows) // 2
            await self._insert(table, rows[:middle], result)
            await self._insert(table, rows[middle:], result)


def _message(exc: psycopg.Error) -> str:
    """The database's message: its first line, SQLSTATE and detail when it has them."""
    diag = exc.diag
    parts = [diag.message_primary or str(exc).splitlines()[0]]
    if diag.sqlstate:
        parts.append(f"SQLSTATE {diag.sqlstate}")
    if diag.message_detail:
        parts.append(diag.message_detail)
    return "; ".join(parts)


# ------------------------------------------------------------------ counts and digests


@dataclass(frozen=True, slots=True)
class TableDigest:
    table: str
    rows: int
    digest: str  # md5 over the sorted md5s of every row's content: independent of order


def digest_statement(table: Table) -> sql.Composed:
    """Row count and an order-independent digest of a table's content (the columns of
    :mod:`~streams.archive.tables` without where and when the sink wrote them)."""
    content = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    return sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
        "FROM (SELECT md5(ROW({content})::text) AS h FROM {table}) AS hashed"
    ).format(content=content, table=sql.Identifier(table.name))


def digests(conn: psycopg.Connection[Any]) -> list[TableDigest]:
    """Every table's row count and digest (times rendered in UTC, whatever the session's zone)."""
    found = []
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        for table in ALL_TABLES:
            row = conn.execute(digest_statement(table)).fetchone()
            assert row is not None
            found.append(TableDigest(table.name, int(row[0]), str(row[1])))
    return found


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for table in ALL_TABLES:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
        ).fetchone()
        assert row is not None
        counts[table.name] = int(row[0])
    return counts


def prune_readings(conn: psycopg.Connection[Any], before: datetime, chunk: int = 10_000) -> int:
    """Delete IoT readings measured before ``before``, ``chunk`` rows per transaction
    (short locks, bounded WAL); return how many were deleted."""
    deleted = 0
    statement = (
        "DELETE FROM iot_readings WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM iot_readings WHERE measured_at < %s LIMIT %s))"
    )
    while True:
        with conn.transaction():
            count = conn.execute(statement, (before, chunk)).rowcount
        deleted += count
        if count < chunk:
            return deleted
