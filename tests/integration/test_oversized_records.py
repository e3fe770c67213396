"""Issue 20 item 2: a record larger than the worker's producer can send.

A department system configured for large messages writes a 5 MB record among
good ones. The broker takes it; a whole copy in the dead-letter topic would be
larger than the worker's producer sends (``producer_max_request_size``,
1,000,000 bytes), and that copy once crashed the ingest agent with the record
in neither the DLQ nor the subject's state. Against the real embedded broker,
Redis and a worker process.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from creditwatch.bench.kafka_io import GroupOffsets
from streams.serving import redis_keys
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until

pytestmark = pytest.mark.integration

TOPIC = "enforcement.events"
#: The worker's producer sends no record larger than this (Faust's default).
WORKER_PRODUCER_LIMIT = 1_000_000
OVERSIZED_BYTES = 5 * 1024 * 1024


def records(pipeline: Pipeline, topic: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Every (raw value, document) on an output topic so far."""
    consumer = KafkaConsumer(bootstrap_servers=pipeline.stack.bootstrap, consumer_timeout_ms=1000)
    try:
        partitions = consumer.partitions_for_topic(topic) or ()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        return [(m.value, orjson.loads(m.value)) for m in consumer]
    finally:
        consumer.close()


def test_an_oversized_record_is_dead_lettered_and_its_batch_processed(pipeline: Pipeline):
    subject = make_uscc(7001)
    first = enforcement(subject, "big-before", "spot_check", 30, result="passed")
    # Someone pasted a whole document into a free-text field.
    oversized_record = enforcement(
        subject, "big-1", "penalty", 25, severity="serious", description="x" * OVERSIZED_BYTES
    )
    oversized = orjson.dumps(oversized_record)
    last = enforcement(subject, "big-after", "penalty", 20, severity="serious")

    # One key, so one partition; sent at once, so the worker fetches them together.
    with KafkaProducer(
        bootstrap_servers=pipeline.stack.bootstrap, acks="all", max_request_size=16 * 1024 * 1024
    ) as out:
        sent = [
            out.send(TOPIC, key=subject.encode(), value=value)
            for value in (orjson.dumps(first), oversized, orjson.dumps(last))
        ]
        out.flush()
        before, big, after = (future.get(10) for future in sent)
    assert before.partition == big.partition == after.partition
    assert before.offset < big.offset < after.offset

    # The oversized record is in the DLQ: where the original is, why, how big, its
    # digest and a bounded excerpt; the dead letter itself is small enough to send.
    found: list[tuple[bytes, dict[str, Any]]] = []

    def dead_lettered() -> bool:
        found[:] = [
            (raw, letter)
            for raw, letter in records(pipeline, "risk.dlq")
            if (letter["source_topic"], letter["partition"], letter["offset"])
            == (TOPIC, big.partition, big.offset)
        ]
        return bool(found)

    wait_until(dead_lettered, 60, "the oversized record in risk.dlq")
    ((raw, letter),) = found
    assert letter["reason"] == "too_large"
    assert str(len(oversized)) in letter["detail"].replace(",", "")
    assert letter["value_size"] == len(oversized)
    assert letter["value_sha256"] == hashlib.sha256(oversized).hexdigest()
    assert letter["truncated"] is True and letter["value_b64"] is None
    excerpt = base64.b64decode(letter["value_excerpt_b64"])
    assert excerpt and oversized.startswith(excerpt) and len(excerpt) <= 64 * 1024
    assert base64.b64decode(letter["key_b64"]) == subject.encode()
    assert len(raw) < WORKER_PRODUCER_LIMIT

    # Both good records were processed: the subject's tier moved twice.
    serving = redis.Redis.from_url(pipeline.stack.redis_url)

    def profile() -> dict[str, Any]:
        stored = serving.get(redis_keys.profile(subject))
        return orjson.loads(stored) if stored else {}

    wait_until(lambda: profile().get("events") == 2, 60, "both good records in state")
    changes = [c for _, c in records(pipeline, "risk.tier-changes") if c["subject"] == subject]
    assert [(c["version"], c["tier"]) for c in changes] == [(1, "B"), (2, "C")]

    # Every record of the batch is committed past, and nothing crashed on the way.
    offsets = GroupOffsets(pipeline.stack.bootstrap)

    def committed() -> int:
        return offsets.committed("creditwatch", [TOPIC]).get((TOPIC, big.partition), 0)

    try:
        wait_until(lambda: committed() > after.offset, 30, "a commit past all three records")
    finally:
        offsets.close()
    assert pipeline.worker.running()
    log = pipeline.worker.log_text()
    assert "Crashed reason" not in log and "MessageSizeTooLarge" not in log, log[-3000:]
