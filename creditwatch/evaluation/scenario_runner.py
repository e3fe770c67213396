"""Run a scenario through the real pipeline: embedded broker and Redis, one worker process.

Records go out in event-time order and *paced* in event time: a slice of at
most ``slice_span`` (default three simulated hours) is produced, then the
next only once the worker has consumed (its ``creditwatch_events_consumed_total``
metric) everything before the current slice, so about two slices at most are
ever in flight. Dumping everything at once, or pacing by a record count, lets
the worker read one partition days of event time ahead of another; the
cross-region detector then closes a day on one partition's records and,
rightly, sets the other partition's complaints of that day aside as late.
Live department feeds arrive in order; so does this. Injected surges end by
17:30, six and a half hours before the next day can close theirs.

Each slice costs a fetch round trip of the worker's consumer (about 0.4 s on
the embedded broker, whatever the slice holds), so the span trades run time
against that margin.

After the last record is consumed, the run waits until the worker has also
committed everything on the internal topics (the cross-subject detectors' input)
and ``risk.alerts`` has been quiet for a few seconds, then reads every alert
and counts the dead letters on ``risk.dlq``.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from creditwatch.bench.kafka_io import GroupOffsets
from creditwatch.embedded import EmbeddedError, EmbeddedStack
from creditwatch.evaluation.alert_budget import AlertTally
from creditwatch.evaluation.scenario_labels import ScenarioRecord
from creditwatch.evaluation.scenario_scoring import ObservedAlert, snapshot_of
from creditwatch.processes import WorkerProcess
from creditwatch.topic_admin import create_topics
from streams.runtime.end_offsets import true_end_offsets
from streams.settings import Settings
from topics.catalogue import ALL_TOPICS, INPUT_TOPICS, INTERNAL_TOPICS, RISK_ALERTS, RISK_DLQ

Progress = Callable[[str], None]
CONSUMED_METRIC = "creditwatch_events_consumed_total{"
PROGRESS_EVERY_S = 2.0
INPUTS = tuple(t.name for t in INPUT_TOPICS)


class PipelineError(RuntimeError):
    """The pipeline stopped or did not keep up; carries the worker's log tail."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    partitions: int = 2
    slice_span: timedelta = timedelta(hours=3)  # event time produced per step
    slice_cap: int = 2_000  # records per step, however dense the traffic
    timeout: float = 900.0  # seconds for the whole run, start-up excluded
    quiet: float = 5.0  # seconds without a new alert before reading them all
    ready_timeout: float = 90.0


@dataclass(frozen=True)
class PipelineRun:
    alerts: list[ObservedAlert]
    produced: int
    consumed: int
    seconds: float  # from the first record produced to the last alert read
    dead_letters: int = 0  # records on risk.dlq
    tally: AlertTally = field(default_factory=AlertTally)  # every snapshot, for the budget


def consumed_count(web_port: int) -> int:
    """Input records the worker has consumed, from its Prometheus metrics."""
    url = f"http://127.0.0.1:{web_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return count_consumed(response.read().decode("utf-8", "replace"))


def count_consumed(exposition: str) -> int:
    """Sum the consumed counter over the input topics in Prometheus text format.

    >>> count_consumed('creditwatch_events_consumed_total{topic="iot.readings"} 12.0\\n'
    ...                'creditwatch_events_consumed_total{topic="elsewhere"} 5.0')
    12
    """
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(CONSUMED_METRIC) and any(f'topic="{t}"' in line for t in INPUTS):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


