"""Issue 4 acceptance: a department consumer in another process receives every tier
change exactly once per version, on the real embedded broker, through a worker.

The subscriber is ``creditwatch subscribe`` in its own process, as a department
would run it; the test feeds the pipeline, injects a redelivered duplicate, and
compares the subscriber's stdout with what the topic holds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.factories import enforcement_data, make_uscc
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

TOPIC = "risk.tier-changes"
NOW = datetime.now(UTC).replace(microsecond=0)
RISKY = [make_uscc(4100 + i) for i in range(4)]  # B, then C, then D: 3 changes each
EXEMPLARY = [make_uscc(4200 + i) for i in range(3)]  # B, then A: 2 changes each
EXPECTED_CHANGES = 3 * len(RISKY) + 2 * len(EXEMPLARY)


def event(subject: str, event_id: str, kind: str, minutes_ago: int, **extra: Any) -> bytes:
    data = enforcement_data(
        event_id=event_id,
        subject=subject,
        kind=kind,
        occurred_at=NOW - timedelta(minutes=minutes_ago),
        **extra,
    )
    if kind != "penalty":
        del data["severity"]
    return orjson.dumps(data)


def first_events() -> list[tuple[str, bytes]]:
    """A passed spot check: every subject's first tier (version 1)."""
    return [
        (s, event(s, f"sub-{s}-1", "spot_check", 30, result="passed")) for s in RISKY + EXEMPLARY
    ]


def later_events() -> list[tuple[str, bytes]]:
    """Two more tier changes for each risky subject, one for each exemplary one."""
    sends = []
    for s in RISKY:
        sends.append((s, event(s, f"sub-{s}-2", "penalty", 20, severity="serious")))
        sends.append((s, event(s, f"sub-{s}-3", "court_dishonest_debtor", 10)))
    for s in EXEMPLARY:
        sends.append((s, event(s, f"sub-{s}-2", "honour", 20)))
        sends.append((s, event(s, f"sub-{s}-3", "honour", 10)))
    return sends


def send(pipeline: Pipeline, sends: list[tuple[str, bytes]]) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all") as out:
        for subject, value in sends:
            out.send("enforcement.events", key=subject.encode(), value=value)
        out.flush()


@dataclass
class Subscriber:
    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.out.read_text().splitlines() if line]

    def stderr(self) -> str:
        return self.err.read_text()


@contextmanager
def subscriber(
    pipeline: Pipeline, tmp_path: Path, name: str, *options: str
) -> Iterator[Subscriber]:
    """``creditwatch subscribe tier-changes --group dept …`` in a separate process."""
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "creditwatch.cli",
                "subscribe",
                "tier-changes",
                "--group",
                "dept",
                "--bootstrap",
                pipeline.stack.bootstrap,
                "--max-poll-interval",
                "4",
                *options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        yield Subscriber(process, out, err)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_until(check: Callable[[], bool], timeout: float, what: str, sub: Subscriber) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; subscriber said:\n{sub.stderr()}")
        time.sleep(0.2)


def topic_contents(pipeline: Pipeline) -> list[tuple[int, int, bytes, bytes]]:
    """Every message on the topic: (partition, offset, key, value)."""
    consumer = KafkaConsumer(bootstrap_servers=pipeline.stack.bootstrap, consumer_timeout_ms=1000)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        found = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            found += [(m.partition, m.offset, m.key, m.value) for m in consumer]
        return found
    finally:
        consumer.close()


def redeliver_a_copy(pipeline: Pipeline, subject: str, version: int) -> None:
    """Write an existing change again, to its own partition, as a redelivery would look."""
    for partition, _, key, value in topic_contents(pipeline):
        change = orjson.loads(value)
        if (change["subject"], change["version"]) == (subject, version):
            with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all") as out:
                out.send(TOPIC, key=key, value=value, partition=partition).get(10)
            return
    raise AssertionError(f"{subject} version {version} is not on {TOPIC}")


def test_a_department_subscriber_receives_every_tier_change_exactly_once_per_version(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    duplicated = RISKY[0]
    with subscriber(
        pipeline,
        tmp_path,
        "first",
        "--from-beginning",
        "--max-messages",
        str(EXPECTED_CHANGES),
        "--timeout",
        "30",
    ) as sub:
        send(pipeline, first_events())
        wait_until(lambda: len(sub.lines()) >= len(RISKY + EXEMPLARY), 40, "every first tier", sub)
        redeliver_a_copy(pipeline, duplicated, 1)
        send(pipeline, later_events())
        status = sub.process.wait(timeout=40)
        printed, stderr = sub.lines(), sub.stderr()

    assert status == 0, stderr
    seen = Counter((c["subject"], c["version"]) for c in printed)
    assert [key for key, n in seen.items() if n > 1] == [], "a version was printed twice"

    on_topic = Counter(
        (change["subject"], change["version"])
        for change in (orjson.loads(value) for _, _, _, value in topic_contents(pipeline))
    )
    assert on_topic[(duplicated, 1)] == 2  # the copy is there, and was read ...
    assert stderr.splitlines()[-1] == (  # ... and skipped; no gap, nothing unreadable
        f"creditwatch subscribe: delivered {EXPECTED_CHANGES}, redelivered (skipped) 1"
    )
    assert set(seen) == set(on_topic)
    assert len(seen) == EXPECTED_CHANGES

    for subject in RISKY + EXEMPLARY:
        versions = [c["version"] for c in printed if c["subject"] == subject]
        expected = 3 if subject in RISKY else 2
        assert versions == list(range(1, expected + 1)), subject

    # Offsets were committed after output: the same group, restarted with its
    # versions in memory only, has nothing left to print, and SIGTERM closes it.
    with subscriber(pipeline, tmp_path, "restarted") as again:
        wait_until(lambda: "reading" in again.stderr(), 30, "the group join", again)
        time.sleep(1.5)
        again.process.send_signal(signal.SIGTERM)
        assert again.process.wait(timeout=15) == 0, again.stderr()
        assert again.lines() == []
        assert again.stderr().splitlines()[-1].endswith("delivered 0, redelivered (skipped) 0")
