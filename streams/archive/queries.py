"""The record store's read API: paged, typed queries for the officials' search and the public side.

Each function builds a :class:`Query` (SQL, parameters, how a row becomes a
typed result); :func:`fetch` runs it on a psycopg connection and
:func:`afetch` on an async one, so the CLI, tests and the aiohttp servers
share the same queries. Lists are paged by keyset: a :class:`Page` carries
the ``after`` cursor of its last item (opaque text); pass it back for the
next page. Newest first everywhere.

"In force" is judged twice, both must hold: the record's latest standing
(``status = 'published'``, a list's ``active``) and the clock
(``published_until``/``expires_at`` after ``at``, default now), so a period
that ended while no event advanced the pipeline's event time is not shown.

Extend by adding a function here (and an index in a new migration if it
filters on something new); keep results typed and pages bounded
(:data:`MAX_LIMIT`). See docs/record-store.md for the tables.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Query(Generic[T]):
    statement: sql.Composed | sql.SQL
    params: dict[str, Any]
    build: Callable[[dict[str, Any]], T]
    #: For a paged query: the columns its cursor is made of (ordered like ORDER BY).
    cursor_columns: tuple[str, ...] = ()
    limit: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    after: str | None  # cursor for the next page; None: this is the last page


def _page(query: Query[T], rows: list[dict[str, Any]]) -> Page[T]:
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    after = encode_cursor([rows[-1][c] for c in query.cursor_columns]) if more and rows else None
    return Page([query.build(row) for row in rows], after)


def fetch(conn: psycopg.Connection[Any], query: Query[T]) -> Page[T]:
    """Run ``query``; a non-paged query's rows come back as one page with no cursor."""
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query.statement, query.params).fetchall()
    return _page(query, rows) if query.limit else Page([query.build(r) for r in rows], None)


async def afetch(conn: psycopg.AsyncConnection[Any], query: Query[T]) -> Page[T]:
    """:func:`fetch` on an async connection (the web servers)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query.statement, query.params)
        rows = await cursor.fetchall()
    return _page(query, rows) if query.limit else Page([query.build(r) for r in rows], None)


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque keyset cursor.

    >>> decode_cursor(encode_cursor(["2026-03-02T08:00:00+00:00", "ev-1"]))
    ['2026-03-02T08:00:00+00:00', 'ev-1']
    """
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(orjson.dumps(plain)).decode().rstrip("=")


def decode_cursor(text: str) -> list[Any]:
    """The values of a cursor; ValueError if it is not one of ours."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise ValueError("not a page cursor") from exc
    if not isinstance(values, list):
        raise ValueError("not a page cursor")
    return values


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    return limit


@dataclass
class _Filters:
    """WHERE conditions and their named parameters, built up one by one."""

    parts: list[sql.Composable] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, condition: str, **params: Any) -> None:
        self.parts.append(sql.SQL(condition))
        self.params.update(params)

    def keyset(self, after: str | None, time_column: str, id_column: str) -> None:
        """Rows strictly after the cursor in ``ORDER BY time DESC, id DESC`` order."""
        if after is None:
            return
        values = decode_cursor(after)
        if len(values) != 2:
            raise ValueError("not a page cursor for this list")
        at = datetime.fromisoformat(str(values[0]))
        self.add(
            f"({time_column}, {id_column}) < (%(after_time)s, %(after_id)s)",
            after_time=at,
            after_id=str(values[1]),
        )

    def period(self, column: str, since: datetime | None, until: datetime | None) -> None:
        """``column`` in [since, until): either end may be open."""
        if since is not None:
            self.add(f"{column} >= %(since)s", since=since)
        if until is not None:
            self.add(f"{column} < %(until)s", until=until)

    def where(self) -> sql.Composed | sql.SQL:
        if not self.parts:
            return sql.SQL("")
        return sql.SQL("WHERE ") + sql.SQL(" AND ").join(self.parts)


def _paged(
    select: str,
    filters: _Filters,
    order: tuple[str, str],
    cursor: tuple[str, str],
    build: Callable[[dict[str, Any]], T],
    limit: int,
    after: str | None,
) -> Query[T]:
    """``select`` with the filters, newest first by ``order`` (time, id), a page of
    ``limit`` rows after the cursor; ``cursor`` names the two result columns it is made of."""
    time_column, id_column = order
    filters.keyset(after, time_column, id_column)
    statement = sql.SQL(
        f"{select} {{where}} ORDER BY {time_column} DESC, {id_column} DESC LIMIT %(limit)s"
    ).format(where=filters.where())
    limit = _limit(limit)
    return Query(statement, {**filters.params, "limit": limit + 1}, build, cursor, limit)


# ------------------------------------------------------------------ typed results


@dataclass(frozen=True, slots=True)
class EnforcementRecord:
    """An ``enforcement.events`` record with its publication standing, if it has one."""

    subject: str
    event_id: str
    kind: str
    occurred_at: datetime
    department: str
    sector: str
    region: str
    severity: str | None
    reference: str | None
    description: str | None
    amount: float | None
    concerns_event_id: str | None
    publication_status: str | None  # None: never published (not an adverse record)
    published_until: datetime | None
    body: dict[str, Any]  # the whole record (every contract field)


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    subject: str
    event_id: str
    kind: str
    category: str
    channel: str
    region: str
    sector: str
    received_at: datetime
    status: str
    amount: float | None
    product: str | None


@dataclass(frozen=True, slots=True)
class ComplaintCount:
    category: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class PublicationStanding:
    """A record's latest standing in publication (``publication_state``)."""

    subject: str
    event_id: str
    version: int
    kind: str
    signal: str
    severity: str
    department: str
    sector: str
    region: str
    status: str
    published_from: datetime
    published_until: datetime
    repairable_from: datetime
    disputed: bool
    reason: str
    cause_event_id: str | None
    changed_at: datetime
    policy_version: str


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A subject's latest standing on a credit list (``list_state``)."""

    subject: str
    list: str
    version: int
    action: str
    active: bool
    entered_at: datetime
    expires_at: datetime | None
    exited_at: datetime | None
    exit_reason: str | None
    region: str
    sector: str
    policy_version: str
    body: dict[str, Any]  # with basis and measures


