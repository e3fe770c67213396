"""The consumer's message delivery: inline while it need not wait, raced against a
rebalance as Faust does once it must."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faust.transport.consumer import Consumer
from mode import Service

from streams.runtime import inline_delivery


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    """The worker installs the inline delivery when it is built; these tests install it
    themselves rather than count on another test module having built a worker first."""
    inline_delivery.install()


class FakeConsumer(Service):
    """What the delivery race uses of Faust's consumer: its flow event and a service's."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


async def deliver(consumer: FakeConsumer, delivery: Any) -> Any:
    """The consumer's message loop's call for one message."""
    return await Consumer.wait_first(consumer, delivery, consumer.suspend_flow.wait())


def test_a_delivery_that_need_not_wait_runs_before_any_other_task() -> None:
    async def scenario() -> None:
        consumer, order = FakeConsumer(), []

        async def delivery() -> None:
            order.append("delivered")

        other = asyncio.ensure_future(asyncio.sleep(0, result=None))
        other.add_done_callback(lambda _: order.append("another task ran"))
        await deliver(consumer, delivery())
        assert order == ["delivered"]  # no turn of the event loop in between
        await other

    asyncio.run(scenario())


def test_a_delivery_that_waits_finishes_with_what_it_waited_for() -> None:
    async def scenario() -> None:
        consumer, seen = FakeConsumer(), []
        room = asyncio.get_running_loop().create_future()

        async def delivery() -> None:
            await asyncio.sleep(0)
            seen.append(await room)

        asyncio.get_running_loop().call_later(0.01, room.set_result, "room in the queue")
        await deliver(consumer, delivery())
        assert seen == ["room in the queue"]

    asyncio.run(scenario())


def test_a_rebalance_abandons_a_delivery_that_waits() -> None:
    async def scenario() -> None:
        consumer, seen = FakeConsumer(), []
        never = asyncio.get_running_loop().create_future()

        async def delivery() -> None:
            try:
                await never
            except asyncio.CancelledError:
                seen.append("abandoned")
                raise

        asyncio.get_running_loop().call_later(0.01, consumer.suspend_flow.set)
        await asyncio.wait_for(deliver(consumer, delivery()), timeout=5)
        await asyncio.sleep(0)  # the abandoned delivery's cancellation lands
        assert seen == ["abandoned"]

    asyncio.run(scenario())


def test_other_waits_are_faust_s_own() -> None:
    async def scenario() -> None:
        consumer = FakeConsumer()
        done = asyncio.Event()
        done.set()
        results = await Consumer.wait_first(consumer, done.wait(), timeout=1)
        assert results.done and results.results == [True]

    asyncio.run(scenario())


def test_a_delivery_that_fails_raises_its_error() -> None:
    async def scenario() -> None:
        consumer = FakeConsumer()

        async def delivery() -> None:
            raise ValueError("undecodable")

        with pytest.raises(ValueError, match="undecodable"):
            await deliver(consumer, delivery())

    asyncio.run(scenario())
