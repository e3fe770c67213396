"""The ingest agent under ``agent.test_context()`` (faust testing guide): no broker.

The agent reads three input topics through one channel and decodes by the
message's topic name. ``AgentTestWrapper.put`` names the message after the
agent's channel, and a multi-topic channel has no single name (it becomes
``"<internal>"``), so :func:`put_raw` pins the topic name for one message.
The worker's producer is replaced by a recorder, inspected for what was sent.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.types import AgentT, TableT

from detectors.alert_book import AlertBook
from detectors.state import SubjectState
from streams.runtime.channels import NotSent
from streams.wiring import Wiring
from tests.factories import (
    COMPLAINTS_TOPIC,
    ENFORCEMENT_TOPIC,
    IOT_TOPIC,
    T0,
    complaint_data,
    encode,
    enforcement_data,
    iot_data,
    make_uscc,
)
from tests.streams.recorded_producer import RecordedProducer, SentRecord, recorded_producer

#: What the agent sent, by short name of the output topic (its field in ``Channels``).
TOPICS = {
    "dlq": "dead_letters",
    "alerts": "alert_candidates",  # to the alert manager
    "tier_changes": "tier_changes",
    "adverse_signals": "adverse_signals",
    "complaint_counts": "complaint_counts",
    "peer_features": "peer_feature_changes",
    "list_changes": "list_changes",
    "notices": "workflow_notices",
}


class Outputs:
    """What the agent sent, by short name of the output topic."""

    def __init__(self, producer: RecordedProducer, worker: Wiring) -> None:
        self.producer, self.worker = producer, worker

    def __getitem__(self, name: str) -> list[SentRecord]:
        return self.producer.records(getattr(self.worker.channels, TOPICS[name]))


@pytest.fixture
def outputs(worker: Wiring) -> Iterator[Outputs]:
    """The worker's producer, recording: nothing leaves the process."""
    with recorded_producer(worker.app) as producer:
        yield Outputs(producer, worker)


@pytest.fixture
def ingest(worker: Wiring) -> AgentT:
    return worker.app.agents["streams.agents.ingest.ingest"]


@pytest.fixture
def subjects(worker: Wiring) -> TableT:
    return worker.tables.subjects


async def put_raw(agent: Any, topic: str, key: bytes | None, value: bytes | None) -> None:
    with patch.object(agent, "_get_strtopic", return_value=topic):
        await agent.put(value, key=key)


def run(worker: Wiring, coro: Any) -> Any:
    worker.app.flow_control.resume()
    return asyncio.run(coro)


def sent_values(records: list[SentRecord]) -> list[dict[str, Any]]:
    return [orjson.loads(record.value or b"null") for record in records]


def stored_state(subjects: TableT, subject: str) -> SubjectState | None:
    raw = subjects.get(subject.encode())
    return None if raw is None else SubjectState.from_bytes(raw)


def test_valid_record_updates_state_and_malformed_one_goes_to_dlq(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    subject = make_uscc(9101)
    good = encode(enforcement_data(subject=subject))
    bad = b'{"event_id": "x-1", "subject": '  # truncated JSON

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), good)
            await put_raw(agent, COMPLAINTS_TOPIC, subject.encode(), bad)

    run(worker, scenario())

    state = stored_state(subjects, subject)
    assert state is not None and state.events == 1
    # The changelog holds what the table holds, so a restarted worker recovers it.
    (logged,) = outputs.producer.records(subjects.changelog_topic)
    assert logged.key == subject.encode() and logged.value == subjects.get(subject.encode())
    assert logged.partition == 0  # its record's partition (the test context uses 0)
    # The first record of a subject assigns its first tier.
    (change,) = sent_values(outputs["tier_changes"])
    assert change["subject"] == subject and change["version"] == 1
    assert change["previous_tier"] is None

    (dead,) = sent_values(outputs["dlq"])
    assert dead["reason"] == "not_json"
    assert dead["source_topic"] == COMPLAINTS_TOPIC
    # The dead letter keeps the message byte for byte, and its key.
    assert base64.b64decode(dead["value_b64"]) == bad
    assert base64.b64decode(dead["key_b64"]) == subject.encode()
    (record,) = outputs["dlq"]
    assert record.key == subject.encode()  # keyed by the original key


