"""Event-to-alert latency at a fixed offered rate, fed live by a paced producer.

Two measurements of the same alerts, reported separately:

* **worker histogram**: ``creditwatch_event_to_alert_seconds`` from the
  worker's ``/metrics``, the delta between scrapes before and after the phase,
  quantiles interpolated like PromQL's ``histogram_quantile``. It stops at
  the moment the worker hands the alert to its producer.
* **end to end**: a consumer of ``risk.alerts`` (and ``risk.tier-changes``)
  compares each record's event time (``created_at`` / ``effective_at``) with
  the wall clock when it arrives: producer batching, the broker and the fetch
  included, as a department system would see it. Only an alert's ``opened``
  snapshot counts: its later snapshots (``repeated``, ``escalated``,
  ``resolved`` …) keep the alert's first ``created_at``, so they would read
  as the age of the alert, not as latency.

The same consumer reads the alert manager's input,
``risk.internal.alert-candidates``, so an alert's end-to-end time splits into
its two hops through the broker: event → candidate received (the ingest
agent, or a group detector, and its producer), and candidate received →
``opened`` snapshot received (the alert manager's fetch, batch and producer).
Both, and the end-to-end time, are also kept per alert kind.

Records are stamped with the wall clock as they are generated, right before
sending; event times carry millisecond precision, so both numbers can read up
to 1 ms high.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from creditwatch.bench.histogram import Buckets, histogram_buckets, scrape, subtract
from creditwatch.bench.kafka_io import (
    LIVE_PRODUCER,
    GroupOffsets,
    Produced,
    bootstrap_list,
    reached,
)
from creditwatch.simulation import Simulator
from streams.runtime.end_offsets import true_end_offsets
from topics.catalogue import ALERT_CANDIDATES, INPUT_TOPICS, RISK_ALERTS, RISK_TIER_CHANGES

ALERT_HISTOGRAM = "creditwatch_event_to_alert_seconds"
INPUT_NAMES = tuple(spec.name for spec in INPUT_TOPICS)
CANDIDATES = ALERT_CANDIDATES.name
#: Records sent between yields to the event loop, so the output consumer's
#: receive times stay honest while the producer catches up on its schedule.
SEND_SLICE = 50
#: Outputs still in flight when the inputs are committed: wait this long for them.
OUTPUT_GRACE_S = 1.0


@dataclass
class LatencyResult:
    target_rate: float
    duration_s: float
    sent: int = 0
    #: Event time → ``opened`` snapshot received, all kinds and by kind.
    alert_e2e_s: list[float] = field(default_factory=list)
    alert_e2e_by_kind: dict[str, list[float]] = field(default_factory=dict)
    #: The same for alerts whose event came in the phase's first second: the worker's
    #: first fetch after a quiet spell waits up to its idle wait (fetch_wait.py).
    alert_e2e_first_second_s: list[float] = field(default_factory=list)
    #: Event time → the alert's candidate received from the alert manager's input.
    candidate_hop_s: list[float] = field(default_factory=list)
    candidate_hop_by_kind: dict[str, list[float]] = field(default_factory=dict)
    #: Candidate received → its ``opened`` snapshot received: the alert manager's hop.
    manager_hop_s: list[float] = field(default_factory=list)
    manager_hop_by_kind: dict[str, list[float]] = field(default_factory=dict)
    tier_change_e2e_s: list[float] = field(default_factory=list)
    #: Producer timestamp → received, for the input records themselves: what one
    #: hop through the broker costs with no worker involved.
    input_hop_s: list[float] = field(default_factory=list)
    alert_buckets: Buckets = field(default_factory=dict)
    backlog: int = 0  # inputs not yet committed when the drain wait ended
    #: Last record sent → every input committed (None: not within the drain wait).
    #: Faust commits every 2.8 s, so this reads up to one commit interval high.
    drain_s: float | None = None

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0


def event_time_s(document: Mapping[str, object], field_name: str) -> float | None:
    """Epoch seconds of an ISO 8601 field of an output record.

    >>> event_time_s({"created_at": "2026-03-02T09:00:00+08:00"}, "created_at")
    1772413200.0
    """
    value = document.get(field_name)
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).timestamp()


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """An alert record worth timing: which alert, of what kind, raised at what event time."""

    alert_id: str
    kind: str
    created_s: float


def opened_alert(document: Mapping[str, object], since: float) -> AlertSeen | None:
    """The alert a ``risk.alerts`` record opens; None for every later snapshot of an alert
    (their ``created_at`` is the alert's first), and for alerts raised before ``since``.

    >>> opened = {"alert_id": "a1", "kind": "rule", "event": "opened",
    ...           "created_at": "2026-03-02T09:00:00+08:00"}
    >>> opened_alert(opened, since=0.0)
    AlertSeen(alert_id='a1', kind='rule', created_s=1772413200.0)
    >>> opened_alert({**opened, "event": "repeated"}, since=0.0) is None
    True
    """
    if document.get("event") != "opened":
        return None
    return _alert_seen(document, since)


def candidate_alert(document: Mapping[str, object], since: float) -> AlertSeen | None:
    """The candidate alert an alert-candidates record carries; None for a command (an
    acknowledgement, an escalation …) and for alerts raised before ``since``."""
    if "command" in document:
        return None
    return _alert_seen(document, since)


def _alert_seen(document: Mapping[str, object], since: float) -> AlertSeen | None:
    at = event_time_s(document, "created_at")
    alert_id, kind = document.get("alert_id"), document.get("kind")
    if at is None or at < since or not isinstance(alert_id, str) or not isinstance(kind, str):
        return None
    return AlertSeen(alert_id, kind, at)


class Arrivals:
    """Times each output record as it arrives, into a :class:`LatencyResult`: what counts
    and how, with no consumer (:class:`OutputWatcher` feeds it)."""

    def __init__(self, result: LatencyResult, since: float) -> None:
        self.result, self.since = result, since
        #: Arrival time of each candidate, until its ``opened`` snapshot arrives.
        self._candidates: dict[str, float] = {}

    def received(self, topic: str, document: Mapping[str, object], now: float) -> None:
        """Time one output record that arrived at ``now``."""
        result = self.result
        if topic == RISK_TIER_CHANGES.name:
            at = event_time_s(document, "effective_at")
            if at is not None and at >= self.since:
                result.tier_change_e2e_s.append(now - at)
        elif topic == CANDIDATES:
            candidate = candidate_alert(document, self.since)
            if candidate is not None:
                self._candidates.setdefault(candidate.alert_id, now)
                hop = now - candidate.created_s
                result.candidate_hop_s.append(hop)
                result.candidate_hop_by_kind.setdefault(candidate.kind, []).append(hop)
        elif (alert := opened_alert(document, self.since)) is not None:
            result.alert_e2e_s.append(now - alert.created_s)
            if alert.created_s < self.since + 1.0:
                result.alert_e2e_first_second_s.append(now - alert.created_s)
            result.alert_e2e_by_kind.setdefault(alert.kind, []).append(now - alert.created_s)
            candidate_at = self._candidates.pop(alert.alert_id, None)
            if candidate_at is not None:
                result.manager_hop_s.append(now - candidate_at)
                result.manager_hop_by_kind.setdefault(alert.kind, []).append(now - candidate_at)


class OutputWatcher:
    """Consumes the output topics, and the inputs, from their current end and records
    arrival latencies."""

    def __init__(self, bootstrap: str, result: LatencyResult, partitions: int) -> None:
        self.result = result
        self.partitions = partitions
        # Outputs of earlier traffic still in flight carry older event times: not ours.
        self.since = time.time()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_list(bootstrap),
            enable_auto_commit=False,
            # The broker would otherwise hold an empty fetch for 500 ms: that
            # wait would show up as latency that no real consumer tuned for it has.
            fetch_max_wait_ms=5,
        )
        self.arrivals = Arrivals(result, self.since)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for topic in (
                RISK_ALERTS.name,
                CANDIDATES,
                RISK_TIER_CHANGES.name,
                *INPUT_NAMES,
            )
            for p in range(self.partitions)
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end offsets before anything is produced
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            batches = await self.consumer.getmany(timeout_ms=50)
            now = time.time()
            # A candidate before the snapshots of the same fetch: one may open the other.
            arrived = sorted(batches.items(), key=lambda item: item[0].topic != CANDIDATES)
            for tp, messages in arrived:
                if tp.topic in INPUT_NAMES:
                    sent = (m.timestamp / 1000 for m in messages)  # the producer's clock
                    self.result.input_hop_s.extend(now - s for s in sent if s >= self.since)
                    continue
                for message in messages:
                    self.arrivals.received(tp.topic, orjson.loads(message.value or b"{}"), now)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            await self._task
        await self.consumer.stop()


async def send_paced(
    bootstrap: str, simulator: Simulator, rate: float, duration: float, produced: Produced
) -> int:
    """Send ``rate`` records a second for ``duration`` seconds; return how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_list(bootstrap), **LIVE_PRODUCER)
    await producer.start()
    pending = []
    sent = 0
    try:
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < duration:
            due = int(elapsed * rate)
            for _ in range(min(due - sent, SEND_SLICE)):
                record = simulator.next_record()  # stamped with the wall clock now
                pending.append(await producer.send(record.topic, record.value, key=record.key))
                sent += 1
            await asyncio.sleep(0.002 if sent >= due else 0)
        for meta in await asyncio.gather(*pending):
            produced.record(meta.topic, meta.partition, meta.offset)
    finally:
        await producer.stop()
    return sent


