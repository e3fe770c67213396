"""Issue 2 acceptance on the real embedded broker and Redis, through a worker process.

Producers and consumers are kafka-python, as a department system would use.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from stdnum.cn import uscc as stdnum_uscc

from streams.serving import redis_keys
from tests.factories import enforcement_record
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def make_uscc(n: int) -> str:
    first17 = f"91130102{n:09d}"
    return first17 + stdnum_uscc.calc_check_digit(first17)


def enforcement(
    subject: str, event_id: str, kind: str, minutes_ago: int, **extra: Any
) -> dict[str, Any]:
    at = NOW - timedelta(minutes=minutes_ago)
    return enforcement_record(subject, event_id, kind, at, **extra)


def reading(subject: str, event_id: str, value: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "subject": subject,
        "device_id": f"dev-{subject[-4:]}",
        "sector": "food_drug",
        "region": "130102",
        "metric": "cold_chain_temperature",
        "unit": "celsius",
        "value": value,
        "limit": 8.0,
        "measured_at": (NOW - timedelta(seconds=5)).astimezone().isoformat(),
    }


def complaint(subject: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "subject": subject,
        "kind": "complaint",
        "category": "price",
        "channel": "phone",
        "region": "130102",
        "sector": "food_drug",
        "received_at": (NOW - timedelta(minutes=3)).isoformat(),
        "status": "received",
    }


def producer(pipeline: Pipeline) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all")


def events_in_state(pipeline: Pipeline, subjects: Iterable[str]) -> Counter[str]:
    """Records each subject's state has taken in, as its profile in Redis says."""
    serving = redis.Redis.from_url(pipeline.stack.redis_url)
    counts: Counter[str] = Counter()
    for subject in subjects:
        raw = serving.get(redis_keys.profile(subject))
        if raw:
            counts[subject] = orjson.loads(raw)["events"]
    return counts


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def test_department_consumer_group_receives_tier_changes_with_versions(pipeline: Pipeline):
    risky, exemplary = make_uscc(1), make_uscc(2)
    sends = [
        ("enforcement.events", enforcement(risky, "t-1", "spot_check", 30, result="passed")),
        ("enforcement.events", enforcement(risky, "t-2", "penalty", 20, severity="serious")),
        ("enforcement.events", enforcement(risky, "t-3", "court_dishonest_debtor", 10)),
        # 28 (B), then 22: below B's lower bound but not by the hysteresis margin, so
        # still B; then 16: A.
        ("enforcement.events", enforcement(exemplary, "t-4", "spot_check", 30, result="passed")),
        ("enforcement.events", enforcement(exemplary, "t-5", "honour", 20)),
        ("enforcement.events", enforcement(exemplary, "t-6", "honour", 10)),
    ]
    with producer(pipeline) as out:
        for topic, record in sends:
            out.send(topic, key=record["subject"].encode(), value=orjson.dumps(record))
        out.flush()

    consumer = KafkaConsumer(
        "risk.tier-changes",
        bootstrap_servers=pipeline.stack.bootstrap,
        group_id="department-under-test",
        auto_offset_reset="earliest",
        max_poll_interval_ms=3000,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    changes: dict[str, list[tuple[str | None, str, int]]] = {risky: [], exemplary: []}
    deadline = time.monotonic() + 60
    try:
        while sum(map(len, changes.values())) < 5 and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    change = orjson.loads(message.value)  # plain JSON, no framework envelope
                    assert message.key.decode() == change["subject"]
                    changes[change["subject"]].append(
                        (change["previous_tier"], change["tier"], change["version"])
                    )
    finally:
        consumer.close()

    assert changes[risky] == [(None, "B", 1), ("B", "C", 2), ("C", "D", 3)]
    assert changes[exemplary] == [(None, "B", 1), ("B", "A", 2)]


def test_alerts_are_plain_json_with_evidence(pipeline: Pipeline):
    subject = make_uscc(3)
    record = enforcement(subject, "a-1", "penalty", 5, severity="serious", amount=200_000)
    with producer(pipeline) as out:
        out.send("enforcement.events", key=subject.encode(), value=orjson.dumps(record)).get(10)

    consumer = KafkaConsumer(
        bootstrap_servers=pipeline.stack.bootstrap,
        consumer_timeout_ms=1000,
        auto_offset_reset="earliest",
    )
    partitions = [
        TopicPartition("risk.alerts", p) for p in consumer.partitions_for_topic("risk.alerts") or ()
    ]
    consumer.assign(partitions)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(found) < 2 and time.monotonic() < deadline:
        consumer.seek_to_beginning()
        found = [
            a for a in map(orjson.loads, (m.value for m in consumer)) if a["subject"] == subject
        ]
    consumer.close()

    # The penalty's own alert, then (food and drugs is a life-safety field) the listing's.
    assert [a["title"] for a in found] == [
        "Serious administrative penalty",
        "Entered the joint-punishment list",
    ]
    alert, listing = found
    assert alert["severity"] == "high" and alert["tier"] == "C"
    assert alert["source_event_ids"] == ["a-1"]
    assert alert["evidence"][0]["fact"] == "penalty_serious"
    assert alert["policy_version"]
    assert (listing["kind"], listing["severity"]) == ("list", "critical")
    assert "event a-1" in listing["evidence"][0]["detail"]


# Each entry: how to spoil a good IoT reading, and the reason the DLQ must give.
MALFORMATIONS: list[tuple[str, Callable[[dict[str, Any]], bytes], bool]] = [
    ("not_json", lambda r: b"{not json", True),
    ("not_object", lambda r: orjson.dumps([r]), True),
    ("missing_field", lambda r: orjson.dumps({k: v for k, v in r.items() if k != "value"}), True),
    ("wrong_type", lambda r: orjson.dumps({**r, "value": "hot"}), True),
    (
        "bad_uscc",
        lambda r: orjson.dumps(
            {
                **r,
                "subject": r["subject"][:-1] + "0"
                if r["subject"][-1] != "0"
                else r["subject"][:-1] + "1",
            }
        ),
        False,
    ),
    ("bad_enum", lambda r: orjson.dumps({**r, "metric": "radiation"}), True),
    ("naive_timestamp", lambda r: orjson.dumps({**r, "measured_at": "2026-01-01T08:00:00"}), True),
    ("bad_timestamp", lambda r: orjson.dumps({**r, "measured_at": "yesterday"}), True),
    ("out_of_range", lambda r: orjson.dumps({**r, "region": "1301"}), True),
    ("too_long", lambda r: orjson.dumps({**r, "device_id": "d" * 500}), True),
    ("inconsistent", lambda r: orjson.dumps({**r, "unit": "fahrenheit"}), True),
    ("key_mismatch", lambda r: orjson.dumps(r), False),
]


def test_malformed_records_go_to_dlq_and_good_ones_reach_state(pipeline: Pipeline):
    subjects = [make_uscc(100 + i) for i in range(20)]
    expected_events: Counter[str] = Counter()
    expected_reasons: dict[tuple[int, int], str] = {}  # (partition, offset) -> reason
    futures = []
    with producer(pipeline) as out:
        for i in range(600):
            subject = subjects[i % len(subjects)]
            good = reading(subject, f"g-{i}", 4.0 + (i % 7))
            futures.append(
                (None, out.send("iot.readings", key=subject.encode(), value=orjson.dumps(good)))
            )
            expected_events[subject] += 1
            if i % 3 == 0 and len([f for f in futures if f[0]]) < 200:
                reason, spoil, keyed_by_subject = MALFORMATIONS[(i // 3) % len(MALFORMATIONS)]
                bad = reading(subject, f"b-{i}", 5.0)
                key = subject.encode() if keyed_by_subject else b"not-the-subject"
                futures.append((reason, out.send("iot.readings", key=key, value=spoil(bad))))
            if i % 50 == 0:  # a redelivery must not count twice
                out.send("iot.readings", key=subject.encode(), value=orjson.dumps(good))
        out.flush()
        for reason, future in futures:
            meta = future.get(10)
            if reason:
                expected_reasons[(meta.partition, meta.offset)] = reason
    assert len(expected_reasons) == 200

    dead: dict[tuple[int, int], dict[str, Any]] = {}
    consumer = KafkaConsumer(bootstrap_servers=pipeline.stack.bootstrap, consumer_timeout_ms=1000)
    consumer.assign(
        [TopicPartition("risk.dlq", p) for p in consumer.partitions_for_topic("risk.dlq") or ()]
    )
    consumer.seek_to_beginning()
    deadline = time.monotonic() + 60
    while len(dead) < 200 and time.monotonic() < deadline:
        for message in consumer:
            letter = orjson.loads(message.value)
            if letter["source_topic"] == "iot.readings":
                dead[(letter["partition"], letter["offset"])] = letter
    consumer.close()

    assert {k: v["reason"] for k, v in dead.items()} == expected_reasons
    for letter in dead.values():
        assert letter["detail"] and base64.b64decode(letter["value_b64"])

    wait_until(
        lambda: events_in_state(pipeline, subjects) == expected_events,
        60,
        "every good reading in state",
    )
    assert pipeline.worker.running()
