"""The chaining agent under ``agent.test_context()``: no broker.

``risk.audit`` is patched and the producer records the dead letters; the chain's head, which
the agent reads from the trail on the broker, comes from :func:`head_on_broker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest

from pipeline.audit_trail import ChainHead
from streams.agents import audit
from streams.wiring import Wiring
from tests.streams.recorded_producer import RecordedProducer, recorded_producer
from topics.audit import AuditRecord, encode_record, encode_request, new_request, parse_audit_record
from topics.audit_chain import chain, verify


class Sent:
    """Stands in for a topic's send: records values; the delivery is already acknowledged."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    async def __call__(self, **kwargs: Any) -> asyncio.Future[None]:
        self.values.append(kwargs["value"])
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


@pytest.fixture
def trail(worker: Wiring) -> Iterator[Sent]:
    sent = Sent()
    with patch.object(worker.channels.audit_trail, "send", new=sent):
        yield sent


@pytest.fixture
def dlq(worker: Wiring) -> Iterator[RecordedProducer]:
    with recorded_producer(worker.app) as producer:
        yield producer


def head_on_broker(worker: Wiring, *records: AuditRecord) -> Any:
    head = ChainHead()
    for record in records:
        head.advance(record)
    # As after a rebalance: the agent reads the head first.
    asyncio.run(worker.app.on_partitions_revoked.send(set()))
    return patch.object(audit, "read_head", new=AsyncMock(return_value=head))


def run(worker: Wiring, *values: bytes) -> None:
    agent = worker.app.agents["streams.agents.audit.chain_audit_records"]

    async def scenario() -> None:
        async with agent.test_context() as context:
            for value in values:
                await context.put(value, key=b"actor")

    worker.app.flow_control.resume()
    asyncio.run(scenario())


def request(target: str) -> bytes:
    return encode_request(new_request("wang", "alert.ack", target, {"note": "on site"}))


def test_requests_become_a_chain_that_verifies(
    worker: Wiring, trail: Sent, dlq: RecordedProducer
) -> None:
    with head_on_broker(worker):
        run(worker, request("alert:a1"), request("alert:a2"), request("alert:a3"))
    records = [parse_audit_record(value) for value in trail.values]
    assert [(r.seq, r.target) for r in records] == [
        (1, "alert:a1"),
        (2, "alert:a2"),
        (3, "alert:a3"),
    ]
    assert verify(records) == []


def test_the_chain_continues_from_the_head_on_the_broker(
    worker: Wiring, trail: Sent, dlq: RecordedProducer
) -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    first = chain(None, new_request("cli:ops", "token.create", "token:wang", at=when), when)
    with head_on_broker(worker, first):
        run(worker, request("alert:a1"))
    (record,) = [parse_audit_record(value) for value in trail.values]
    assert record.seq == 2 and record.prev_hash == first.hash
    assert verify([first, record]) == []


def test_a_redelivered_request_is_not_appended_twice(
    worker: Wiring, trail: Sent, dlq: RecordedProducer
) -> None:
    once = request("alert:a1")
    with head_on_broker(worker):
        run(worker, once, once, request("alert:a2"))
    assert [parse_audit_record(v).seq for v in trail.values] == [1, 2]


def test_an_unreadable_request_is_dead_lettered_and_the_chain_goes_on(
    worker: Wiring, trail: Sent, dlq: RecordedProducer
) -> None:
    with head_on_broker(worker):
        run(worker, b'{"actor": "wang"}', request("alert:a1"))
    (dead,) = dlq.values(worker.channels.dead_letters)
    assert dead["source_topic"] == "risk.internal.audit-requests"
    assert dead["reason"] == "missing_field"
    assert [parse_audit_record(v).seq for v in trail.values] == [1]


def test_the_head_is_the_last_readable_record_of_the_tail() -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    first = chain(None, new_request("cli:ops", "token.create", "token:a", at=when), when)
    second = chain(first, new_request("cli:ops", "token.create", "token:b", at=when), when)
    tail = [encode_record(first), encode_record(second), b"forged garbage"]
    with patch.object(audit, "read_tail", new=AsyncMock(return_value=tail)):
        head = asyncio.run(audit.read_head("unused:9092"))
    assert head.last is not None and head.last.seq == 2
    assert head.seen(first.request_id) and head.seen(second.request_id)


def test_the_head_is_read_again_after_partitions_are_revoked() -> None:
    read = AsyncMock(return_value=ChainHead())
    memory = audit.HeadMemory(read)
    asyncio.run(memory.current())
    asyncio.run(memory.current())
    assert read.await_count == 1
    memory.forget(None, signal=None)  # as Faust signals a rebalance
    asyncio.run(memory.current())
    assert read.await_count == 2
