"""A replacement worker recovers every subject's state from the table changelog."""

from __future__ import annotations

import orjson
import pytest
import redis
from kafka import KafkaProducer

from creditwatch.processes import WorkerProcess
from tests.integration.conftest import PARTITIONS, Pipeline
from tests.integration.test_pipeline import make_uscc, reading, wait_until

pytestmark = pytest.mark.integration

SUBJECTS = [make_uscc(8000 + i) for i in range(40)]


def send_round(pipeline: Pipeline, round_no: int) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for subject in SUBJECTS:
            record = reading(subject, f"rec-{round_no}-{subject}", 5.0)
            producer.send("iot.readings", key=subject.encode(), value=orjson.dumps(record))
        producer.flush()


def events_counted(client: redis.Redis) -> set[int]:
    counts = set()
    for subject in SUBJECTS:
        raw = client.get(f"cw:profile:{subject}")
        counts.add(orjson.loads(raw)["events"] if raw else 0)
    return counts


def test_state_survives_a_worker_replacement(pipeline: Pipeline):
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    for round_no in range(3):
        send_round(pipeline, round_no)
    wait_until(lambda: events_counted(client) == {3}, 60, "three events per subject")

    pipeline.worker.stop()  # the memory store goes with it: only the changelog remains
    assert pipeline.stack.workdir is not None
    with WorkerProcess(
        pipeline.stack.workdir,
        pipeline.stack.kafka_url,
        pipeline.stack.redis_url,
        name="replacement",
        partitions=PARTITIONS,
    ) as replacement:
        replacement.wait_ready(timeout=90)
        send_round(pipeline, 3)
        wait_until(
            lambda: events_counted(client) == {4},
            60,
            "the fourth event counted on top of the recovered three",
        )
        assert "Error in recovery" not in replacement.log_text()


def test_true_end_offsets_count_every_record_of_the_last_batch(pipeline: Pipeline):
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from streams.runtime.end_offsets import true_end_offsets

    bootstrap = pipeline.stack.bootstrap
    tp = TopicPartition("end-offset-probe", 0)

    async def scenario() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
        await producer.start()
        try:  # ten records sent together: one record batch
            sent = [await producer.send(tp.topic, b"x", partition=0) for _ in range(10)]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            reported = (await consumer.end_offsets([tp]))[tp]
        finally:
            await consumer.stop()
        return reported, (await true_end_offsets(bootstrap, {tp: reported}))[tp]

    reported, actual = asyncio.run(scenario())
    assert actual == 10
    assert reported <= actual  # the embedded broker reports 1 here; Apache Kafka 10
