"""Writing contract messages into a real record store, as the sink would, without a broker.

Each message goes through the sink's own mapping (:func:`streams.archive.rows.rows_of`)
and writer (:class:`streams.archive.store.StoreWriter`), so what the public side
reads here is what it reads in production.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from streams.archive.rows import rows_of
from streams.archive.store import PendingRow, Source, StoreWriter
from tests.factories import complaint_data, enforcement_data
from topics.persons import PersonCreditRecord

Message = tuple[str, bytes, bytes]
_offsets = itertools.count()


def _json(data: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
    )


def enforcement(**fields: Any) -> Message:
    data = enforcement_data(**fields)
    return "enforcement.events", data["subject"].encode(), _json(data)


def complaint(**fields: Any) -> Message:
    data = complaint_data(**fields)
    return "complaints.12315", data["subject"].encode(), _json(data)


def publication(
    subject: str,
    event_id: str,
    published_from: datetime,
    *,
    kind: str = "penalty",
    signal: str = "penalty_general",
    status: str = "published",
    days: int = 365,
    version: int = 1,
    disputed: bool = False,
    department: str = "market_regulation",
    region: str = "130102",
    sector: str = "food_drug",
    reason: str = "filed",
) -> Message:
    data = {
        "event_id": event_id,
        "subject": subject,
        "kind": kind,
        "signal": signal,
        "severity": "general",
        "department": department,
        "sector": sector,
        "region": region,
        "status": status,
        "published_from": published_from,
        "published_until": published_from + timedelta(days=days),
        "repairable_from": published_from + timedelta(days=90),
        "disputed": disputed,
        "reason": reason,
        "cause_event_id": None,
        "changed_at": published_from,
        "version": version,
        "policy_version": "test",
    }
    return "risk.publications", f"{subject}|{event_id}".encode(), _json(data)


def list_change(
    subject: str,
    list_kind: str,
    entered_at: datetime,
    *,
    action: str = "entered",
    days: int = 365,
    version: int = 1,
    basis: Iterable[dict[str, Any]] = (),
    measures: Iterable[dict[str, Any]] = (),
    exited_at: datetime | None = None,
    exit_reason: str | None = None,
    legal_rep_id: str | None = None,
) -> Message:
    data = {
        "subject": subject,
        "list": list_kind,
        "action": action,
        "basis": list(basis),
        "entered_at": entered_at,
        "expires_at": entered_at + timedelta(days=days),
        "exited_at": exited_at,
        "exit_reason": exit_reason,
        "measures": list(measures),
        "legal_rep_id": legal_rep_id,
        "version": version,
        "policy_version": "test",
        "region": "130102",
        "sector": "food_drug",
    }
    return "risk.list-changes", f"{subject}|{list_kind}".encode(), _json(data)


def person_record(record: PersonCreditRecord) -> Message:
    """A person's record as the person-record agent publishes it (``risk.person-records``)."""
    return "risk.person-records", record.person.encode(), record.dumps()


async def seed_async(url: str, messages: Iterable[Message]) -> None:
    pending = []
    for topic, key, value in messages:
        mapped = rows_of(topic, key, value)
        assert isinstance(mapped, list), f"{topic} {value!r}: {mapped}"
        source = Source(topic, 0, next(_offsets), key, value)
        pending += [PendingRow(table, row, source) for table, row in mapped]
    async with await psycopg.AsyncConnection.connect(url) as conn:
        result = await StoreWriter(conn).write(pending)
    assert not result.rejected, result.rejected


def seed(url: str, messages: Iterable[Message]) -> None:
    asyncio.run(seed_async(url, list(messages)))
