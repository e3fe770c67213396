"""Two workers share the load; when one dies the other takes over its partitions."""

from __future__ import annotations

import orjson
import pytest
import redis
from kafka import KafkaProducer

from creditwatch.processes import WorkerProcess
from tests.integration.conftest import PARTITIONS, Pipeline
from tests.integration.test_pipeline import make_uscc, reading, wait_until

pytestmark = pytest.mark.integration

SUBJECTS = [make_uscc(11000 + i) for i in range(40)]


def send_round(pipeline: Pipeline, round_no: int) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for subject in SUBJECTS:
            record = reading(subject, f"fo-{round_no}-{subject}", 5.0)
            producer.send("iot.readings", key=subject.encode(), value=orjson.dumps(record))
        producer.flush()


def counts(client: redis.Redis) -> set[int]:
    raw = client.mget([f"cw:profile:{subject}" for subject in SUBJECTS])
    return {orjson.loads(doc)["events"] if doc else 0 for doc in raw}


def test_the_surviving_worker_takes_over_and_counts_exactly_once(pipeline: Pipeline):
    assert PARTITIONS >= 2
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    assert pipeline.stack.workdir is not None
    with WorkerProcess(
        pipeline.stack.workdir,
        pipeline.stack.kafka_url,
        pipeline.stack.redis_url,
        name="second",
        partitions=PARTITIONS,
    ) as second:
        second.wait_ready(timeout=90)  # the group rebalanced: each worker owns a share
        send_round(pipeline, 0)
        wait_until(lambda: counts(client) == {1}, 60, "both workers to process round 0")

        pipeline.worker.kill()
        send_round(pipeline, 1)
        send_round(pipeline, 2)
        wait_until(
            lambda: counts(client) == {3},
            120,
            "the survivor to take over and count rounds 1 and 2 exactly once",
        )
        assert second.running()
