"""The subscriber loop: each version output once, offsets committed only past output.

A fake consumer stands in for kafka-python; the loop only polls and commits.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from creditwatch.subscription import Subscription
from creditwatch.versions import FEEDS, Change, VersionBook
from tests.factories import OTHER_SUBJECT, SUBJECT

TOPIC = "risk.tier-changes"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes | None


def change(subject: str, version: int) -> bytes:
    return json.dumps({"subject": subject, "tier": "C", "version": version}).encode()


@dataclass
class FakeConsumer:
    """Returns scripted batches, then nothing; records every commit."""

    batches: list[dict[TopicPartition, list[bytes | None]]]
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    _next: dict[TopicPartition, int] = field(default_factory=dict)

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, Sequence[Any]]:
        if not self.batches:
            return {}
        batch: dict[TopicPartition, Sequence[Any]] = {}
        for tp, values in self.batches.pop(0).items():
            start = self._next.get(tp, 0)
            batch[tp] = [
                Message(tp.topic, tp.partition, start + i, v) for i, v in enumerate(values)
            ]
            self._next[tp] = start + len(values)
        return batch

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def committed(self) -> dict[TopicPartition, int]:
        merged: dict[TopicPartition, int] = {}
        for commit in self.commits:
            merged.update(commit)
        return merged


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0  # every look at the clock is a second later
        return self.now


def run(
    consumer: FakeConsumer,
    deliver: Any = None,
    book: VersionBook | None = None,
    **options: Any,
) -> tuple[Subscription, list[tuple[str, int]], str]:
    out: list[tuple[str, int]] = []
    log = io.StringIO()

    def record(c: Change) -> None:
        out.append((c.key, c.version))

    options.setdefault("idle_timeout", 2.0)
    subscription = Subscription(
        consumer,
        book or VersionBook(FEEDS["tier-changes"]),
        deliver or record,
        log=log,
        clock=FakeClock(),
        **options,
    )
    subscription.run()
    return subscription, out, log.getvalue()


def test_redelivered_versions_are_output_once_and_everything_read_is_committed() -> None:
    consumer = FakeConsumer(
        [
            {P0: [change(SUBJECT, 1), change(SUBJECT, 2)], P1: [change(OTHER_SUBJECT, 1)]},
            # After a rebalance the partition is read again from an older commit.
            {P0: [change(SUBJECT, 2), change(SUBJECT, 3)]},
        ]
    )
    subscription, out, log = run(consumer)

    assert out == [(SUBJECT, 1), (SUBJECT, 2), (OTHER_SUBJECT, 1), (SUBJECT, 3)]
    assert subscription.stats.duplicates == 1 and subscription.stats.delivered == 4
    assert consumer.committed() == {P0: 4, P1: 1}
    assert "no message for 2 s; stopping" in log


def test_a_failed_delivery_commits_only_the_changes_before_it() -> None:
    consumer = FakeConsumer(
        [
            {
                P0: [change(SUBJECT, 1), change(SUBJECT, 2), change(SUBJECT, 3)],
                P1: [change(OTHER_SUBJECT, 1)],
            }
        ]
    )
    delivered: list[int] = []

    def flaky(c: Change) -> None:
        if c.version == 2:
            raise RuntimeError("receiver down")
        delivered.append(c.version)

    book = VersionBook(FEEDS["tier-changes"])
    with pytest.raises(RuntimeError, match="receiver down"):
        run(consumer, flaky, book)

    assert delivered == [1]
    assert consumer.committed() == {P0: 1}  # version 2 will be read again
    assert book.versions == {SUBJECT: 1}


def test_max_messages_stops_mid_batch_and_leaves_the_rest_uncommitted() -> None:
    consumer = FakeConsumer(
        [{P0: [change(SUBJECT, 1), change(SUBJECT, 1), change(SUBJECT, 2), change(SUBJECT, 3)]}]
    )
    subscription, out, _ = run(consumer, max_messages=2)

    assert out == [(SUBJECT, 1), (SUBJECT, 2)]
    assert consumer.committed() == {P0: 3}


def test_unreadable_messages_are_reported_and_committed_past() -> None:
    consumer = FakeConsumer([{P1: [b"{broken", None, change(SUBJECT, 1)]}])
    subscription, out, log = run(consumer)

    assert out == [(SUBJECT, 1)]
    assert subscription.stats.bad == 2
    assert f"skipped {TOPIC}[1]@0: not JSON" in log and f"{TOPIC}[1]@1: tombstone" in log
    assert consumer.committed() == {P1: 3}


def test_a_gap_is_reported_and_the_change_still_output() -> None:
    consumer = FakeConsumer([{P0: [change(SUBJECT, 1), change(SUBJECT, 4)]}])
    subscription, out, log = run(consumer)

    assert out == [(SUBJECT, 1), (SUBJECT, 4)]
    assert subscription.stats.gaps == 1
    assert f"gap: {SUBJECT} went from version 1 to 4 (2 not seen)" in log


def test_the_state_is_saved_before_offsets_are_committed() -> None:
    events: list[str] = []
    consumer = FakeConsumer([{P0: [change(SUBJECT, 1)]}])
    original_commit = consumer.commit

    def commit(offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        events.append("commit")
        original_commit(offsets)

    consumer.commit = commit  # type: ignore[method-assign]
    run(consumer, checkpoint=lambda book: events.append(f"save {book.versions[SUBJECT]}"))

    assert events == ["save 1", "commit"]


def test_a_stop_request_ends_the_loop_between_messages() -> None:
    stop = threading.Event()
    consumer = FakeConsumer([{P0: [change(SUBJECT, 1), change(SUBJECT, 2)]}])
    out: list[int] = []

    def deliver_then_stop(c: Change) -> None:
        out.append(c.version)
        stop.set()  # as SIGTERM would, while the first change is being output

    run(consumer, deliver_then_stop, stop=stop, idle_timeout=None)

    assert out == [1]
    assert consumer.committed() == {P0: 1}
