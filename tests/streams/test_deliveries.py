"""No input offset is committed past a record whose outputs were not delivered.

Faust flushes its producer before it commits, but a flush only waits: a
delivery that failed after the producer's retries used to be committed past,
and the inputs that made it never read again. The worker's producer is the
recorder of ``tests/streams/recorded_producer.py``; the consumer's commit is
Faust's own, down to the call that would reach the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast
from unittest.mock import AsyncMock, patch

import pytest
from faust.types import TP

from streams.runtime.channels import SETTLE_EVERY
from streams.wiring import Wiring
from tests.streams.recorded_producer import recorded_producer

INPUT = TP("enforcement.events", 0)


@pytest.fixture
def consumer(worker: Wiring) -> Iterator[Any]:
    """The worker's consumer with input offsets 0..2 handled and acknowledged."""
    found = cast(Any, worker.app.consumer)
    found._acked[INPUT] = [0, 1, 2]
    found._acked_index[INPUT] = {0, 1, 2}
    yield found
    for bookkeeping in (found._acked, found._acked_index, found._committed_offset):
        bookkeeping.pop(INPUT, None)
    worker.outbox.undelivered.clear()


async def commit_after_sending(worker: Wiring, consumer: Any) -> tuple[AsyncMock, AsyncMock]:
    """Send an output of the handled inputs, then let Faust commit; what it did."""
    tier_changes = worker.channels.tier_changes
    await worker.outbox.send(tier_changes, b"91130102MA0EXAMPL1", b"{}")
    with (
        patch.object(consumer, "_commit_offsets", new=AsyncMock(return_value=True)) as commit,
        patch.object(consumer, "crash", new=AsyncMock()) as crash,
    ):
        await consumer.commit()
    return commit, crash


def test_inputs_whose_output_was_delivered_are_committed(worker: Wiring, consumer: Any) -> None:
    with recorded_producer(worker.app):
        commit, crash = asyncio.run(commit_after_sending(worker, consumer))
    commit.assert_awaited_once()
    assert commit.await_args.args[0] == {INPUT: 3}
    crash.assert_not_awaited()


def test_a_failed_delivery_is_not_committed_past_and_stops_the_worker(
    worker: Wiring, consumer: Any
) -> None:
    with recorded_producer(worker.app, failing=True):
        commit, crash = asyncio.run(commit_after_sending(worker, consumer))
    commit.assert_not_awaited()  # the inputs will be read again by the next worker
    (error,) = crash.await_args.args
    assert "not delivered" in str(error) and "risk.tier-changes" in str(error)


def test_a_later_commit_after_a_failed_delivery_is_refused_too(
    worker: Wiring, consumer: Any
) -> None:
    with recorded_producer(worker.app, failing=True):
        asyncio.run(commit_after_sending(worker, consumer))
    consumer._acked[INPUT] = [3]
    consumer._acked_index[INPUT] = {3}
    with recorded_producer(worker.app):
        commit, crash = asyncio.run(commit_after_sending(worker, consumer))
    commit.assert_not_awaited()
    crash.assert_awaited_once()


def test_settled_deliveries_are_forgotten_between_commits_too(worker: Wiring) -> None:
    """A worker that sends without committing (a re-grade of every subject) keeps no
    more than a bounded number of deliveries in memory, and still counts a failure."""

    async def send(count: int) -> None:
        for n in range(count):
            await worker.outbox.send(worker.channels.tier_changes, b"%d" % n, b"{}")

    try:
        with recorded_producer(worker.app):
            asyncio.run(send(SETTLE_EVERY + 10))
        assert len(worker.outbox.handed) < SETTLE_EVERY
        with recorded_producer(worker.app, failing=True):
            asyncio.run(send(SETTLE_EVERY))
        assert worker.outbox.undelivered["risk.tier-changes"] > 0  # seen before any commit
    finally:
        worker.outbox._settle()  # every delivery here is done: none is left
        worker.outbox.undelivered.clear()
