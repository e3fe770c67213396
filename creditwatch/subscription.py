"""The consume loop of ``creditwatch subscribe``: read, skip redeliveries, output, commit.

A department consumer group reads a public change topic with kafka-python
(which, unlike librdkafka clients, also talks to the embedded broker). Offsets
are committed by hand, only past changes that were output (printed and flushed,
or accepted by the webhook) and recorded in the version book, so a crash or a
rebalance makes Kafka deliver again only what might not have been applied, and
the book (:mod:`creditwatch.versions`) skips what was. Together: every change
exactly once per version, within one subscriber process (or one state file).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import kafka
import kafka.errors
from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from creditwatch.topic_admin import BrokerUnreachable, check_reachable
from creditwatch.versions import BadChange, Change, Feed, VersionBook

POLL_MS = 500  # how long one poll waits: also how soon a stop request is noticed
FORWARD_BATCH = 50  # records per poll when each is an HTTP request


class Consumer(Protocol):
    """The part of ``kafka.KafkaConsumer`` the loop uses (tests pass a fake)."""

    def poll(self, timeout_ms: int = 0) -> Mapping[TopicPartition, Sequence[Any]]: ...

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None: ...


@dataclass(slots=True)
class Stats:
    delivered: int = 0
    duplicates: int = 0  # redeliveries skipped: version not above the one held
    gaps: int = 0  # changes that skipped versions
    bad: int = 0  # messages that are not changes (skipped, committed past)
    commit_failures: int = 0

    def summary(self) -> str:
        text = f"delivered {self.delivered}, redelivered (skipped) {self.duplicates}"
        for count, what in (
            (self.gaps, "version gaps"),
            (self.bad, "unreadable (skipped)"),
            (self.commit_failures, "failed commits"),
        ):
            if count:
                text += f", {what} {count}"
        return text


@dataclass(slots=True)
class Subscription:
    """One run of the loop; :meth:`run` returns when told to stop or done.

    ``deliver`` outputs one change or raises (then nothing from that change on
    is committed). ``checkpoint`` persists the book before offsets are
    committed, so a saved state is never behind the committed offsets.
    """

    consumer: Consumer
    book: VersionBook
    deliver: Callable[[Change], None]
    stop: threading.Event = field(default_factory=threading.Event)
    max_messages: int | None = None
    idle_timeout: float | None = None  # seconds without any message
    checkpoint: Callable[[VersionBook], None] | None = None
    log: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], float] = time.monotonic
    stats: Stats = field(default_factory=Stats)

    def run(self) -> Stats:
        last_message = self.clock()
        while not self._done():
            batch = self.consumer.poll(timeout_ms=POLL_MS)
            if not any(batch.values()):
                idle = self.clock() - last_message
                if self.idle_timeout is not None and idle >= self.idle_timeout:
                    self._say(f"no message for {self.idle_timeout:g} s; stopping")
                    break
                continue
            last_message = self.clock()
            self._process(batch)
        return self.stats

    def _done(self) -> bool:
        if self.stop.is_set():
            return True
        return self.max_messages is not None and self.stats.delivered >= self.max_messages

    def _process(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> None:
        handled: dict[TopicPartition, OffsetAndMetadata] = {}
        try:
            for partition, messages in batch.items():
                for message in messages:
                    if self._done():
                        return
                    self._handle(message)
                    handled[partition] = OffsetAndMetadata(message.offset + 1, "", -1)
        finally:
            self._commit(handled)

    def _handle(self, message: Any) -> None:
        try:
            change = self.book.feed.parse(message.value)
        except BadChange as exc:
            # Not a change of this feed: nothing to apply, ever; stopping the group
            # on it would hold back every later change, so say so and move on.
            self.stats.bad += 1
            self._say(f"skipped {message.topic}[{message.partition}]@{message.offset}: {exc}")
            return
        if not self.book.is_new(change):
            self.stats.duplicates += 1
            return
        missing = self.book.missing(change)
        if missing:
            self.stats.gaps += 1
            self._say(
                f"gap: {change.key} went from version {self.book.held(change.key)} to "
                f"{change.version} ({missing} not seen); the change carries the full "
                "state and is applied"
            )
        self.deliver(change)
        self.book.apply(change)
        self.stats.delivered += 1

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        if not offsets:
            return
        if self.checkpoint is not None:
            self.checkpoint(self.book)
        try:
            self.consumer.commit(offsets)
        except kafka.errors.KafkaError as exc:
            # Usually a rebalance took the partition away: the new owner re-reads
            # from the last commit, and (in this process) the book skips it.
            self.stats.commit_failures += 1
            self._say(f"could not commit offsets ({type(exc).__name__}); they will be re-read")

    def _say(self, text: str) -> None:
        print(f"creditwatch subscribe: {text}", file=self.log, flush=True)


class _ReportAssignment(ConsumerRebalanceListener):
    def __init__(self, log: TextIO) -> None:
        self.log = log

    def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    def on_partitions_assigned(self, assigned: Any) -> None:
        names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned))
        print(
            f"creditwatch subscribe: reading {names or 'no partitions'}", file=self.log, flush=True
        )


def connect(
    bootstrap: str,
    feed: Feed,
    group: str,
    *,
    from_beginning: bool = False,
    max_poll_interval: float = 10.0,
    max_records: int = 500,
    connect_timeout: float = 5.0,
    log: TextIO = sys.stderr,
) -> kafka.KafkaConsumer:
    """A group consumer subscribed to ``feed``, or :class:`BrokerUnreachable`.

    ``max_poll_interval`` bounds the time between polls before the group gives
    the partitions to another member; the embedded broker also makes a first
    join wait about half of it, hence the small default. ``from_beginning``
    applies only to a group without committed offsets (as in Kafka's console
    consumer): it then starts at the oldest retained change, else at new ones.
    """
    check_reachable(bootstrap, connect_timeout)
    interval_ms = int(max_poll_interval * 1000)
    config: dict[str, Any] = {
        "bootstrap_servers": [server.strip() for server in bootstrap.split(",")],
        "group_id": group,
        "client_id": f"creditwatch-subscribe-{group}",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest" if from_beginning else "latest",
        "max_poll_interval_ms": interval_ms,
        "session_timeout_ms": max(6000, interval_ms),
        "heartbeat_interval_ms": 1000,
        "max_poll_records": max_records,
    }
    if "bootstrap_timeout_ms" in kafka.KafkaConsumer.DEFAULT_CONFIG:
        config["bootstrap_timeout_ms"] = int(connect_timeout * 1000)
    try:
        consumer = kafka.KafkaConsumer(**config)
    except kafka.errors.KafkaError as exc:
        raise BrokerUnreachable(f"Kafka broker at {bootstrap} did not answer: {exc}") from None
    consumer.subscribe([feed.topic], listener=_ReportAssignment(log))
    return consumer
