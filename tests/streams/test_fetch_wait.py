"""The worker's fetch wait: the configured limit, not Faust's 1,500 ms, reaches every fetch;
with an idle wait, fetches lengthen once nothing flows and shorten with the first record.

The consumer is Faust's own, built by Faust's own call for a worker
(``AIOKafkaConsumerThread._create_consumer``): if Faust stops building it
through the factory :mod:`streams.runtime.fetch_wait` replaces, or aiokafka
stops reading the setting where it is set, these tests fail.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from typing import Any, cast

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.protocol.fetch import FetchRequest
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from creditwatch.embedded import EmbeddedStack
from streams.runtime import fetch_wait

WAIT_MS = 37
IDLE_WAIT_MS = 300
FAUST_WAIT_MS = 1500  # what Faust builds its worker consumer with


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable[[int, int], None]:
    """:func:`fetch_wait.install`, undone after the test (it changes Faust's class)."""
    factory = AIOKafkaConsumerThread._create_worker_consumer
    monkeypatch.setattr(AIOKafkaConsumerThread, "_create_worker_consumer", factory)
    return fetch_wait.install


def worker_consumer(app: faust.App) -> AIOKafkaConsumer:
    """The aiokafka consumer Faust builds for ``app``'s worker (call in a running loop)."""
    thread = cast(Any, app.consumer)._thread
    assert isinstance(thread, AIOKafkaConsumerThread)
    return cast(AIOKafkaConsumer, thread._create_consumer(asyncio.get_running_loop()))


def record_fetch_waits(consumer: AIOKafkaConsumer) -> list[int]:
    """The max wait of every fetch ``consumer`` sends from now on, in order."""
    client = cast(Any, consumer)._client
    sent_waits: list[int] = []
    send = client.send

    async def recording(node_id: int, request: Any, **kwargs: Any) -> Any:
        if isinstance(request, FetchRequest):
            sent_waits.append(cast(Any, request)._max_wait_ms)
        return await send(node_id, request, **kwargs)

    client.send = recording
    return sent_waits


def built_wait(app: faust.App) -> int:
    async def build() -> int:
        consumer = worker_consumer(app)
        try:
            return cast(int, cast(Any, consumer)._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    return asyncio.run(build())


def test_a_worker_s_consumer_is_built_with_the_configured_wait(
    install: Callable[[int, int], None],
) -> None:
    install(WAIT_MS, WAIT_MS)
    assert built_wait(faust.App("fetch-wait-test", broker="kafka://127.0.0.1:1")) == WAIT_MS


def test_without_it_faust_s_own_wait_applies(install: Callable[[int, int], None]) -> None:
    original = AIOKafkaConsumerThread._create_worker_consumer
    original = getattr(original, "creditwatch_original", original)
    AIOKafkaConsumerThread._create_worker_consumer = original  # type: ignore[method-assign]
    # If Faust changes this, fetch_wait may no longer be needed, or not enough.
    assert built_wait(faust.App("fetch-wait-bare", broker="kafka://127.0.0.1:1")) == FAUST_WAIT_MS


def test_the_replaced_factory_takes_what_faust_passes_it(
    install: Callable[[int, int], None],
) -> None:
    install(WAIT_MS, IDLE_WAIT_MS)
    replacement = AIOKafkaConsumerThread._create_worker_consumer
    original = cast(Any, replacement).creditwatch_original
    assert list(inspect.signature(original).parameters) == ["self", "transport"]
    assert list(inspect.signature(replacement).parameters) == ["self", "transport"]


@pytest.mark.integration
def test_the_configured_wait_reaches_every_fetch_sent_to_the_broker(
    install: Callable[[int, int], None], embedded_stack: EmbeddedStack
) -> None:
    install(WAIT_MS, WAIT_MS)
    app = faust.App(f"fetch-wait-{uuid.uuid4().hex[:8]}", broker=embedded_stack.kafka_url)
    tp = TopicPartition(f"fetch-wait-{uuid.uuid4().hex}", 0)

    async def scenario() -> tuple[int, float, list[int]]:
        producer = AIOKafkaProducer(bootstrap_servers=embedded_stack.bootstrap)
        await producer.start()
        try:  # the topic exists, and the fetch after its one record finds nothing new
            await producer.send_and_wait(tp.topic, b"x", partition=0)
        finally:
            await producer.stop()
        consumer = worker_consumer(app)
        await consumer.start()
        try:
            sent_waits = record_fetch_waits(consumer)
            consumer.assign([tp])
            consumer.seek(tp, 0)
            await consumer.getmany(tp, timeout_ms=2000)  # the record
            await consumer.getmany(tp, timeout_ms=300)  # and an empty fetch after it
            fetcher = cast(Any, consumer)._fetcher
            return fetcher._fetch_max_wait_ms, fetcher._fetcher_timeout, sent_waits
        finally:
            await consumer.stop()

    fetcher_wait, fetch_loop_poll_s, sent_waits = asyncio.run(scenario())
    assert fetcher_wait == WAIT_MS
    # The fetch loop, with nothing to wake it, looks at its partitions once a second, not 5 times.
    assert fetch_loop_poll_s == fetch_wait.FETCH_LOOP_POLL_MS / 1000
    assert sent_waits and set(sent_waits) == {WAIT_MS}


@pytest.mark.integration
def test_an_idle_consumer_waits_longer_and_a_record_makes_it_quick_again(
    install: Callable[[int, int], None], embedded_stack: EmbeddedStack
) -> None:
    install(WAIT_MS, IDLE_WAIT_MS)
    app = faust.App(f"fetch-idle-{uuid.uuid4().hex[:8]}", broker=embedded_stack.kafka_url)
    tp = TopicPartition(f"fetch-idle-{uuid.uuid4().hex}", 0)

    async def scenario() -> tuple[list[int], list[int], float]:
        producer = AIOKafkaProducer(bootstrap_servers=embedded_stack.bootstrap)
        await producer.start()
        consumer = worker_consumer(app)
        try:
            await producer.send_and_wait(tp.topic, b"first", partition=0)
            await consumer.start()
            sent_waits = record_fetch_waits(consumer)
            consumer.assign([tp])
            consumer.seek(tp, 0)
            assert await consumer.getmany(tp, timeout_ms=2000)
            # Quiet for longer than QUIET_AFTER_S and a few idle waits.
            await consumer.getmany(tp, timeout_ms=int(fetch_wait.QUIET_AFTER_S * 1000) + 1500)
            idle = list(sent_waits)
            await producer.send_and_wait(tp.topic, b"second", partition=0)
            sent_at = asyncio.get_running_loop().time()
            assert await consumer.getmany(tp, timeout_ms=2000)
            arrived_s = asyncio.get_running_loop().time() - sent_at
            await consumer.getmany(tp, timeout_ms=200)  # fetches after the record
            return idle, sent_waits[len(idle) :], arrived_s
        finally:
            await consumer.stop()
            await producer.stop()

    idle, after, arrived_s = asyncio.run(scenario())
    assert idle[0] == WAIT_MS  # records were flowing
    assert idle[-1] == IDLE_WAIT_MS  # lengthened while nothing came
    assert set(idle) <= {WAIT_MS, 2 * WAIT_MS, 4 * WAIT_MS, 8 * WAIT_MS, IDLE_WAIT_MS}
    # The record parked in an idle fetch arrives within the idle wait ...
    assert arrived_s < IDLE_WAIT_MS / 1000 + 1.0
    # ... and the fetches after it are short again.
    assert after[-1] == WAIT_MS