class AlertReader:
    """Every record of ``risk.alerts`` from the beginning, by plain partition assignment."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10_000
        )
        partitions = self._wait_for_partitions()
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.alerts: list[ObservedAlert] = []
        self.tally = AlertTally()
        self.last_new = time.monotonic()

    def _wait_for_partitions(self) -> list[TopicPartition]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = self.consumer.partitions_for_topic(RISK_ALERTS.name)
            if found:
                return [TopicPartition(RISK_ALERTS.name, p) for p in sorted(found)]
            time.sleep(0.2)
        raise PipelineError(f"topic {RISK_ALERTS.name} has no partitions")

    def poll(self, timeout_ms: int = 200) -> int:
        """Read what has arrived (waiting up to ``timeout_ms`` for something); return how many."""
        arrived = 0
        for messages in self.consumer.poll(timeout_ms=timeout_ms).values():
            for message in messages:
                snapshot = snapshot_of(message.value)
                alert = ObservedAlert.from_snapshot(snapshot) if snapshot is not None else None
                if snapshot is not None and alert is not None:
                    self.alerts.append(alert)
                    self.tally.add(snapshot)
                    arrived += 1
        if arrived:
            self.last_new = time.monotonic()
        return arrived

    def end_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(self.consumer.partitions_for_topic(t) or ())
        ]
        return {
            (tp.topic, tp.partition): n for tp, n in self.consumer.end_offsets(partitions).items()
        }

    def close(self) -> None:
        self.consumer.close()


class _Run:
    """One paced run against a started worker."""

    def __init__(
        self,
        stack: EmbeddedStack,
        worker: WorkerProcess,
        reader: AlertReader,
        settings: RunSettings,
        progress: Progress,
    ) -> None:
        self.stack, self.worker, self.reader = stack, worker, reader
        self.settings, self.progress = settings, progress
        self.started = time.monotonic()
        self.deadline = self.started + settings.timeout
        self.sent = 0
        self.consumed = 0
        self._reported = 0.0

    def check(self, what: str) -> None:
        if not self.worker.running():
            raise PipelineError(f"the worker exited while {what}:\n{self.worker.log_tail(40)}")
        if time.monotonic() > self.deadline:
            raise PipelineError(
                f"timed out after {self.settings.timeout:.0f} s while {what} "
                f"({self.consumed:,} of {self.sent:,} records consumed):\n"
                + self.worker.log_tail(20)
            )

    def report(self, total: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._reported >= PROGRESS_EVERY_S:
            self._reported = now
            self.progress(
                f"sent {self.sent:,}/{total:,}, consumed {self.consumed:,}, "
                f"alerts {len(self.reader.alerts):,} ({now - self.started:.0f} s)"
            )

    def wait_consumed(self, target: int, total: int, what: str) -> None:
        while True:
            try:
                self.consumed = consumed_count(self.worker.web_port)
            except OSError:
                pass  # a slow or refused metrics request: ask again; check() catches a dead worker
            self.reader.poll(timeout_ms=0)  # never wait here: this loop paces the producer
            self.report(total)
            if self.consumed >= target:
                return
            self.check(what)
            time.sleep(0.01)

    def produce(self, records: Sequence[ScenarioRecord]) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.stack.bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024
        )
        total = len(records)
        try:
            for chunk in slices(records, self.settings.slice_span, self.settings.slice_cap):
                for record in chunk:
                    producer.send(record.topic, key=record.key, value=record.value)
                producer.flush()
                before = self.sent
                self.sent += len(chunk)
                # The previous slice must be consumed: only this one is left in flight.
                self.wait_consumed(before, total, "producing")
        finally:
            producer.close()
        self.wait_consumed(total, total, "waiting for the last records")

    def settle(self, group: str) -> None:
        """Wait for the internal topics to be consumed and the alerts to stop coming."""
        internal = [t.name for t in INTERNAL_TOPICS]
        offsets = GroupOffsets(self.stack.bootstrap)
        try:
            while True:
                self.reader.poll()
                quiet = time.monotonic() - self.reader.last_new >= self.settings.quiet
                if quiet and self._caught_up(offsets, group, internal):
                    return
                self.check("waiting for the detectors to finish")
        finally:
            offsets.close()

    def dead_letters(self) -> int:
        """Records on the dead-letter topic: it is only ever appended to, from offset 0."""
        reported = self.reader.end_offsets([RISK_DLQ.name])
        return sum(asyncio.run(true_end_offsets(self.stack.bootstrap, reported)).values())

    def _caught_up(self, offsets: GroupOffsets, group: str, topics: list[str]) -> bool:
        committed = offsets.committed(group, topics)
        # The embedded broker reports a partition's end as its last batch's base
        # offset + 1; the true end is past the batch's last record.
        reported = self.reader.end_offsets(topics)
        ends = asyncio.run(true_end_offsets(self.stack.bootstrap, reported))
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())


def slices(
    records: Sequence[ScenarioRecord], span: timedelta, cap: int
) -> Iterator[Sequence[ScenarioRecord]]:
    """Consecutive runs of time-ordered ``records`` covering at most ``span`` of event time
    and at most ``cap`` records each."""
    start = 0
    while start < len(records):
        limit = records[start].at + span
        end = start + 1
        while end < len(records) and end - start < cap and records[end].at < limit:
            end += 1
        yield records[start:end]
        start = end


@contextmanager
def running_pipeline(settings: RunSettings) -> Iterator[tuple[EmbeddedStack, WorkerProcess]]:
    """A fresh embedded stack with the catalogue's topics and one ready worker."""
    with EmbeddedStack(postgres=False) as stack:
        assert stack.workdir is not None
        create_topics(stack.bootstrap, ALL_TOPICS, settings.partitions)
        worker = WorkerProcess(
            stack.workdir, stack.kafka_url, stack.redis_url, partitions=settings.partitions
        )
        with worker:
            try:
                worker.wait_ready(timeout=settings.ready_timeout)
            except EmbeddedError as exc:
                raise PipelineError(f"{exc}\n{worker.log_tail(40)}") from exc
            yield stack, worker


def run_pipeline(
    records: Sequence[ScenarioRecord],
    settings: RunSettings | None = None,
    progress: Progress = lambda line: None,
) -> PipelineRun:
    """Produce ``records`` through a fresh pipeline and return every alert it raised."""
    settings = settings or RunSettings()
    group = Settings.from_env().app_id  # the worker inherits our environment
    progress(f"starting the embedded broker, Redis and a worker ({settings.partitions} partitions)")
    with running_pipeline(settings) as (stack, worker):
        reader = AlertReader(stack.bootstrap)
        try:
            run = _Run(stack, worker, reader, settings, progress)
            run.produce(records)
            run.settle(group)
            run.report(len(records), force=True)
            return PipelineRun(
                alerts=list(reader.alerts),
                produced=run.sent,
                consumed=run.consumed,
                seconds=time.monotonic() - run.started,
                dead_letters=run.dead_letters(),
                tally=reader.tally,
            )
        finally:
            reader.close()
