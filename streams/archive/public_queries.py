"""Queries of the read side: a subject's whole file, city-wide disclosure lists, issued reports.

Built on :mod:`streams.archive.queries` (its :class:`~streams.archive.queries.Query`,
keyset cursors, :func:`~streams.archive.queries.afetch`), kept in a module of
their own so the write side and these readers can change apart.

These queries *select candidates*; what the public may see of them is
decided by :mod:`pipeline.disclosure` on every row, at the time of the
request. The SQL narrows with the same conditions (published, within the
period) so that pages are full and cheap, but it is not what keeps an
unpublished record off a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from streams.archive.queries import DEFAULT_LIMIT, Query, _build, _Filters, _paged

#: At most this many records of one subject are read for its public page or report:
#: far above any real subject's three years of records, and a bound on the work.
MAX_FILE_RECORDS = 5_000


@dataclass(frozen=True, slots=True)
class FiledRecord:
    """An ``enforcement.events`` record with every typed column (none of them personal)."""

    subject: str
    event_id: str
    kind: str
    occurred_at: datetime
    department: str
    sector: str
    region: str
    severity: str | None
    result: str | None
    commitment_kind: str | None
    deadline: datetime | None
    concerns_event_id: str | None
    outcome: str | None
    amount: float | None
    reference: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class Standing:
    """A record's latest publication standing (``publication_state``), as disclosure reads it."""

    subject: str
    event_id: str
    kind: str
    department: str
    region: str
    sector: str
    status: str
    published_from: datetime
    published_until: datetime
    disputed: bool
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ListedItem:
    """A row of a city-wide disclosure list: a record, its standing, or both."""

    subject: str
    event_id: str
    listed_at: datetime  # the record's time (the list's order)
    record: FiledRecord | None
    standing: Standing | None


@dataclass(frozen=True, slots=True)
class IssuedReportRow:
    number: str
    subject: str
    issued_at: datetime
    valid_until: datetime
    sha256: str


_RECORD_COLUMNS = tuple(FiledRecord.__dataclass_fields__)
_STANDING_COLUMNS = tuple(Standing.__dataclass_fields__)


def _columns(alias: str, names: Sequence[str], prefix: str = "") -> str:
    """``alias.name AS prefixname, …``: fixed column names of ours, never input."""
    return ", ".join(f"{alias}.{name} AS {prefix}{name}" for name in names)


def subject_file_records(subject: str, since: datetime) -> Query[FiledRecord]:
    """A subject's enforcement records since ``since``, newest first (at most
    :data:`MAX_FILE_RECORDS`): the input of its public page and credit report."""
    statement = sql.SQL(
        f"SELECT {_columns('e', _RECORD_COLUMNS)} FROM enforcement_events e "
        "WHERE e.subject = %(subject)s AND e.occurred_at >= %(since)s "
        "ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT %(cap)s"
    )
    params = {"subject": subject, "since": since, "cap": MAX_FILE_RECORDS}
    return Query(statement, params, _build(FiledRecord))


def subject_standings(subject: str) -> Query[Standing]:
    """Every publication standing of a subject's records, whatever its status (a repaired
    or corrected one is needed for the report's notes)."""
    statement = sql.SQL(
        f"SELECT {_columns('p', _STANDING_COLUMNS)} FROM publication_state p "
        "WHERE p.subject = %(subject)s"
    )
    return Query(statement, {"subject": subject}, _build(Standing))


_record = _build(FiledRecord)
_standing = _build(Standing)


def _listed(row: dict[str, Any]) -> ListedItem:
    """A joined row: its ``r_`` columns the record, its ``s_`` columns the standing."""
    record = _record({n: row[f"r_{n}"] for n in _RECORD_COLUMNS}) if row["r_event_id"] else None
    standing = (
        _standing({n: row[f"s_{n}"] for n in _STANDING_COLUMNS}) if row["s_event_id"] else None
    )
    return ListedItem(row["subject"], row["event_id"], row["listed_at"], record, standing)


