"""Issue 15: the record store through the real pipeline, broker, sink and PostgreSQL.

One worker and one sink for the module; records are sent with kafka-python as
a department system would, and read back with SQL and the read API.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer
from stdnum.cn import uscc as stdnum_uscc

from creditwatch.embedded import EmbeddedPostgres
from streams.archive import queries as q
from tests.conftest import fresh_store
from tests.factories import enforcement_record
from tests.integration.archive_support import Archive, running_sink
from tests.integration.conftest import Pipeline, running_pipeline

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def make_uscc(n: int) -> str:
    first17 = f"91130104{n:09d}"
    return first17 + stdnum_uscc.calc_check_digit(first17)


def enforcement(subject: str, event_id: str, days_ago: float, **fields: Any) -> dict[str, Any]:
    """A general penalty in 桥西区, where this module's subjects are registered."""
    at = NOW - timedelta(days=days_ago)
    fields = {"severity": "general", "region": "130104", **fields}
    return enforcement_record(subject, event_id, "penalty", at, **fields)


@pytest.fixture(scope="module")
def archive(embedded_postgres: EmbeddedPostgres) -> Iterator[Archive]:
    with running_pipeline() as pipeline, fresh_store(embedded_postgres) as url:
        with running_sink(pipeline, url) as sink:
            yield Archive(pipeline, url, sink)


def test_records_and_derived_facts_land_with_every_field(archive: Archive) -> None:
    subject = make_uscc(1)
    penalty = enforcement(
        subject,
        "a-pen-1",
        days_ago=2,
        severity="serious",
        amount=86000.0,
        reference="长市监罚〔2026〕88号",
        description="经营超过保质期的食品",
        legal_rep_id="rep-a1",
    )
    complaint = {
        "event_id": "a-cmp-1",
        "subject": subject,
        "kind": "complaint",
        "category": "food_safety",
        "channel": "wechat",
        "region": "130104",
        "sector": "food_drug",
        "received_at": (NOW - timedelta(hours=3)).isoformat(),
        "status": "accepted",
        "amount": 59.5,
        "product": "酸奶",
    }
    reading = {
        "event_id": "a-iot-1",
        "device_id": "fridge-a1",
        "subject": subject,
        "sector": "food_drug",
        "region": "130104",
        "metric": "cold_chain_temperature",
        "value": 5.5,
        "unit": "celsius",
        "limit": 8.0,
        "measured_at": (NOW - timedelta(minutes=5)).isoformat(),
    }
    archive.send("enforcement.events", [penalty])
    archive.send("complaints.12315", [complaint])
    archive.send("iot.readings", [reading])
    archive.settle()

    [(body, amount, reference, description)] = archive.query(
        "SELECT body, amount, reference, description FROM enforcement_events "
        "WHERE subject = %s AND event_id = 'a-pen-1'",
        subject,
    )
    sent = {k: v for k, v in penalty.items() if k != "occurred_at"}
    assert {k: body[k] for k in sent} == sent
    assert datetime.fromisoformat(body["occurred_at"]) == NOW - timedelta(days=2)
    assert float(amount) == 86000.0
    assert (reference, description) == ("长市监罚〔2026〕88号", "经营超过保质期的食品")
    [(complaint_body,)] = archive.query("SELECT body FROM complaints WHERE subject = %s", subject)
    assert complaint_body["product"] == "酸奶" and complaint_body["amount"] == 59.5
    [(limit_value, value)] = archive.query(
        "SELECT limit_value, value FROM iot_readings WHERE subject = %s", subject
    )
    assert (limit_value, value) == (8.0, 5.5)

    # What the pipeline derived from them: the tier, the publication, the alert.
    [(tier, version)] = archive.query(
        "SELECT tier, version FROM tier_state WHERE subject = %s", subject
    )
    assert tier in ("C", "D") and version >= 1
    [(status, severity, until)] = archive.query(
        "SELECT status, severity, published_until FROM publication_state "
        "WHERE subject = %s AND event_id = 'a-pen-1'",
        subject,
    )
    assert (status, severity) == ("published", "serious")
    assert until > NOW + timedelta(days=365)
    alerts = archive.query(
        "SELECT kind, body->'source_event_ids' FROM alert_snapshots WHERE subject = %s", subject
    )
    assert any("a-pen-1" in sources for _, sources in alerts)


