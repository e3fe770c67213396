"""Input batches: what is queued comes as one batch, acknowledged only once it is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

import pytest
from faust.types import TP, EventT
from faust.types.tuples import ConsumerMessage

from streams.runtime.batches import each_batch, gather
from streams.wiring import Wiring


@pytest.fixture
def app(worker: Wiring) -> Any:
    """The worker's app: its consumer commits through our replacement of ``_new_offset``."""
    return worker.app


def message(app: Any, offset: int, generation_id: int | None = None) -> ConsumerMessage:
    generation = app.consumer_generation_id if generation_id is None else generation_id
    found = ConsumerMessage(
        "some-topic", 0, offset, 0.0, 0, None, b"k", b"v%d" % offset, None,
        generation_id=generation,
    )  # fmt: skip
    found.incref()  # the one channel it is delivered to
    return found


def values(batch: list[EventT]) -> list[bytes | None]:
    return [event.message.value for event in batch]


Handler = Callable[[list[EventT]], Awaitable[None]]


async def handle_queued(
    app: Any, messages: list[ConsumerMessage], handle: Handler, max_events: int = 100
) -> None:
    """Queue ``messages`` at once for a fresh stream, run ``each_batch`` over them with
    ``handle``, then end the stream as Faust does when it stops."""
    app.flow_control.resume()
    channel = app.channel()
    reading = asyncio.ensure_future(each_batch(channel.stream(), handle, max_events))
    await asyncio.sleep(0)  # the reader subscribes and waits
    for queued in messages:
        await channel.put(await channel.decode(queued))
    for _ in range(10):
        await asyncio.sleep(0)
    for reader in cast(Any, channel)._subscribers:
        await reader.throw(StopAsyncIteration())
    await asyncio.wait_for(reading, timeout=5)  # it ends, rather than failing


def test_everything_queued_is_one_batch_acknowledged_after_it_is_handled(app: Any) -> None:
    queued = [message(app, offset) for offset in range(5)]
    handled: list[tuple[list[bytes | None], list[bool]]] = []

    async def handle(batch: list[EventT]) -> None:
        handled.append((values(batch), [m.acked for m in queued]))

    asyncio.run(handle_queued(app, queued, handle, max_events=3))
    assert handled == [
        ([b"v0", b"v1", b"v2"], [False] * 5),  # at most max_events; nothing acknowledged yet
        ([b"v3", b"v4"], [True, True, True, False, False]),
    ]
    assert all(m.acked for m in queued)


def test_a_message_fetched_before_a_rebalance_is_acknowledged_unhandled(app: Any) -> None:
    stale = message(app, 0, generation_id=app.consumer_generation_id - 1)
    current = message(app, 1)
    handled: list[list[bytes | None]] = []

    async def handle(batch: list[EventT]) -> None:
        handled.append(values(batch))

    asyncio.run(handle_queued(app, [stale, current], handle))
    assert handled == [[b"v1"]]
    assert stale.acked


def test_a_batch_whose_handling_fails_is_neither_acknowledged_nor_waited_for(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.topics, "_acking_topics", {"some-topic"})  # as the inputs are
    queued = [message(app, 0), message(app, 1)]
    pending_while_handled: list[bool] = []

    async def fail(batch: list[EventT]) -> None:
        pending_while_handled.extend(m in pending(app) for m in queued)
        raise RuntimeError("the agent failed")

    with pytest.raises(RuntimeError):
        asyncio.run(handle_queued(app, queued, fail))
    assert pending_while_handled == [True, True]  # a rebalance would wait for them
    assert not any(m.acked for m in queued)  # their offsets are not committed
    assert not any(m in pending(app) for m in queued)  # nor does anything wait for them


def pending(app: Any) -> Any:
    """The messages a rebalance or shutdown waits for."""
    return cast(Any, app.consumer)._unacked_messages


@pytest.fixture
def acking(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TP]:
    """``some-topic`` acknowledged as the inputs are; its partition's bookkeeping cleaned up."""
    monkeypatch.setattr(app.topics, "_acking_topics", {"some-topic"})
    tp = TP("some-topic", 0)
    consumer = cast(Any, app.consumer)
    yield tp
    for bookkeeping in (consumer._acked, consumer._acked_index, consumer._committed_offset):
        bookkeeping.pop(tp, None)


def next_commit(app: Any, tp: TP) -> int | None:
    """The offset Faust's consumer would commit for ``tp`` now (None: nothing)."""
    return cast(Any, app.consumer)._filter_committable_offsets([tp]).get(tp)


def test_records_after_a_failed_batch_do_not_carry_the_commit_past_it(app: Any, acking: TP) -> None:
    """Faust commits past a one-record gap, or any gap before a partition's first
    commit; the failed record would then never be read again."""
    failed, after = message(app, 0), message(app, 1)

    async def fail(batch: list[EventT]) -> None:
        raise RuntimeError("the agent failed")

    async def handle(batch: list[EventT]) -> None:
        pass

    with pytest.raises(RuntimeError):
        asyncio.run(handle_queued(app, [failed], fail))
    asyncio.run(handle_queued(app, [after], handle))  # the restarted agent goes on
    assert after.acked
    assert (next_commit(app, acking) or 0) <= failed.offset

    # The partition is read again from its commit (a rebalance): now both are handled.
    asyncio.run(handle_queued(app, [message(app, 0), message(app, 1)], handle))
    assert next_commit(app, acking) == 2


async def deliver_in_turns(queue: asyncio.Queue[int], turns: int, per_turn: int) -> None:
    """Put ``per_turn`` items a turn of the event loop, as Faust's consumer hands on a fetch."""
    for turn in range(turns):
        for item in range(per_turn):
            queue.put_nowait(turn * per_turn + item)
        await asyncio.sleep(0)


def batches_of_backlog(turns: int, per_turn: int, max_events: int) -> list[list[int]]:
    """The batches ``gather`` makes of a backlog the consumer delivers over several turns."""

    async def run() -> list[list[int]]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        consumer = asyncio.create_task(deliver_in_turns(queue, turns, per_turn))
        batches: list[list[int]] = []
        while sum(map(len, batches)) < turns * per_turn:
            batches.append(await gather(queue, max_events))
        await consumer
        return batches

    return asyncio.run(run())


def test_a_backlog_delivered_over_several_turns_comes_as_one_batch() -> None:
    assert batches_of_backlog(turns=5, per_turn=100, max_events=1000) == [list(range(500))]


def test_a_batch_stops_at_its_size() -> None:
    batches = batches_of_backlog(turns=5, per_turn=100, max_events=250)
    assert batches == [list(range(250)), list(range(250, 500))]


def test_a_lone_record_is_handled_without_waiting_for_later_ones() -> None:
    async def run() -> list[int]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        queue.put_nowait(1)
        asyncio.get_running_loop().call_later(0.05, queue.put_nowait, 2)
        return await asyncio.wait_for(gather(queue, max_events=1000), timeout=0.04)

    assert asyncio.run(run()) == [1]
