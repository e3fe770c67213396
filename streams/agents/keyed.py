"""Agents that keep one detector state per key of an internal topic.

The peer-outlier, cross-sector and cross-region agents share this loop: a
batch loads each key's state once, lets the handler take every message, stores
the states and emits the outputs. A message this version cannot read goes to
the dead-letter topic; the agent goes on. The alert manager takes its messages
the same way (:func:`take_message`), in batches it takes in turns with the
ingest agent (streams/agents/alert_manager.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import faust
from faust.types import EventT, TableT

from streams.agents.publish import BAD_INTERNAL_MESSAGE
from streams.runtime.batches import each_batch, named
from streams.runtime.tables import BatchCache
from topics.decode import Rejected

if TYPE_CHECKING:
    from streams.wiring import Wiring

#: Group states kept decoded between batches, per agent.
DECODED_MAX = 10_000


class State(Protocol):
    """A detector state that encodes itself (``PeerGroup``, ``AlertBook``, ...)."""

    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...

    def to_bytes(self) -> bytes: ...


S = TypeVar("S", bound=State)
Out = TypeVar("Out")
#: (the key's state, or None for a new key; the message value) -> (new state, outputs)
Handler = Callable[[S | None, bytes], tuple[S, list[Out]]]


def keyed_agent(
    w: Wiring,
    name: str,
    channel: faust.TopicT,
    table: TableT,
    state: type[S],
    handle: Handler[S, Out],
    emit: Callable[[Out], Awaitable[Any]],
) -> None:
    """An agent running ``handle`` on every message of ``channel`` against its key's state
    (kept in ``table``, decoded by ``state``); ``emit`` each output."""
    decode, encode = state.from_bytes, state.to_bytes

    async def agent(stream: faust.StreamT[bytes]) -> None:
        # A restarted agent starts afresh: a failed batch may have changed decoded states.
        decoded = w.tables.keep_decoded(DECODED_MAX)

        async def handle_batch(events: list[EventT]) -> None:
            states: BatchCache[S] = BatchCache(table, decode, encode, w.outbox, decoded)
            for event in events:
                await take_message(w, states, event, handle, emit)
            await states.flush()

        await each_batch(stream, handle_batch)

    w.app.agent(channel, name=name, concurrency=1)(named(agent, name))


async def take_message(
    w: Wiring,
    states: BatchCache[S],
    event: EventT,
    handle: Handler[S, Out],
    emit: Callable[[Out], Awaitable[Any]],
) -> None:
    """Run ``handle`` on ``event``'s message against its key's working copy in ``states``
    and ``emit`` each output; a message this version cannot read is dead-lettered."""
    key, value = event.message.key, event.message.value
    try:
        if key is None or value is None:
            raise ValueError("message without key or value")
        new_state, raised = handle(states.get(key), value)
    except (ValueError, TypeError, KeyError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        await w.publish.dead_letter(event, Rejected(BAD_INTERNAL_MESSAGE, detail))
        return
    states.put(key, new_state, event)
    for output in raised:
        await emit(output)