def test_a_redelivered_record_and_a_replayed_fact_write_no_second_row(archive: Archive) -> None:
    subject = make_uscc(2)
    record = enforcement(subject, "a-dup-1", days_ago=1)
    archive.send("enforcement.events", [record])
    archive.settle()
    before = archive.counts()
    digests = archive.digests()
    archive.send("enforcement.events", [record, record])  # a department re-sends it
    [(change,)] = archive.query("SELECT body FROM tier_changes WHERE subject = %s", subject)
    archive.send("risk.tier-changes", [change])  # a fact replayed on its topic
    archive.settle()
    assert archive.counts() == before
    assert archive.digests() == digests


def test_a_row_postgresql_refuses_goes_to_the_dlq_and_its_batch_is_written(
    archive: Archive,
) -> None:
    subject = make_uscc(3)
    good = [enforcement(subject, f"a-ok-{i}", days_ago=1, description="正常") for i in range(5)]
    bad = enforcement(subject, "a-nul-1", days_ago=1, description="含\x00字符")
    archive.send("enforcement.events", [*good[:2], bad, *good[2:]])
    archive.settle()
    stored = archive.query("SELECT event_id FROM enforcement_events WHERE subject = %s", subject)
    assert sorted(event_id for (event_id,) in stored) == sorted(r["event_id"] for r in good)

    letters = [
        letter
        for letter in read_dead_letters(archive.pipeline)
        if letter["reason"] == "store_rejected"
    ]
    [letter] = [
        letter
        for letter in letters
        if orjson.loads(base64.b64decode(letter["value_b64"]))["event_id"] == "a-nul-1"
    ]
    assert letter["source_topic"] == "enforcement.events" and letter["offset"] is not None
    assert "enforcement_events" in letter["detail"] and "NUL" in letter["detail"]


def test_a_repaired_record_leaves_publication_and_stays_in_the_record_search(
    archive: Archive,
) -> None:
    """Seed 十五 and 十三: published while in force, gone from publication once repaired,
    still on file for officials."""
    subject = make_uscc(4)
    archive.send("enforcement.events", [enforcement(subject, "a-rep-pen", days_ago=200)])
    archive.settle()
    with archive.connect() as conn:
        shown = q.fetch(conn, q.publications_in_force(subject=subject)).items
    assert [p.event_id for p in shown] == ["a-rep-pen"]

    commitment = enforcement(
        subject,
        "a-rep-commit",
        days_ago=10,
        kind="commitment_made",
        commitment_kind="credit_repair",
        deadline=(NOW + timedelta(days=20)).isoformat(),
        department="government_services",
    )
    del commitment["severity"]
    application = enforcement(
        subject,
        "a-rep-apply",
        days_ago=1,
        kind="repair_applied",
        concerns_event_id="a-rep-pen",
        department="government_services",
    )
    del application["severity"]
    archive.send("enforcement.events", [commitment, application])
    archive.settle()

    with archive.connect() as conn:
        assert q.fetch(conn, q.publications_in_force(subject=subject)).items == []
        history = q.fetch(conn, q.publication_history(subject, "a-rep-pen")).items
        on_file = q.fetch(conn, q.subject_records(subject, published=False)).items
        published = q.fetch(conn, q.subject_records(subject, published=True)).items
    assert [(p.version, p.status, p.reason) for p in history] == [
        (1, "published", "filed"),
        (2, "repaired", "repaired"),
    ]
    assert history[-1].cause_event_id == "a-rep-apply"
    assert "a-rep-pen" in {r.event_id for r in on_file}
    assert [r.publication_status for r in on_file if r.event_id == "a-rep-pen"] == ["repaired"]
    assert published == []


def read_dead_letters(pipeline: Pipeline) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        "risk.dlq",
        bootstrap_servers=pipeline.stack.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [orjson.loads(message.value) for message in consumer]
    finally:
        consumer.close()