@dataclass(frozen=True, slots=True)
class TierStanding:
    subject: str
    version: int
    tier: str
    previous_tier: str | None
    score: float
    effective_at: datetime
    region: str
    sector: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class Notice:
    notice_id: str
    subject: str
    kind: str
    department: str
    issued_at: datetime
    concerns_event_id: str
    due_at: datetime | None
    body: dict[str, Any]


def _build(cls: type[T]) -> Callable[[dict[str, Any]], T]:
    names = [f for f in cls.__dataclass_fields__]  # type: ignore[attr-defined]

    def build(row: dict[str, Any]) -> T:
        values = {name: row[name] for name in names}
        if "amount" in values and values["amount"] is not None:
            values["amount"] = float(values["amount"])  # numeric arrives as Decimal
        return cls(**values)

    return build


_PUBLICATION_SELECT = ", ".join(f"p.{name}" for name in PublicationStanding.__dataclass_fields__)
_PUBLICATION_COLUMNS = sql.SQL(_PUBLICATION_SELECT)


# ------------------------------------------------------------------ queries


def subject_records(
    subject: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    departments: Sequence[str] = (),
    kinds: Sequence[str] = (),
    published: bool | None = None,
    at: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[EnforcementRecord]:
    """A subject's enforcement records, newest first: by period (``since`` inclusive,
    ``until`` exclusive), departments, kinds, and published now (True), not (False)
    or either (None)."""
    filters = _Filters()
    filters.add("e.subject = %(subject)s", subject=subject, at=at)
    filters.period("e.occurred_at", since, until)
    if departments:
        filters.add("e.department = ANY(%(departments)s)", departments=list(departments))
    if kinds:
        filters.add("e.kind = ANY(%(kinds)s)", kinds=list(kinds))
    in_force = "(p.status = 'published' AND p.published_until > coalesce(%(at)s, now()))"
    if published is True:
        filters.add(f"{in_force} IS TRUE")
    elif published is False:
        filters.add(f"{in_force} IS NOT TRUE")
    return _paged(
        "SELECT e.subject, e.event_id, e.kind, e.occurred_at, e.department, e.sector, "
        "e.region, e.severity, e.reference, e.description, e.amount, e.concerns_event_id, "
        "e.body, p.status AS publication_status, p.published_until "
        "FROM enforcement_events e "
        "LEFT JOIN publication_state p ON p.subject = e.subject AND p.event_id = e.event_id",
        filters,
        ("e.occurred_at", "e.event_id"),
        ("occurred_at", "event_id"),
        _build(EnforcementRecord),
        limit,
        after,
    )


def subject_complaints(
    subject: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[ComplaintRecord]:
    """A subject's 12315 complaints, reports and enquiries, newest first."""
    filters = _Filters()
    filters.add("subject = %(subject)s", subject=subject)
    filters.period("received_at", since, until)
    order = ("received_at", "event_id")
    return _paged(
        "SELECT * FROM complaints", filters, order, order, _build(ComplaintRecord), limit, after
    )


def complaint_counts(
    subject: str, *, since: datetime | None = None, until: datetime | None = None
) -> Query[ComplaintCount]:
    """A subject's complaints counted by category and status (no complainant data)."""
    filters = _Filters()
    filters.add("subject = %(subject)s", subject=subject)
    filters.period("received_at", since, until)
    statement = sql.SQL(
        "SELECT category, status, count(*) AS count FROM complaints {where} "
        "GROUP BY category, status ORDER BY category, status"
    ).format(where=filters.where())
    return Query(statement, filters.params, _build(ComplaintCount))


def publications_in_force(
    *,
    subject: str | None = None,
    department: str | None = None,
    region: str | None = None,
    sector: str | None = None,
    severity: str | None = None,
    at: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[PublicationStanding]:
    """Records published at ``at`` (default now), newest first (双公示)."""
    filters = _Filters()
    filters.add(
        "p.status = 'published' AND p.published_until > coalesce(%(at)s, now()) "
        "AND p.published_from <= coalesce(%(at)s, now())",
        at=at,
    )
    for column, value in (
        ("subject", subject),
        ("department", department),
        ("region", region),
        ("sector", sector),
        ("severity", severity),
    ):
        if value is not None:
            filters.add(f"p.{column} = %({column})s", **{column: value})
    return _paged(
        f"SELECT {_PUBLICATION_SELECT} FROM publication_state p",
        filters,
        ("p.published_from", "p.event_id"),
        ("published_from", "event_id"),
        _build(PublicationStanding),
        limit,
        after,
    )


def publication_standing(subject: str, event_id: str) -> Query[PublicationStanding]:
    """A record's latest standing in publication (none if it was never published)."""
    statement = sql.SQL(
        "SELECT {columns} FROM publication_state p "
        "WHERE p.subject = %(subject)s AND p.event_id = %(event_id)s"
    ).format(columns=_PUBLICATION_COLUMNS)
    return Query(statement, {"subject": subject, "event_id": event_id}, _build(PublicationStanding))


def publication_history(subject: str, event_id: str) -> Query[PublicationStanding]:
    """Every standing a record had, oldest first (each version of it)."""
    statement = sql.SQL(
        "SELECT {columns} FROM publications p "
        "WHERE p.subject = %(subject)s AND p.event_id = %(event_id)s ORDER BY p.version"
    ).format(columns=_PUBLICATION_COLUMNS)
    return Query(statement, {"subject": subject, "event_id": event_id}, _build(PublicationStanding))


def list_entries_in_force(
    *,
    list_kind: str | None = None,
    subject: str | None = None,
    region: str | None = None,
    at: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Query[ListEntry]:
    """Subjects on a credit list at ``at`` (default now), newest entry first."""
    filters = _Filters()
    filters.add(
        "active AND entered_at <= coalesce(%(at)s, now()) "
        "AND (expires_at IS NULL OR expires_at > coalesce(%(at)s, now()))",
        at=at,
    )
    if list_kind is not None:
        filters.add("list = %(list)s", list=list_kind)
    if subject is not None:
        filters.add("subject = %(subject)s", subject=subject)
    if region is not None:
        filters.add("region = %(region)s", region=region)
    # The cursor's id is subject|list: unique per row of list_state.
    entry_key = "subject || '|' || list"
    return _paged(
        f"SELECT *, {entry_key} AS entry_key FROM list_state",
        filters,
        ("entered_at", entry_key),
        ("entered_at", "entry_key"),
        _build(ListEntry),
        limit,
        after,
    )


def subject_lists(subject: str) -> Query[ListEntry]:
    """A subject's standing on every list it was ever on (entered or exited)."""
    statement = sql.SQL("SELECT * FROM list_state WHERE subject = %(subject)s ORDER BY list")
    return Query(statement, {"subject": subject}, _build(ListEntry))


def subject_tier(subject: str) -> Query[TierStanding]:
    """A subject's current credit tier (none if it was never graded)."""
    statement = sql.SQL("SELECT * FROM tier_state WHERE subject = %(subject)s")
    return Query(statement, {"subject": subject}, _build(TierStanding))


def subject_tier_history(subject: str) -> Query[TierStanding]:
    """Every tier change of a subject, oldest first."""
    statement = sql.SQL("SELECT * FROM tier_changes WHERE subject = %(subject)s ORDER BY version")
    return Query(statement, {"subject": subject}, _build(TierStanding))


def subject_notices(
    subject: str, *, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Query[Notice]:
    """Workflow notices about a subject (repair decisions, interviews due, …), newest first."""
    filters = _Filters()
    filters.add("subject = %(subject)s", subject=subject)
    order = ("issued_at", "notice_id")
    return _paged(
        "SELECT * FROM workflow_notices", filters, order, order, _build(Notice), limit, after
    )


# ------------------------------------------------------------------ people (seed 十一)


@dataclass(frozen=True, slots=True)
class PersonStanding:
    """A responsible person's latest credit record (``person_state``): personal data."""

    person: str  # the pseudonym
    version: int
    person_id: str | None
    person_name: str | None
    changed_at: datetime
    active_entries: int
    policy_version: str
    body: dict[str, Any]  # the record as on risk.person-records: roles, entries, measures


def person_record(person: str) -> Query[PersonStanding]:
    """A person's latest record by pseudonym (none if no role of theirs was ever recorded)."""
    statement = sql.SQL("SELECT * FROM person_state WHERE person = %(person)s")
    return Query(statement, {"person": person}, _build(PersonStanding))
