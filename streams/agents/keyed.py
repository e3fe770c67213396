"""Agents that keep one detector state per key of an internal topic.

The peer-outlier, cross-sector and cross-region agents and the alert manager
share this loop: a batch loads each key's state once, lets the handler take
every message, stores the states and emits the outputs. A message this version cannot read goes to
the dead-letter topic; the agent goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
from faust.types import EventT, TableT

from streams.agents.publish import send_dead_letter
from streams.runtime.batches import each_batch
from streams.runtime.tables import BatchCache, DecodedValues
from topics.decode import Rejected

#: The dead-letter reason of an internal message this version cannot read (a bug
#: or a version skew between workers); not an input-validation :class:`Reason`.
BAD_INTERNAL_MESSAGE = "bad_internal_message"

#: Group states kept decoded between batches, per agent.
DECODED_MAX = 10_000

S = TypeVar("S")
Out = TypeVar("Out")
#: (the key's state, or None for a new key; the message value) -> (new state, outputs)
Handler = Callable[[S | None, bytes], tuple[S, list[Out]]]


async def run_keyed_detector(
    stream: faust.StreamT[bytes],
    table: TableT,
    decode: Callable[[bytes], S],
    encode: Callable[[S], bytes],
    handle: Handler[S, Out],
    emit: Callable[[Out], Awaitable[Any]],
) -> None:
    """Run ``handle`` on every message against its key's state; ``emit`` each output."""
    decoded: DecodedValues[S] = DecodedValues(DECODED_MAX)

    async def handle_batch(events: list[EventT]) -> None:
        states = BatchCache(table, decode, encode, decoded)
        for event in events:
            key, value = event.message.key, event.message.value
            try:
                if key is None or value is None:
                    raise ValueError("message without key or value")
                state, raised = handle(states.get(key), value)
            except (ValueError, TypeError, KeyError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
                await send_dead_letter(event, Rejected(BAD_INTERNAL_MESSAGE, detail))
                continue
            states.put(key, state, event)
            for output in raised:
                await emit(output)
        await states.flush()

    await each_batch(stream, handle_batch)