async def wait_committed(
    offsets: GroupOffsets, group: str, produced: Produced, timeout: float
) -> int:
    """Wait for the group to commit every input produced so far; return what is left."""
    targets = produced.targets(INPUT_NAMES)
    deadline = time.monotonic() + timeout
    while True:
        committed = await asyncio.to_thread(offsets.committed, group, INPUT_NAMES)
        if reached(committed, targets) or time.monotonic() >= deadline:
            return sum(max(0, end - committed.get(tp, 0)) for tp, end in targets.items())
        await asyncio.sleep(0.2)


async def wait_idle(bootstrap: str, offsets: GroupOffsets, group: str, timeout: float) -> bool:
    """Wait until ``group`` has committed every record of every topic it reads; False on timeout.

    After a backlog the worker's inputs are done before the internal topics
    they fed (peer features, alert candidates, …); a latency phase started
    then would measure that tail, not the offered rate.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_list(bootstrap))
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            committed = await asyncio.to_thread(offsets.all_committed, group)
            reported = await consumer.end_offsets([TopicPartition(*tp) for tp in committed])
            ends = await true_end_offsets(
                bootstrap, {(tp.topic, tp.partition): end for tp, end in reported.items()}
            )
            if reached(committed, ends):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()


async def run_latency_phase(
    bootstrap: str,
    metrics_url: str,
    simulator: Simulator,
    produced: Produced,
    offsets: GroupOffsets,
    *,
    rate: float,
    duration: float,
    drain_timeout: float,
    partitions: int,
    group: str = "creditwatch",
    progress: Callable[[str], None] | None = None,
) -> LatencyResult:
    """One phase: paced traffic, then wait for the worker to commit it all, then scrape."""
    result = LatencyResult(target_rate=rate, duration_s=duration)
    before = histogram_buckets(await asyncio.to_thread(scrape, metrics_url), ALERT_HISTOGRAM)
    watcher = OutputWatcher(bootstrap, result, partitions)
    await watcher.start()
    try:
        result.sent = await send_paced(bootstrap, simulator, rate, duration, produced)
        if progress is not None:
            progress(f"sent {result.sent:,} at {result.achieved_rate:,.0f}/s; draining")
        sent_at = time.monotonic()
        result.backlog = await wait_committed(offsets, group, produced, drain_timeout)
        if not result.backlog:
            result.drain_s = time.monotonic() - sent_at
        await asyncio.sleep(OUTPUT_GRACE_S)
    finally:
        await watcher.stop()
    after = histogram_buckets(await asyncio.to_thread(scrape, metrics_url), ALERT_HISTOGRAM)
    result.alert_buckets = subtract(after, before)
    return result
