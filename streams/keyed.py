"""Agents that keep one detector state per key of an internal topic.

The peer-outlier, cross-sector and cross-region agents share this loop: a batch
loads each key's state once, lets the detector handle every message, stores the
states and publishes the alerts. A message this version cannot read goes to
the dead-letter topic; the agent goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import faust
from faust.types import TableT

from streams.publish import send_alert, send_dead_letter
from streams.tables import BATCH_MAX, BATCH_WITHIN_S, BatchCache, DecodedValues
from topics.decode import Rejected
from topics.risk import Alert

#: The dead-letter reason of an internal message this version cannot read (a bug
#: or a version skew between workers); not an input-validation :class:`Reason`.
BAD_INTERNAL_MESSAGE = "bad_internal_message"

#: Group states kept decoded between batches, per agent.
DECODED_MAX = 10_000

S = TypeVar("S")
#: (the key's state, or None for a new key; the message value) -> (new state, alerts)
Handler = Callable[[S | None, bytes], tuple[S, list[Alert]]]


async def run_keyed_detector(
    stream: faust.StreamT[bytes],
    table: TableT,
    decode: Callable[[bytes], S],
    encode: Callable[[S], bytes],
    handle: Handler[S],
) -> None:
    decoded: DecodedValues[S] = DecodedValues(DECODED_MAX)
    batches = cast(faust.Stream[bytes], stream).take_events(BATCH_MAX, within=BATCH_WITHIN_S)
    async for events in batches:
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
            for alert in raised:
                await send_alert(alert)
        states.flush()
