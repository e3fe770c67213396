"""Hand each fetched message to the agents' queues without four tasks per message.

Faust's consumer delivers every fetched message with
``wait_first(on_message(message), suspend_flow.wait())``, so that a rebalance
can abandon a delivery stuck behind a full queue. ``wait_first`` wraps each
awaitable, and the consumer's stopped and crashed events, in a task, waits
for the first to finish and cancels the rest: four tasks and at least one
turn of the event loop per message, which also handed the agents one
message per turn, so their batches held one record (measured; with this
module, about 100: ``docs/performance.md``).

A delivery almost never waits: the queue has room and flow is on. After
:func:`install`, the consumer runs the delivery inline until it would first
wait; only a delivery that has to wait is raced against a rebalance as
before, resumed from where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from functools import partial
from typing import Any

from faust.transport.consumer import Consumer

from streams.runtime.patches import Method, replace_method


def install() -> None:
    """Make every Faust consumer deliver fetched messages inline while they need not wait."""
    replace_method(Consumer, "wait_first", _delivering_inline)


def _delivering_inline(race: Method) -> Method:
    """Faust's ``wait_first`` (``race``), with the message loop's deliveries run inline."""

    async def wait_first(self: Consumer, *coros: Any, timeout: Any = None) -> Any:
        if not _is_delivery(self, coros):
            return await race(self, *coros, timeout=timeout)
        delivery, suspended = coros
        try:
            waiting_on = delivery.send(None)
        except StopIteration:
            suspended.close()
            return None  # the consumer's message loop ignores the result
        except BaseException:
            suspended.close()
            raise
        return await race(self, _finish(delivery, waiting_on), suspended, timeout=timeout)

    return wait_first


def _is_delivery(consumer: Consumer, coros: tuple[Any, ...]) -> bool:
    """Whether ``coros`` is the message loop's (delivery, ``suspend_flow.wait()``) pair."""
    if len(coros) != 2 or not all(asyncio.iscoroutine(c) for c in coros):
        return False
    frame = coros[1].cr_frame
    return frame is not None and frame.f_locals.get("self") is consumer.suspend_flow


async def _finish(delivery: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Drive ``delivery`` on from where it stopped, as the task running it would have.

    ``waiting_on`` is what it yielded: the future it awaits, or None for a
    bare turn of the loop. A cancellation is passed into it.
    """
    while True:
        step: partial[Any]
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([waiting_on])
        except asyncio.CancelledError as cancelled:
            step = partial(delivery.throw, cancelled)
        else:
            step = partial(delivery.send, None)
        try:
            waiting_on = step()
        except StopIteration:
            return
