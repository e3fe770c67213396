"""kill -9 a worker at random points mid-stream: nothing is lost or counted twice.

At-least-once delivery replays what the crashed worker had not committed; the
per-subject event-id memory drops what its recovered state already holds.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, reading, wait_until

pytestmark = pytest.mark.integration

SUBJECTS = [make_uscc(9000 + i) for i in range(60)]
ROUNDS = 40
KILLS = 5


def produce_rounds(bootstrap: str, done: threading.Event) -> None:
    """Each round: one reading per subject; every 8th round a penalty that moves tiers."""
    start = datetime.now(UTC) - timedelta(hours=1)
    with KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5) as producer:
        for round_no in range(ROUNDS):
            for i, subject in enumerate(SUBJECTS):
                if round_no % 8 == 7 and i % 3 == 0:
                    record = enforcement(
                        subject, f"cr-{round_no}-{i}", "penalty", 30, severity="general"
                    )
                    topic = "enforcement.events"
                else:
                    record = reading(subject, f"cr-{round_no}-{i}", 4.0 + round_no % 3)
                    topic = "iot.readings"
                    record["measured_at"] = (start + timedelta(seconds=round_no)).isoformat()
                producer.send(topic, key=subject.encode(), value=orjson.dumps(record))
            producer.flush()
            time.sleep(0.5)
    done.set()


def profiles(client: redis.Redis) -> dict[str, dict]:
    found = {}
    for subject in SUBJECTS:
        raw = client.get(f"cw:profile:{subject}")
        if raw:
            found[subject] = orjson.loads(raw)
    return found


def tier_change_versions(bootstrap: str) -> dict[str, dict[int, set[str]]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=2000)
    consumer.assign(
        [
            TopicPartition("risk.tier-changes", p)
            for p in consumer.partitions_for_topic("risk.tier-changes") or ()
        ]
    )
    consumer.seek_to_beginning()
    versions: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for message in consumer:
        change = orjson.loads(message.value)
        versions[change["subject"]][change["version"]].add(change["tier"])
    consumer.close()
    return versions


def test_kill_9_mid_stream_loses_and_duplicates_nothing(pipeline: Pipeline):
    rng = random.Random(20261128)
    done = threading.Event()
    producer = threading.Thread(target=produce_rounds, args=(pipeline.stack.bootstrap, done))
    producer.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 3.0))
            pipeline.worker.kill()
            pipeline.worker.start()
            pipeline.worker.wait_ready(timeout=90)
    finally:
        producer.join()
    assert done.is_set()

    client = redis.Redis.from_url(pipeline.stack.redis_url)
    wait_until(
        lambda: (
            {p["events"] for p in profiles(client).values()} == {ROUNDS}
            and len(profiles(client)) == len(SUBJECTS)
        ),
        90,
        f"every subject to count exactly {ROUNDS} events",
    )

    versions = tier_change_versions(pipeline.stack.bootstrap)
    final = profiles(client)
    for subject in SUBJECTS:
        seen = versions[subject]
        # Redeliveries of a change are allowed; each version must mean one tier.
        assert all(len(tiers) == 1 for tiers in seen.values()), (subject, dict(seen))
        assert sorted(seen) == list(range(1, final[subject]["version"] + 1)), subject