def test_a_record_larger_than_the_producer_sends_is_dead_lettered_and_the_rest_processed(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    """A whole copy (base64) of a 5 MB record would be refused by the worker's producer."""
    subject = make_uscc(9106)
    key = subject.encode()
    oversized = encode(enforcement_data(subject=subject, description="x" * 5_000_000))

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, key, encode(enforcement_data(subject=subject)))
            await put_raw(agent, COMPLAINTS_TOPIC, key, oversized)
            await put_raw(agent, COMPLAINTS_TOPIC, key, encode(complaint_data(subject=subject)))

    run(worker, scenario())

    state = stored_state(subjects, subject)
    assert state is not None and state.events == 2  # the records around it
    ((record, dead),) = zip(outputs["dlq"], sent_values(outputs["dlq"]), strict=True)
    assert dead["reason"] == "too_large" and dead["source_topic"] == COMPLAINTS_TOPIC
    assert dead["value_size"] == len(oversized) and dead["value_b64"] is None
    assert oversized.startswith(base64.b64decode(dead["value_excerpt_b64"]))
    assert record.key == key and len(record.value or b"") < 100_000


def test_an_output_too_large_to_send_is_dead_lettered_in_its_place(
    outputs: Outputs, worker: Wiring
) -> None:
    """A record the worker made itself is no more allowed to crash it than an input."""
    key = make_uscc(9107).encode()
    value = b'{"evidence": "' + b"e" * 2_000_000 + b'"}'

    async def scenario() -> asyncio.Future[Any]:
        return await worker.outbox.send(worker.channels.tier_changes, key, value)

    delivery = asyncio.run(scenario())

    assert outputs["tier_changes"] == []
    (dead,) = sent_values(outputs["dlq"])
    assert dead["reason"] == "output_too_large" and dead["source_topic"] == "risk.tier-changes"
    assert (dead["partition"], dead["offset"]) == (None, None)  # it exists nowhere else
    assert dead["value_size"] == len(value)
    assert isinstance(delivery.exception(), NotSent)


def test_each_topic_is_decoded_by_its_own_contract(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    subject = make_uscc(9102)
    key = subject.encode()

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, key, encode(enforcement_data(subject=subject)))
            await put_raw(agent, COMPLAINTS_TOPIC, key, encode(complaint_data(subject=subject)))
            await put_raw(agent, IOT_TOPIC, key, encode(iot_data(subject=subject)))
            # A valid complaint sent to the IoT topic breaks that topic's contract.
            await put_raw(agent, IOT_TOPIC, key, encode(complaint_data(subject=subject)))

    run(worker, scenario())

    state = stored_state(subjects, subject)
    assert state is not None and state.events == 3
    (dead,) = sent_values(outputs["dlq"])
    assert dead["source_topic"] == IOT_TOPIC
    assert dead["reason"] == "missing_field"


def test_contract_violations_are_dead_lettered_with_reason_and_field(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    subject = make_uscc(9103)
    other = make_uscc(9104)

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            data = enforcement_data(subject=subject, kind="fine")
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), encode(data))
            data = enforcement_data(subject=subject)
            await put_raw(agent, ENFORCEMENT_TOPIC, other.encode(), encode(data))
            await put_raw(agent, ENFORCEMENT_TOPIC, None, encode(data))
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), None)  # tombstone

    run(worker, scenario())

    dead = sent_values(outputs["dlq"])
    assert [(d["reason"], d["field"]) for d in dead] == [
        ("bad_enum", "kind"),
        ("key_mismatch", None),
        ("key_mismatch", None),
        ("not_json", None),
    ]
    assert dead[2]["key_b64"] is None and dead[3]["value_b64"] is None
    # Nothing invalid reached the subject's state.
    assert stored_state(subjects, subject) is None
    assert len(outputs["tier_changes"]) == 0


def test_redelivered_event_is_applied_once(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    subject = make_uscc(9105)
    message = encode(enforcement_data(subject=subject, severity="serious"))

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), message)
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), message)

    run(worker, scenario())

    state = stored_state(subjects, subject)
    assert state is not None and state.events == 1
    # One serious penalty (food and drugs, a life-safety field): one rule alert,
    # one joint-punishment listing with its alert, one (first) tier assignment.
    alerts = sent_values(outputs["alerts"])
    assert [(a["subject"], a["kind"]) for a in alerts] == [(subject, "rule"), (subject, "list")]
    (listing,) = sent_values(outputs["list_changes"])
    assert (listing["list"], listing["action"], listing["version"]) == (
        "joint_punishment",
        "entered",
        1,
    )
    assert len(outputs["tier_changes"]) == 1
    assert len(outputs["dlq"]) == 0


