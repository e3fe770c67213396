"""Seed 十一 through the worker's agents, under ``agent.test_context()``: no broker.

A role record and a listing go through the ingest agent, which keeps the role
in the subject's case file and sends the person facts, keyed by the person's
pseudonym; the person-record agent folds them into the person's record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from faust.types import AgentT

from detectors.casefile import CaseFile
from detectors.cross_sector import person_pseudonym
from streams.wiring import Wiring
from tests.factories import (
    ENFORCEMENT_TOPIC,
    ROLES_TOPIC,
    T0,
    encode,
    enforcement_data,
    make_uscc,
    pseudonym_key,
    role_data,
)
from tests.streams.recorded_producer import RecordedProducer, SentRecord, recorded_producer
from tests.streams.test_ingest_agent import put_raw, run


@pytest.fixture
def producer(worker: Wiring) -> Iterator[RecordedProducer]:
    with recorded_producer(worker.app) as recorded:
        yield recorded


def facts_of_a_listing(
    worker: Wiring, producer: RecordedProducer, subject: str, person_id: str
) -> list[SentRecord]:
    """A legal representative recorded, then the subject's court ruling (joint punishment
    and a market ban): what the ingest agent sends the person-record agent."""
    ingest = worker.app.agents["streams.agents.ingest.ingest"]
    role = encode(role_data(subject=subject, person_id=person_id, person_name="张三"))
    ruling = encode(
        enforcement_data(
            subject=subject,
            kind="court_dishonest_debtor",
            severity=None,
            department="court",
            occurred_at=T0 + timedelta(days=1),
        )
    )

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            await put_raw(agent, ROLES_TOPIC, subject.encode(), role)
            await put_raw(agent, ENFORCEMENT_TOPIC, subject.encode(), ruling)

    run(worker, scenario())
    return producer.records(worker.channels.person_facts)


def test_a_role_is_kept_in_the_case_file_and_each_fact_goes_to_the_person(
    worker: Wiring, producer: RecordedProducer
) -> None:
    subject, person_id = make_uscc(9401), "LR000009401"
    facts = facts_of_a_listing(worker, producer, subject, person_id)
    person = person_pseudonym(person_id, pseudonym_key())
    assert len(facts) == 3  # the role, then the two listings that reach the person
    assert {fact.key for fact in facts} == {person.encode()}
    stored = worker.tables.case_files.get(subject.encode())
    assert stored is not None
    assert [(r.person, r.role) for r in CaseFile.from_bytes(stored).roles] == [
        (person, "legal_representative")
    ]
    # Only the role fact carries the id, for the person's own record; a listing names
    # the person by pseudonym.
    assert person_id.encode() in (facts[0].value or b"")
    assert all(person_id.encode() not in (fact.value or b"") for fact in facts[1:])


def test_the_person_agent_publishes_the_record_and_dead_letters_what_it_cannot_read(
    worker: Wiring, producer: RecordedProducer
) -> None:
    subject, person_id = make_uscc(9402), "LR000009402"
    facts = facts_of_a_listing(worker, producer, subject, person_id)
    agent: AgentT = worker.app.agents["streams.agents.persons.keep_person_records"]

    async def scenario() -> None:
        async with agent.test_context() as context:
            for fact in facts:
                await context.put(fact.value, key=fact.key)
            await context.put(b'{"type": "nobody knows"}', key=facts[0].key)

    run(worker, scenario())
    records: list[dict[str, Any]] = producer.values(worker.channels.person_records)
    assert [r["version"] for r in records] == [1, 2, 3]
    latest = records[-1]
    assert (latest["person_id"], latest["person_name"]) == (person_id, "张三")
    assert [(r["subject"], r["role"]) for r in latest["roles"]] == [
        (subject, "legal_representative")
    ]
    assert sorted(e["list"] for e in latest["entries"] if e["active"]) == [
        "joint_punishment",
        "market_ban",
    ]
    ban = next(e for e in latest["entries"] if e["list"] == "market_ban")
    assert {m["code"] for m in ban["measures"]} == {"market_ban"}  # on the person, seed 十
    (letter,) = producer.values(worker.channels.dead_letters)
    assert letter["reason"] == "bad_internal_message"
    # The record lives in the agent's table, so a restarted worker recovers it.
    assert worker.tables.person_files.get(facts[0].key) is not None
