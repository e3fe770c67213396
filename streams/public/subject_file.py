"""A subject's rows from the record store, as the pure disclosure step takes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg

from pipeline.disclosure import (
    BasisFact,
    ComplaintCount,
    ListRow,
    MeasureRow,
    Publication,
    RecordRow,
    SubjectRows,
)
from pipeline.disclosure_policy import MAX_DAYS, DisclosurePolicy
from streams.archive import public_queries as pq
from streams.archive import queries as q

#: No public window or publication period reaches further back.
LOOKBACK = timedelta(days=MAX_DAYS)


T = TypeVar("T")


def _as(cls: type[T], row: Any) -> T:
    """``row`` as ``cls``: the fields ``cls`` has, taken from ``row`` by name."""
    return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})  # type: ignore[attr-defined]


def record_row(record: pq.FiledRecord) -> RecordRow:
    return _as(RecordRow, record)


def publication(standing: pq.Standing) -> Publication:
    return _as(Publication, standing)


def list_row(entry: q.ListEntry) -> ListRow:
    body: dict[str, Any] = entry.body
    return ListRow(
        list=entry.list,
        action=entry.action,
        entered_at=entry.entered_at,
        expires_at=entry.expires_at,
        basis=tuple(
            BasisFact(str(fact.get("fact", "")), fact.get("detail"))
            for fact in body.get("basis") or ()
        ),
        measures=tuple(
            MeasureRow(
                str(m.get("code", "")), str(m.get("category", "")), str(m.get("description", ""))
            )
            for m in body.get("measures") or ()
        ),
        exited_at=entry.exited_at,
        exit_reason=entry.exit_reason,
    )


async def load_subject(
    conn: psycopg.AsyncConnection[Any], subject: str, now: datetime, policy: DisclosurePolicy
) -> SubjectRows:
    """Everything :func:`pipeline.disclosure.disclose` reads about ``subject`` at ``now``."""
    records = await q.afetch(conn, pq.subject_file_records(subject, now - LOOKBACK))
    standings = await q.afetch(conn, pq.subject_standings(subject))
    lists = await q.afetch(conn, q.subject_lists(subject))
    counts = await q.afetch(
        conn, q.complaint_counts(subject, since=now - policy.complaint_window, until=now)
    )
    return SubjectRows(
        subject=subject,
        records=tuple(record_row(r) for r in records.items),
        publications={s.event_id: publication(s) for s in standings.items},
        lists=tuple(list_row(entry) for entry in lists.items),
        complaints=tuple(ComplaintCount(c.category, c.status, c.count) for c in counts.items),
    )
