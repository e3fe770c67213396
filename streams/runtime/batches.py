"""Batches of events read straight from an agent's topic queue, acknowledged once handled.

Faust's ``Stream.take_events`` hands every event through the stream iterator
on its own turn of the event loop (``sleep(0)``), through the stream's
sensors, a buffering processor and a background drainer, and then waits up to
``within`` for the batch to fill. :func:`each_batch` takes what the consumer
has already queued, and what it goes on delivering turn after turn
(:func:`gather`), and waits only when nothing is queued: a busy worker gets
large batches (each key loaded and stored once per batch), an idle one handles
a record as soon as it arrives.

It keeps the rest of the stream's contract. Each message is tracked as
pending, so a rebalance waits for its batch, and acknowledged once the batch
has been handled: a crash before that replays the batch, and redelivered
records are dropped by the agents' own duplicate checks. A message fetched
before the latest rebalance, or while flow control is paused, is acknowledged
unhandled, as Faust's stream does: its partition is read again from the
committed offset.

A batch whose handler fails or is cancelled is not acknowledged, where
``take_events`` would acknowledge it (and its offsets be committed, the
records lost). Its offsets stay uncommitted, so its records are read again
when the partition is next assigned; it stops being pending, or a rebalance
and the worker's shutdown would wait for it forever.

Not acknowledging is not enough: Faust commits past a gap in what was
acknowledged when it is a single record, or when the partition has no commit
yet (``Consumer._new_offset`` compares with ``> 1``, and skips the check for a
committed offset of 0). So the partition is also *held* at the batch's first
offset: no commit goes past it until that record has been read again and
acknowledged, or someone else's commit has passed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import faust
from faust.transport.consumer import Consumer
from faust.types import TP, AgentT, AppT, ChannelT, EventT, StreamT
from faust.types.transports import ConsumerT
from mode.utils.aiter import aiter
from mode.utils.futures import maybe_async

from streams.runtime.patches import Method, replace_method

#: The most events in one batch.
BATCH_MAX = 1000

BatchHandler = Callable[[list[EventT]], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def batch_agent(app: faust.App, channel: ChannelT[Any], name: str, handle: BatchHandler) -> AgentT:
    """An agent (concurrency 1) running ``handle`` on each batch of ``channel``'s events.

    One agent per channel, scaled by partitions: with concurrency above 1 Faust
    can commit past an unfinished message (faust-streaming #606).
    """

    async def agent(stream: StreamT[Any]) -> None:
        await each_batch(stream, handle)

    return app.agent(channel, name=name, concurrency=1)(named(agent, name))


def named(fun: F, name: str) -> F:
    """``fun``, a function made for one agent, under that agent's name (its last part):
    a profile (``creditwatch bench --profile``) or traceback then says which agent ran,
    where every agent made by one helper would share the helper's inner name."""
    short = name.rpartition(".")[2]
    fun.__code__ = fun.__code__.replace(co_name=short, co_qualname=short)
    fun.__name__ = fun.__qualname__ = short
    return fun


async def each_batch(
    stream: StreamT[Any],
    handle: BatchHandler,
    max_events: int = BATCH_MAX,
) -> None:
    """Run ``handle`` on the events queued for ``stream``'s agent, at least one and at most
    ``max_events`` at a time, until Faust ends the stream."""
    app = stream.app
    # The agent's topic iterator: App.stream made it one, so aiter returns it.
    channel = cast(ChannelT[Any], aiter(stream.channel))
    queue = channel.queue
    try:
        while True:
            try:
                queued = await gather(queue, max_events)
            except StopAsyncIteration:  # how Faust ends its channels when it stops
                return
            batch = _admitted(app, queued)
            if not batch:
                continue
            try:
                await handle(batch)
            except BaseException:
                _release(app.consumer, batch)
                _hold(batch)
                raise
            await _acknowledge(app, stream, batch)
    finally:
        channel.on_stop_iteration()


async def gather(queue: asyncio.Queue[T], max_events: int) -> list[T]:
    """The next batch: at least one event, then what arrives while the consumer keeps
    delivering, up to ``max_events``.

    Faust's consumer hands a fetch to the agents' queues 100 messages per turn
    of the event loop. Taking only what is queued made every batch of a backlog
    about 100 events, and each batch pays once for its flush and for its
    re-keyed messages (one per peer group, per complaint category). So while a
    turn brings more, the batch waits one more turn; an idle or lightly loaded
    worker finds nothing more in the queue and handles its record at once.
    """
    queued = [await queue.get()]
    while True:
        before = len(queued)
        while len(queued) < max_events and not queue.empty():
            queued.append(queue.get_nowait())
        if len(queued) >= max_events or len(queued) == before:
            return queued
        await asyncio.sleep(0)


def _admitted(app: AppT, queued: list[EventT]) -> list[EventT]:
    """The events of the consumer's current generation, now pending; the others acknowledged."""
    acking_topics = app.topics.acking_topics
    current = app.flow_control.is_active()
    batch = []
    for event in queued:
        message = event.message
        if not current or message.generation_id != app.consumer_generation_id:
            event.ack()
            continue
        if message.topic in acking_topics and not message.tracked:
            message.tracked = True
            app.consumer.track_message(message)
        batch.append(event)
    return batch


async def _acknowledge(app: AppT, stream: StreamT[Any], batch: list[EventT]) -> None:
    # The agent test wrapper's recorder is a stream processor: it learns here
    # that a value is handled (no processor is installed otherwise).
    processors = cast(Any, stream)._processors
    for event in batch:
        if event.ack():  # the last of the message's readers to acknowledge it
            message = event.message
            app.sensors.on_message_out(message.tp, message.offset, message)
        for processor in processors:
            await maybe_async(processor(event.value))


def _release(consumer: ConsumerT, batch: list[EventT]) -> None:
    """Stop waiting for a batch that will not be acknowledged (Faust has no call for it)."""
    pending = cast(Any, consumer)._unacked_messages
    for event in batch:
        pending.discard(event.message)


#: Per partition, the first offset of a batch that was not handled: Faust's
#: commits stop there (see the module's docstring).
held: dict[TP, int] = {}


def _hold(batch: list[EventT]) -> None:
    for event in batch:
        tp, offset = event.message.tp, event.message.offset
        if offset < held.get(tp, offset + 1):
            held[tp] = offset


def _not_past_held(new_offset: Method) -> Method:
    """Faust's ``Consumer._new_offset`` (the offset to commit next), never past a hold."""

    def _new_offset(self: Consumer, tp: TP) -> int | None:
        hold = held.get(tp)
        if hold is not None:
            committed = self._committed_offset[tp]
            if hold in self._acked_index[tp] or (committed is not None and committed > hold):
                del held[tp]  # read again and handled, or another worker's commit passed it
                hold = None
        offset: int | None = new_offset(self, tp)
        return offset if offset is None or hold is None else min(offset, hold)

    return _new_offset


def install() -> None:
    """Make Faust's consumers commit no offset past a batch that was not handled."""
    replace_method(Consumer, "_new_offset", _not_past_held)
