"""The record store's input records, read back in event-time order as the messages they were.

Every input row keeps its record's whole JSON (``body``: every contract field,
docs/record-store.md), and the input topics are keyed by the subject, so a row
is its message again: ``(topic, subject, body)``. ``body`` was written from the
validated record (``streams.archive.rows.input_row``) and parses back into the
same record (``tests/backtest/test_history.py``); the replay decodes it with
the workers' own parser, ``topics.decode.decode_input``.

The order is event time (the record's ``occurred_at``, ``received_at``,
``measured_at`` or, for a role record, ``recorded_at``), ties in the order the
rows' messages had on their topic. A
record the pipeline saw twice (a redelivery) is stored once, under its
subject and event id, which is also what the pipeline's de-duplication keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from streams.archive import tables
from topics.catalogue import (
    COMPLAINTS_12315,
    ENFORCEMENT_EVENTS,
    IOT_READINGS,
    REGISTRY_ROLES,
    SECTOR_EVALUATIONS,
)

#: Each input topic, the table its records are stored in, and their event-time column.
SOURCES: tuple[tuple[str, tables.Table, str], ...] = (
    (ENFORCEMENT_EVENTS.name, tables.ENFORCEMENT_EVENTS, "occurred_at"),
    (COMPLAINTS_12315.name, tables.COMPLAINTS, "received_at"),
    (IOT_READINGS.name, tables.IOT_READINGS, "measured_at"),
    # Who answers for a subject, and its type (seed 十一): the representative links its
    # subjects for the cross-sector warning, the type decides the public sector's reports.
    (REGISTRY_ROLES.name, tables.PERSON_ROLES, "recorded_at"),
    # Seed 六: state and provincial evaluations move the score like any credit record.
    (SECTOR_EVALUATIONS.name, tables.SECTOR_EVALUATIONS, "evaluated_at"),
)


@dataclass(frozen=True, slots=True)
class Window:
    """Event times from ``since`` (inclusive) to ``until`` (exclusive); None: unbounded."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for bound in (self.since, self.until):
            if bound is not None and bound.tzinfo is None:
                raise ValueError(f"a window's bounds are timezone-aware: {bound.isoformat()}")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("the window ends before it starts")

    def condition(self, column: str) -> tuple[sql.Composable, list[datetime]]:
        """The ``WHERE`` clause of ``column`` in the window (empty if unbounded), and its
        parameters."""
        clauses, params = [], []
        for bound, operator in ((self.since, ">="), (self.until, "<")):
            if bound is not None:
                clauses.append(
                    sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(operator))
                )
                params.append(bound)
        if not clauses:
            return sql.SQL(""), []
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """An input message as the store keeps it: its event time, topic, key and value."""

    at: datetime
    topic: str
    key: bytes
    value: bytes


def _union(window: Window) -> tuple[sql.Composed, list[datetime]]:
    parts, params = [], []
    for topic, table, column in SOURCES:
        where, bounds = window.condition(column)
        parts.append(
            sql.SQL(
                "SELECT {column} AS at, {topic} AS topic, subject, body, "
                "source_partition, source_offset FROM {table}{where}"
            ).format(
                column=sql.Identifier(column),
                topic=sql.Literal(topic),
                table=sql.Identifier(table.name),
                where=where,
            )
        )
        params += bounds
    return sql.SQL(" UNION ALL ").join(parts), params


def history_statement(window: Window) -> tuple[sql.Composed, list[datetime]]:
    """Every stored input record in the window, in event-time order."""
    union, params = _union(window)
    statement = sql.SQL(
        "SELECT at, topic, subject, body::text FROM ({union}) AS history "
        "ORDER BY at, topic, source_partition, source_offset"
    ).format(union=union)
    return statement, params


def count_history(conn: psycopg.Connection[Any], window: Window) -> int:
    """How many input records the store keeps in the window."""
    union, params = _union(window)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM ({union}) AS history").format(union=union), params
    ).fetchone()
    assert row is not None
    return int(row[0])


def read_history(
    conn: psycopg.Connection[Any], window: Window, chunk: int = 5_000
) -> Iterator[StoredRecord]:
    """The stored input records of the window in event-time order, fetched ``chunk`` at a
    time through a server-side cursor (a month of a city does not fit in memory twice)."""
    statement, params = history_statement(window)
    with conn.cursor(name="creditwatch_backtest_history") as cursor:
        cursor.itersize = chunk
        cursor.execute(statement, params)
        for at, topic, subject, body in cursor:
            yield StoredRecord(at, topic, subject.encode(), body.encode())