def test_a_deadline_passes_when_the_partition_s_event_time_passes_it(
    outputs: Outputs, worker: Wiring, ingest: AgentT, subjects: TableT
) -> None:
    promised, other = make_uscc(9106), make_uscc(9107)
    made = enforcement_data(
        subject=promised,
        kind="commitment_made",
        commitment_kind="approval_substitution",
        department="government_services",
        occurred_at=T0,
        deadline=T0 + timedelta(days=10),
    )
    # Nothing more about the promised subject: another subject's record moves time on.
    later = enforcement_data(subject=other, kind="honour", occurred_at=T0 + timedelta(days=20))

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, promised.encode(), encode(made))
            assert len(outputs["notices"]) == 0
            await put_raw(agent, ENFORCEMENT_TOPIC, other.encode(), encode(later))

    run(worker, scenario())

    notice, revocation = sent_values(outputs["notices"])
    assert (notice["subject"], notice["kind"], notice["concerns_event_id"]) == (
        promised,
        "commitment_breached",
        made["event_id"],
    )
    assert revocation["kind"] == "approval_revocation"  # the kind's consequence (seed 一)
    state = stored_state(subjects, promised)
    assert state is not None and state.signals["commitment_breached_approval_substitution"] > 0
    assert [a["kind"] for a in sent_values(outputs["alerts"])] == ["deadline"]


@contextmanager
def candidates_partition_0_held(worker: Wiring, partitions: int) -> Iterator[None]:
    """The worker holds partition 0 of ``risk.internal.alert-candidates``, which has
    ``partitions`` (the test context delivers every record on partition 0)."""
    with (
        patch("streams.agents.alert_manager.active_partitions", return_value={0}),
        patch.object(worker.app.consumer, "topic_partitions", return_value=partitions),
    ):
        yield


def subject_kept_in(partition: int, partitions: int, start: int) -> str:
    """A subject whose key goes to ``partition`` of ``partitions`` (Kafka's partitioner)."""
    for number in range(start, start + 1000):
        subject = make_uscc(number)
        key = subject.encode()
        if DefaultPartitioner()(key, list(range(partitions)), []) == partition:
            return subject
    raise AssertionError(f"no subject found for partition {partition}")


def test_an_alert_whose_book_is_in_the_record_s_partition_is_decided_without_a_hop(
    outputs: Outputs, worker: Wiring, ingest: AgentT
) -> None:
    here, elsewhere = subject_kept_in(0, 4, 9600), subject_kept_in(1, 4, 9600)
    serious = {
        s: encode(enforcement_data(subject=s, severity="serious")) for s in (here, elsewhere)
    }

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            for subject, value in serious.items():
                await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), value)

    with candidates_partition_0_held(worker, partitions=4):
        run(worker, scenario())

    # The book of ``here`` is in partition 0, held here: its alerts open at once, ...
    opened = outputs.producer.values(worker.channels.alerts)
    assert [(a["subject"], a["kind"], a["event"]) for a in opened] == [
        (here, "rule", "opened"),
        (here, "list", "opened"),
    ]
    book = worker.tables.alert_books.get(here.encode())
    assert book is not None and len(AlertBook.from_bytes(book).open) == 2
    (logged,) = outputs.producer.records(worker.tables.alert_books.changelog_topic)
    assert (logged.key, logged.partition) == (here.encode(), 0)
    # ... the other subject's book is in partition 1: its candidates go to its manager.
    candidates = sent_values(outputs["alerts"])
    assert [(a["subject"], a["kind"]) for a in candidates] == [
        (elsewhere, "rule"),
        (elsewhere, "list"),
    ]


def test_the_manager_opens_the_alerts_sent_to_it_and_dead_letters_what_it_cannot_read(
    outputs: Outputs, worker: Wiring, ingest: AgentT
) -> None:
    subject = make_uscc(9701)
    manager = worker.app.agents["streams.agents.alert_manager.manage_alerts"]

    async def raise_candidates() -> None:  # no partition of the candidates topic held
        async with ingest.test_context() as agent:
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), encode(enforcement_data(
                subject=subject, severity="serious")))  # fmt: skip

    run(worker, raise_candidates())
    sent = outputs["alerts"]
    assert len(sent) == 2 and outputs.producer.records(worker.channels.alerts) == []

    async def manage() -> None:
        async with manager.test_context() as agent:
            await agent.put(b'{"command": 1}', key=subject.encode())
            for candidate in sent:
                await agent.put(candidate.value, key=candidate.key)

    run(worker, manage())

    opened = outputs.producer.values(worker.channels.alerts)
    assert [(a["subject"], a["kind"], a["event"]) for a in opened] == [
        (subject, "rule", "opened"),
        (subject, "list", "opened"),
    ]
    (dead,) = sent_values(outputs["dlq"])
    candidates = worker.channels.alert_candidates.get_topic_name()
    assert (dead["reason"], dead["source_topic"]) == ("bad_internal_message", candidates)
