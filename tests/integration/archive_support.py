"""Running the archive sink beside a pipeline in integration tests, and waiting for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from kafka import KafkaProducer

from creditwatch.admin_io import group_lag
from creditwatch.processes import SinkProcess
from streams.archive import DEFAULT_GROUP
from streams.archive.rows import ARCHIVED_TOPICS
from streams.archive.store import TableDigest, digests, row_counts
from tests.integration.conftest import Pipeline
from topics.catalogue import INPUT_TOPICS, INTERNAL_TOPICS

#: The worker's consumer group (streams/settings.py's app id).
WORKER_GROUP = "creditwatch"


@dataclass
class Archive:
    pipeline: Pipeline
    url: str
    sink: SinkProcess
    group: str = DEFAULT_GROUP

    def send(self, topic: str, records: list[dict[str, Any]]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.pipeline.stack.bootstrap, acks="all")
        try:
            for record in records:
                producer.send(topic, orjson.dumps(record), key=record["subject"].encode())
            producer.flush()
        finally:
            producer.close()

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until the worker has processed every input and the sink has stored every
        message on the archived topics (twice in a row: outputs of late work count)."""
        settle(self.pipeline.stack.bootstrap, [self.group], timeout)

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.url)

    def counts(self) -> dict[str, int]:
        with psycopg.connect(self.url) as conn:
            return row_counts(conn)

    def digests(self) -> list[TableDigest]:
        with psycopg.connect(self.url) as conn:
            return digests(conn)

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(statement, params).fetchall()


def settle(bootstrap: str, sink_groups: list[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    worker_topics = [spec.name for spec in INPUT_TOPICS + INTERNAL_TOPICS]
    quiet = 0
    lag: dict[str, dict[str, int]] = {}
    while time.monotonic() < deadline:
        lag = {WORKER_GROUP: group_lag(bootstrap, WORKER_GROUP, worker_topics)}
        lag |= {group: group_lag(bootstrap, group, ARCHIVED_TOPICS) for group in sink_groups}
        quiet = quiet + 1 if not any(n for by in lag.values() for n in by.values()) else 0
        if quiet >= 2:
            return
        time.sleep(0.5)
    behind = {g: {t: n for t, n in by.items() if n} for g, by in lag.items()}
    raise AssertionError(f"not settled within {timeout:.0f} s: {behind}")


@contextmanager
def running_sink(pipeline: Pipeline, url: str, **options: Any) -> Iterator[SinkProcess]:
    stack = pipeline.stack
    assert stack.workdir is not None
    sink = SinkProcess(stack.workdir, stack.kafka_url, url, **options)
    with sink:
        sink.wait_ready(timeout=90)
        yield sink