def _joined(
    alias: str,
    table: str,
    other_alias: str,
    other_table: str,
    time_column: str,
    filters: _Filters,
    limit: int,
    after: str | None,
) -> Query[ListedItem]:
    """Rows of ``table`` with their match in ``other_table`` (records and their standings
    share subject and event id), newest first by ``time_column`` of ``table``."""
    key = f"{alias}.subject || '|' || {alias}.event_id"
    return _paged(
        f"SELECT {alias}.subject, {alias}.event_id, {alias}.{time_column} AS listed_at, "
        f"{key} AS item_key, {_columns('s', _STANDING_COLUMNS, 's_')}, "
        f"{_columns('e', _RECORD_COLUMNS, 'r_')} FROM {table} {alias} LEFT JOIN {other_table} "
        f"{other_alias} ON {other_alias}.subject = {alias}.subject "
        f"AND {other_alias}.event_id = {alias}.event_id",
        filters,
        (f"{alias}.{time_column}", key),
        ("listed_at", "item_key"),
        _listed,
        limit,
        after,
    )


def published_now(
    *,
    kinds: Sequence[str] = (),
    department: str | None = None,
    region: str | None = None,
    at: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[ListedItem]:
    """Records in publication at ``at`` (default now: status and period), newest first,
    with their details."""
    filters = _Filters()
    filters.add(
        "s.status = 'published' AND s.published_from <= coalesce(%(at)s, now()) "
        "AND s.published_until > coalesce(%(at)s, now())",
        at=at,
    )
    if kinds:
        filters.add("s.kind = ANY(%(kinds)s)", kinds=list(kinds))
    if department is not None:
        filters.add("s.department = %(department)s", department=department)
    if region is not None:
        filters.add("s.region = %(region)s", region=region)
    return _joined("s", "publication_state", "e", "enforcement_events", "published_from",
                   filters, limit, after)  # fmt: skip


def recent_records(
    kind: str,
    since: datetime,
    *,
    region: str | None = None,
    at: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[ListedItem]:
    """Records of ``kind`` from ``since`` to ``at`` (default now), newest first, each with
    its publication standing if it has one (licences, spot checks: 一公开 and 双公示)."""
    filters = _Filters()
    filters.add("e.kind = %(kind)s AND e.occurred_at >= %(since)s", kind=kind, since=since)
    filters.add("e.occurred_at <= coalesce(%(at)s, now())", at=at)
    if region is not None:
        filters.add("e.region = %(region)s", region=region)
    return _paged(
        "SELECT e.subject, e.event_id, e.occurred_at AS listed_at, "
        f"e.subject || '|' || e.event_id AS item_key, {_columns('s', _STANDING_COLUMNS, 's_')}, "
        f"{_columns('e', _RECORD_COLUMNS, 'r_')} FROM enforcement_events e "
        "LEFT JOIN publication_state s ON s.subject = e.subject AND s.event_id = e.event_id",
        filters,
        ("e.occurred_at", "e.subject || '|' || e.event_id"),
        ("listed_at", "item_key"),
        _listed,
        limit,
        after,
    )


def issued_report(number: str) -> Query[IssuedReportRow]:
    """An issued credit report's number, subject, validity and digest (none if unknown)."""
    statement = sql.SQL(
        "SELECT number, subject, issued_at, valid_until, sha256 FROM credit_reports "
        "WHERE number = %(number)s"
    )
    return Query(statement, {"number": number}, _build(IssuedReportRow))


def issued_report_body(number: str) -> Query[dict[str, Any]]:
    """An issued report's whole record (``risk.credit-reports``), content included."""
    statement = sql.SQL("SELECT body FROM credit_reports WHERE number = %(number)s")
    return Query(statement, {"number": number}, lambda row: dict(row["body"]))
