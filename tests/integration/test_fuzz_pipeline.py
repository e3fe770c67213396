"""Fuzzing the input topics through the running pipeline (issue 20's acceptance).

Seeded mutations of every contract field of every input topic, junk values,
junk keys and records from a few bytes up to 16 MiB (far past the 64 KiB
record limit and the worker producer's 1 MB) go to a real broker among valid
records. Whatever arrives, the worker does not crash, every record the
contract rejects is in ``risk.dlq`` with the reason the contract gives, no
accepted record is there, and every accepted record reaches its subject's
state. The counts are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.factories import DATA_OF_TOPIC, make_uscc
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import events_in_state, wait_until
from topics.complaints import Complaint
from topics.decode import MAX_RECORD_BYTES, PARSERS, Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.evaluations import SectorEvaluation
from topics.iot import IotReading
from topics.roles import RoleAssignment

pytestmark = pytest.mark.integration

SEED = 20
RECORDS_PER_TOPIC = 400
SUBJECTS = [make_uscc(9100 + i) for i in range(8)]
#: Sizes of the padded records: around the record limit, the worker producer's
#: limit, the 5 MB record of the issue, and 16 MiB.
LARGE_SIZES = (
    MAX_RECORD_BYTES - 512,
    MAX_RECORD_BYTES + 1,
    1_000_001,
    5 * 1024 * 1024,
    16 * 1024 * 1024,
)
#: Values a field is set to: wrong types, extremes of each JSON type, texts that
#: are long, empty, control characters or other scripts, times at the ends of
#: the calendar, without an offset or impossible.
ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**63 - 1, -(2**63), 2**64, 1.5e308, -1e-308, "", " ", "x" * 600,
    "①②③④⑤⑥", "130102\x00", "\u202e130102", "🙂" * 40, [], {}, ["130102"], {"value": 1},
    "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "2026-02-30T08:00:00+08:00",
    "2026-03-02T08:00:00", "2099-01-01T00:00:00+00:00", "NaN", "1e999",
]  # fmt: skip
#: Every field of each topic's record type, optional ones included.
CONTRACT_FIELDS = {
    topic: list(record_type._options.fields)
    for topic, record_type in (
        ("enforcement.events", EnforcementEvent),
        ("complaints.12315", Complaint),
        ("iot.readings", IotReading),
        ("registry.roles", RoleAssignment),
        ("evaluations.sector", SectorEvaluation),
    )
}


def encode(data: dict[str, Any]) -> bytes:
    """JSON as a department's system may write it: integers beyond 64 bits included."""
    return json.dumps(data, ensure_ascii=False).encode()


def valid(rng: random.Random, topic: str) -> dict[str, Any]:
    return DATA_OF_TOPIC[topic](subject=rng.choice(SUBJECTS))


def mutated(rng: random.Random, topic: str) -> tuple[bytes | None, bytes | None]:
    """One message: a valid record, a broken one, junk, or a large one."""
    data = valid(rng, topic)
    key: bytes | None = data["subject"].encode()
    roll = rng.random()
    if roll < 0.25:
        return key, encode(data)
    if roll < 0.35:
        junk: list[bytes | None] = [
            None, b"", b"\xff\xfe\x00", b"[" * 2000, b'"a string"', b"[1, 2]", b"{", b"null",
            rng.randbytes(rng.randint(1, 300)), encode(data)[:-1],
        ]  # fmt: skip
        return key, rng.choice(junk)
    if roll < 0.40:
        size = rng.choice(LARGE_SIZES)
        data["description" if topic == "enforcement.events" else "padding"] = ""
        room = size - len(encode(data))
        data["description" if topic == "enforcement.events" else "padding"] = "A" * max(room, 0)
        return key, encode(data)
    fields = CONTRACT_FIELDS[topic]
    for _ in range(rng.randint(1, 3)):
        field = rng.choice(fields)
        if rng.random() < 0.25:
            data.pop(field, None)
        else:
            data[field] = rng.choice(ODD_VALUES)
    if rng.random() < 0.1:
        key = rng.choice([None, b"", b"not-a-subject", SUBJECTS[0].lower().encode() + b" "])
    return key, encode(data)


def messages(rng: random.Random) -> Iterator[tuple[str, bytes | None, bytes | None]]:
    for _ in range(RECORDS_PER_TOPIC):
        for topic in sorted(PARSERS):
            yield (topic, *mutated(rng, topic))


def dead_letters(pipeline: Pipeline, enough: Callable[[int], bool]) -> dict[Any, dict[str, Any]]:
    """Letters of input records by (topic, partition, offset), read until ``enough``."""
    letters: dict[Any, dict[str, Any]] = {}
    consumer = KafkaConsumer(bootstrap_servers=pipeline.stack.bootstrap, consumer_timeout_ms=1000)
    consumer.assign(
        [TopicPartition("risk.dlq", p) for p in consumer.partitions_for_topic("risk.dlq") or ()]
    )
    consumer.seek_to_beginning()

    def read() -> bool:
        for message in consumer:
            letter = orjson.loads(message.value)
            letters[(letter["source_topic"], letter["partition"], letter["offset"])] = letter
        return enough(len(letters))

    try:
        wait_until(read, 120, "every rejected record in risk.dlq")
    finally:
        consumer.close()
    return letters


def test_fuzzed_input_never_crashes_the_worker_and_every_bad_record_is_dead_lettered(
    pipeline: Pipeline,
):
    rng = random.Random(SEED)
    expected: dict[tuple[str, int, int], str] = {}  # rejected: where -> reason
    accepted: Counter[str] = Counter()  # subject -> records accepted
    sizes: Counter[str] = Counter()
    futures = []
    with KafkaProducer(
        bootstrap_servers=pipeline.stack.bootstrap, acks="all", max_request_size=32 * 1024 * 1024
    ) as out:
        for topic, key, value in messages(rng):
            outcome = decode_input(topic, key, value)
            size = len(value or b"")
            sizes["> 64 KiB" if size > MAX_RECORD_BYTES else "<= 64 KiB"] += 1
            futures.append((topic, outcome, out.send(topic, key=key, value=value)))
        out.flush()
        for topic, outcome, future in futures:
            meta = future.get(30)
            if isinstance(outcome, Rejected):
                expected[(topic, meta.partition, meta.offset)] = outcome.reason
            else:
                accepted[outcome.subject] += 1

    letters = dead_letters(pipeline, lambda found: found >= len(expected))
    found = {where: letter["reason"] for where, letter in letters.items()}
    assert found == expected  # every rejected record, with its reason; no accepted one
    assert all(len(orjson.dumps(letter)) < 1_000_000 for letter in letters.values())

    wait_until(
        lambda: events_in_state(pipeline, SUBJECTS) == accepted,
        90,
        "every accepted record in state",
    )
    assert pipeline.worker.running()
    assert "Crashed" not in pipeline.worker.log_text()

    reasons = Counter(expected.values())
    print(
        f"\nfuzzed input: {len(futures)} records ({dict(sizes)}), "
        f"{sum(accepted.values())} accepted and in state, {len(expected)} rejected and all in "
        f"risk.dlq; reasons {dict(sorted(reasons.items()))}; worker never crashed"
    )
