"""Send simulated records to Kafka at a steady rate, with a progress line.

Uses kafka-python, which (unlike librdkafka clients) talks to the embedded
Tansu broker as well as to Apache Kafka.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import kafka
import kafka.errors

from creditwatch.simulation.traffic import OutboundRecord

PROGRESS_INTERVAL = 0.5  # seconds: at most two refreshes a second
MIN_SLEEP = 0.002  # below this, sleeping costs more than it paces: let the debt grow
FLUSH_TIMEOUT = 15.0


class BrokerUnavailable(RuntimeError):
    """Kafka could not be reached, or would not accept records in time."""


class Sender(Protocol):
    """The part of ``kafka.KafkaProducer`` used here (tests pass a fake)."""

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


@dataclass(slots=True)
class ProduceStats:
    """What :func:`produce` sent.

    ``valid`` counts every record the pipeline should accept, re-sends
    included; ``duplicates`` is the re-send subset, so the number of distinct
    events is ``valid - duplicates``. ``bad`` records should all reach the DLQ.
    """

    sent: int = 0
    valid: int = 0
    bad: int = 0
    duplicates: int = 0
    per_topic: Counter[str] = field(default_factory=Counter)
    failed: int = 0  # delivery failures reported back by the producer
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def count(self, record: OutboundRecord) -> None:
        self.sent += 1
        self.per_topic[record.topic] += 1
        if record.expected_valid:
            self.valid += 1
        else:
            self.bad += 1
        if record.duplicate:
            self.duplicates += 1

    def summary(self) -> str:
        """A short multi-line report for the end of a run."""
        topics = ", ".join(f"{topic} {n:,}" for topic, n in sorted(self.per_topic.items()))
        lines = [
            f"sent {self.sent:,} records in {self.elapsed:.1f} s ({self.rate:,.0f}/s)"
            + (" — interrupted" if self.interrupted else ""),
            f"  by topic: {topics or 'none'}",
            f"  valid {self.valid:,} (of which duplicate re-sends {self.duplicates:,}), "
            f"bad {self.bad:,}",
        ]
        if self.failed:
            lines.append(f"  delivery failures: {self.failed:,}")
        return "\n".join(lines)


class TokenBucket:
    """Paces callers to ``rate`` per second, allowing bursts of up to ``burst``.

    A rate of 0 or less means unpaced.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._last = clock()

    def acquire(self) -> None:
        """Take one token, sleeping once the debt is worth a sleep."""
        if self.rate <= 0:
            return
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate) - 1
        self._last = now
        # Tokens below zero are a debt the next refill pays; sleeping it off in
        # chunks keeps high rates from being capped by sleep() overhead.
        wait = -self._tokens / self.rate
        if wait >= MIN_SLEEP:
            self._sleep(wait)


class ProgressLine:
    """One self-overwriting status line on a terminal."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._start = self._last = clock()
        self._last_sent = 0
        self._width = 0

    def update(self, stats: ProduceStats, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last < PROGRESS_INTERVAL:
            return
        recent = (stats.sent - self._last_sent) / max(now - self._last, 1e-9)
        elapsed = int(now - self._start)
        line = (
            f"simulate: {stats.sent:,} sent  {recent:,.0f}/s  bad {stats.bad:,}  "
            f"dup {stats.duplicates:,}  {elapsed // 3600:d}:{elapsed // 60 % 60:02d}:"
            f"{elapsed % 60:02d}"
        )
        self._width = max(self._width, len(line))
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._last, self._last_sent = now, stats.sent

    def close(self, stats: ProduceStats) -> None:
        self.update(stats, force=True)
        self._stream.write("\n")
        self._stream.flush()


def connect(bootstrap: str, connect_timeout: float = 5.0) -> Sender:
    """A kafka-python producer, or :class:`BrokerUnavailable` with a readable message."""
    config: dict[str, Any] = {
        "bootstrap_servers": [server.strip() for server in bootstrap.split(",")],
        "client_id": "creditwatch-simulate",
        "acks": 1,
        "linger_ms": 5,  # small batches: throughput without visible latency
        "max_block_ms": int(connect_timeout * 1000),
    }
    # kafka-python 3 waits bootstrap_timeout_ms (30 s by default) before giving up.
    if "bootstrap_timeout_ms" in kafka.KafkaProducer.DEFAULT_CONFIG:
        config["bootstrap_timeout_ms"] = int(connect_timeout * 1000)
    try:
        producer: Sender = kafka.KafkaProducer(**config)
    except kafka.errors.KafkaError as exc:
        # 2.x raises NoBrokersAvailable, 3.x KafkaTimeoutError("Unable to bootstrap …").
        raise BrokerUnavailable(
            f"cannot reach Kafka at {bootstrap} ({exc}). "
            "Is the broker running? Start everything with `creditwatch demo`, "
            "or point --bootstrap / CREDITWATCH_KAFKA at your cluster."
        ) from None
    return producer


def produce(
    bootstrap: str,
    records: Iterable[OutboundRecord],
    rate: float = 200.0,
    duration: float | None = None,
    total: int | None = None,
    progress: bool | None = None,
    *,
    sender: Sender | None = None,
    connect_timeout: float = 5.0,
) -> ProduceStats:
    """Send ``records`` to Kafka, paced to ``rate`` per second (0: as fast as possible).

    Stops after ``duration`` seconds, ``total`` records, the end of
    ``records`` or Ctrl-C, whichever comes first; always flushes before
    returning. ``progress`` shows a status line on stderr: ``None`` means only
    when stderr is a terminal. ``sender`` replaces the Kafka producer (tests).
    Raises :class:`BrokerUnavailable` if the broker cannot be reached.
    """
    producer = sender if sender is not None else connect(bootstrap, connect_timeout)
    stats = ProduceStats()
    show = sys.stderr.isatty() if progress is None else progress
    line = ProgressLine(sys.stderr) if show else None
    start = time.monotonic()
    try:
        _send_all(producer, records, stats, TokenBucket(rate), start, duration, total, line)
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        _finish(producer, stats)
        stats.elapsed = time.monotonic() - start
        if line is not None:
            line.close(stats)
    return stats


def _send_all(
    producer: Sender,
    records: Iterable[OutboundRecord],
    stats: ProduceStats,
    bucket: TokenBucket,
    start: float,
    duration: float | None,
    total: int | None,
    line: ProgressLine | None,
) -> None:
    def failed(_exc: BaseException) -> None:
        stats.failed += 1  # runs on the producer's I/O thread; it is the only writer

    for record in records:
        if total is not None and stats.sent >= total:
            return
        if duration is not None and time.monotonic() - start >= duration:
            return
        bucket.acquire()
        try:
            future = producer.send(record.topic, value=record.value, key=record.key)
        except kafka.errors.KafkaTimeoutError as exc:
            raise BrokerUnavailable(
                f"Kafka did not accept records for {record.topic!r} in time ({exc}); "
                "does the topic exist? Create it with `creditwatch topics create`."
            ) from None
        if future is not None and hasattr(future, "add_errback"):
            future.add_errback(failed)
        stats.count(record)
        if line is not None:
            line.update(stats)


def _finish(producer: Sender, stats: ProduceStats) -> None:
    """Flush what is buffered, so an interrupted run still delivers what it counted."""
    try:
        producer.flush(timeout=FLUSH_TIMEOUT)
    except kafka.errors.KafkaError as exc:
        print(f"simulate: flush incomplete ({exc}); some records may be lost", file=sys.stderr)
    finally:
        producer.close(timeout=FLUSH_TIMEOUT)
