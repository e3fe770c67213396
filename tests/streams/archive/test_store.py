"""The batch writer and the read API against a real PostgreSQL (one database per test)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest

from streams.archive import queries as q
from streams.archive.rows import rows_of
from streams.archive.store import (
    BatchResult,
    PendingRow,
    Source,
    StoreWriter,
    digests,
    prune_readings,
    row_counts,
)
from tests.factories import (
    OTHER_SUBJECT,
    SUBJECT,
    T0,
    complaint_data,
    enforcement_data,
    iot_data,
)
from topics.lists import ExitReason, ListAction, ListChange, ListKind, Measure, MeasureCategory
from topics.publications import Publication
from topics.risk import Evidence
from topics.vocabulary import (
    Department,
    EnforcementKind,
    PublicationReason,
    PublicationStatus,
    Sector,
)

pytestmark = pytest.mark.integration

_offsets = itertools.count()
NOW = datetime.now(UTC).replace(microsecond=0)


def pending(topic: str, value: bytes | dict[str, Any], key: str = SUBJECT) -> list[PendingRow]:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    mapped = rows_of(topic, key.encode(), raw)
    assert isinstance(mapped, list), mapped
    source = Source(topic, 0, next(_offsets), key.encode(), raw)
    return [PendingRow(table, row, source) for table, row in mapped]


def write(url: str, rows: Iterable[PendingRow]) -> BatchResult:
    async def run() -> BatchResult:
        writer = await StoreWriter.connect(url)
        try:
            return await writer.write(list(rows))
        finally:
            await writer.close()

    return asyncio.run(run())


def publication(
    event_id: str,
    version: int,
    status: PublicationStatus = PublicationStatus.PUBLISHED,
    *,
    subject: str = SUBJECT,
    published_from: datetime = NOW - timedelta(days=30),
    days: int = 365,
    department: Department = Department.MARKET_REGULATION,
) -> bytes:
    return Publication(
        event_id=event_id,
        subject=subject,
        kind=EnforcementKind.PENALTY,
        signal="penalty_general",
        severity="general",
        department=department,
        sector=Sector.FOOD_DRUG,
        region="130102",
        status=status,
        published_from=published_from,
        published_until=published_from + timedelta(days=days),
        repairable_from=published_from + timedelta(days=90),
        disputed=False,
        reason=PublicationReason.FILED if version == 1 else PublicationReason.REPAIRED,
        cause_event_id=None,
        changed_at=published_from,
        version=version,
        policy_version="test",
    ).dumps()


def list_change(subject: str, kind: str, version: int, action: str) -> bytes:
    entered = NOW - timedelta(days=10)
    return ListChange(
        subject=subject,
        list=ListKind(kind),
        action=ListAction(action),
        basis=[Evidence(fact="court_dishonest_debtor", value=1.0)],
        entered_at=entered,
        expires_at=entered + timedelta(days=1095),
        exited_at=NOW if action == "exited" else None,
        exit_reason=ExitReason.REPAIRED if action == "exited" else None,
        measures=[
            Measure(
                code="no_bidding",
                category=MeasureCategory.ADMINISTRATIVE,
                description="限制参与招投标",
                actions=["bidding"],
            )
        ],
        legal_rep_id=None,
        version=version,
        policy_version="test",
        region="130102",
        sector=Sector.FOOD_DRUG,
    ).dumps()


def test_a_batch_lands_once_and_a_replay_writes_nothing(store_url: str) -> None:
    batch = [
        *pending("enforcement.events", enforcement_data(description="逾期未整改")),
        *pending("complaints.12315", complaint_data()),
        *pending("iot.readings", iot_data()),
    ]
    first = write(store_url, batch)
    assert first.written == {"enforcement_events": 1, "complaints": 1, "iot_readings": 1}
    again = write(store_url, batch)
    assert sum(again.written.values()) == 0
    assert again.unchanged == {"enforcement_events": 1, "complaints": 1, "iot_readings": 1}
    with psycopg.connect(store_url) as conn:
        counts = row_counts(conn)
        description = conn.execute("SELECT description FROM enforcement_events").fetchone()
    assert (counts["enforcement_events"], counts["complaints"], counts["iot_readings"]) == (1, 1, 1)
    assert description == ("逾期未整改",)


def test_the_same_event_id_of_two_subjects_is_two_records(store_url: str) -> None:
    # The pipeline de-duplicates per subject: the store keeps what it processed.
    rows = pending("enforcement.events", enforcement_data(event_id="shared"))
    rows += pending(
        "enforcement.events",
        enforcement_data(event_id="shared", subject=OTHER_SUBJECT),
        key=OTHER_SUBJECT,
    )
    assert write(store_url, rows).written == {"enforcement_events": 2}


def test_a_state_table_keeps_the_highest_version_whatever_the_order(store_url: str) -> None:
    versions = [
        pending("risk.publications", publication("e-1", 1)),
        pending("risk.publications", publication("e-1", 2, PublicationStatus.REPAIRED)),
        pending("risk.publications", publication("e-1", 3, PublicationStatus.EXPIRED)),
    ]
    random.Random(7).shuffle(versions)
    write(store_url, versions[0] + versions[1])  # two versions in one batch
    write(store_url, versions[2])
    write(store_url, versions[0])  # an old one redelivered
    with psycopg.connect(store_url) as conn:
        [standing] = q.fetch(conn, q.publication_standing(SUBJECT, "e-1")).items
        history = q.fetch(conn, q.publication_history(SUBJECT, "e-1")).items
    assert (standing.version, standing.status) == (3, "expired")
    assert [p.version for p in history] == [1, 2, 3]


def test_a_refused_row_is_returned_with_the_reason_and_the_rest_is_written(
    store_url: str,
) -> None:
    good = [pending("enforcement.events", enforcement_data()) for _ in range(40)]
    bad = pending("enforcement.events", enforcement_data(description="坏\x00数据"))
    rows = [row for batch in good[:17] + [bad] + good[17:] for row in batch]
    result = write(store_url, rows)
    assert result.written == {"enforcement_events": 40}
    [(refused, reason)] = result.rejected
    assert refused.source == bad[0].source
    assert "NUL" in reason
    with psycopg.connect(store_url) as conn:
        assert row_counts(conn)["enforcement_events"] == 40


def test_digests_do_not_depend_on_the_order_rows_arrived_in(
    embedded_postgres: Any, store_url: str
) -> None:
    from tests.conftest import fresh_store

    rows = [
        row
        for i in range(30)
        for row in pending("enforcement.events", enforcement_data(event_id=f"e-{i}"))
        + pending("risk.publications", publication(f"e-{i}", 1 + i % 2))
    ]
    write(store_url, rows)
    with fresh_store(embedded_postgres) as other:
        shuffled = rows[:]
        random.Random(3).shuffle(shuffled)
        for start in range(0, len(shuffled), 7):
            write(other, shuffled[start : start + 7])
        with psycopg.connect(store_url) as a, psycopg.connect(other) as b:
            first, second = digests(a), digests(b)
    assert first == second
    assert {d.table: d.rows for d in first}["publications"] == 30
    with psycopg.connect(store_url) as conn:
        conn.execute("UPDATE enforcement_events SET amount = 1 WHERE event_id = 'e-3'")
        assert digests(conn) != first  # a changed value changes the digest


def test_records_of_a_subject_by_period_department_kind_and_publication(store_url: str) -> None:
    rows = []
    for day, (kind, department) in enumerate(
        [
            ("penalty", "market_regulation"),
            ("spot_check", "market_regulation"),
            ("penalty", "taxation"),
            ("honour", "market_regulation"),
            ("penalty", "market_regulation"),
        ]
    ):
        extra: dict[str, Any] = {"severity": "general"} if kind == "penalty" else {}
        if kind == "spot_check":
            extra = {"result": "passed"}
        rows += pending(
            "enforcement.events",
            enforcement_data(
                event_id=f"r-{day}",
                kind=kind,
                department=department,
                occurred_at=T0 + timedelta(days=day),
                **extra,
            ),
        )
    rows += pending("risk.publications", publication("r-0", 1, published_from=T0))
    rows += pending("risk.publications", publication("r-4", 1, published_from=T0))
    rows += pending("risk.publications", publication("r-4", 2, PublicationStatus.REPAIRED))
    write(store_url, rows)
    at = T0 + timedelta(days=10)
    with psycopg.connect(store_url) as conn:

        def ids(**filters: Any) -> list[str]:
            return [r.event_id for r in q.fetch(conn, q.subject_records(SUBJECT, **filters)).items]

        assert ids() == ["r-4", "r-3", "r-2", "r-1", "r-0"]
        assert ids(kinds=["penalty"]) == ["r-4", "r-2", "r-0"]
        assert ids(departments=["taxation"]) == ["r-2"]
        assert ids(since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)) == ["r-2", "r-1"]
        assert ids(published=True, at=at) == ["r-0"]  # r-4 was repaired
        assert ids(published=False, at=at) == ["r-4", "r-3", "r-2", "r-1"]
        page = q.fetch(conn, q.subject_records(SUBJECT, limit=2))
        rest = q.fetch(conn, q.subject_records(SUBJECT, limit=2, after=page.after))
        last = q.fetch(conn, q.subject_records(SUBJECT, limit=2, after=rest.after))
        assert [r.event_id for r in page.items + rest.items + last.items] == [
            "r-4",
            "r-3",
            "r-2",
            "r-1",
            "r-0",
        ]
        assert last.after is None
        record = q.fetch(conn, q.subject_records(SUBJECT, kinds=["penalty"], limit=1)).items[0]
        assert (record.publication_status, record.body["event_id"]) == ("repaired", "r-4")


def test_publications_in_force_are_published_and_inside_their_period(store_url: str) -> None:
    rows = pending("risk.publications", publication("now", 1))
    rows += pending("risk.publications", publication("over", 1, days=10))  # ended 20 days ago
    rows += pending("risk.publications", publication("gone", 1))
    rows += pending("risk.publications", publication("gone", 2, PublicationStatus.CORRECTED))
    rows += pending(
        "risk.publications",
        publication("tax", 1, subject=OTHER_SUBJECT, department=Department.TAXATION),
        key=OTHER_SUBJECT,
    )
    write(store_url, rows)
    with psycopg.connect(store_url) as conn:

        def shown(**filters: Any) -> set[str]:
            return {p.event_id for p in q.fetch(conn, q.publications_in_force(**filters)).items}

        assert shown() == {"now", "tax"}
        assert shown(department="taxation") == {"tax"}
        assert shown(subject=SUBJECT) == {"now"}
        assert shown(at=NOW - timedelta(days=25)) == {"now", "over", "tax"}


def test_list_entries_in_force_and_complaint_counts(store_url: str) -> None:
    rows = pending("risk.list-changes", list_change(SUBJECT, "joint_punishment", 1, "entered"))
    rows += pending("risk.list-changes", list_change(SUBJECT, "key_attention", 1, "entered"))
    rows += pending("risk.list-changes", list_change(SUBJECT, "key_attention", 2, "exited"))
    for status in ("received", "received", "mediated"):
        rows += pending("complaints.12315", complaint_data(status=status))
    write(store_url, rows)
    with psycopg.connect(store_url) as conn:
        entries = q.fetch(conn, q.list_entries_in_force()).items
        counts = q.fetch(conn, q.complaint_counts(SUBJECT)).items
        standing = q.fetch(conn, q.subject_lists(SUBJECT)).items
    assert [(e.subject, e.list) for e in entries] == [(SUBJECT, "joint_punishment")]
    assert entries[0].body["measures"]  # what departments apply comes with it
    assert [(s.list, s.active, s.version) for s in standing] == [
        ("joint_punishment", True, 1),
        ("key_attention", False, 2),
    ]
    assert [(c.category, c.status, c.count) for c in counts] == [
        ("food_safety", "mediated", 1),
        ("food_safety", "received", 2),
    ]


def test_a_bad_cursor_or_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="cursor"):
        q.subject_records(SUBJECT, after="not-a-cursor")
    with pytest.raises(ValueError, match="limit"):
        q.subject_records(SUBJECT, limit=0)


def test_readings_older_than_the_retention_are_pruned(store_url: str) -> None:
    rows = [
        row
        for days in (1, 3, 9, 12)
        for row in pending("iot.readings", iot_data(measured_at=NOW - timedelta(days=days)))
    ]
    write(store_url, rows)
    with psycopg.connect(store_url) as conn:
        assert prune_readings(conn, NOW - timedelta(days=7), chunk=1) == 2
        assert row_counts(conn)["iot_readings"] == 2
