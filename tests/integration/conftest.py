"""A running pipeline for integration tests: a fresh embedded stack and one worker.

Module-scoped: each test module gets its own broker, so topic contents and the
worker's consumer group start empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from creditwatch.embedded import EmbeddedStack
from creditwatch.processes import WorkerProcess
from creditwatch.topic_admin import create_topics
from topics.catalogue import ALL_TOPICS

PARTITIONS = 2


@dataclass
class Pipeline:
    stack: EmbeddedStack
    worker: WorkerProcess


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with EmbeddedStack() as stack:
        assert stack.workdir is not None
        create_topics(stack.bootstrap, ALL_TOPICS, PARTITIONS)
        worker = WorkerProcess(
            stack.workdir, stack.kafka_url, stack.redis_url, partitions=PARTITIONS
        )
        with worker:
            worker.wait_ready(timeout=90)
            yield Pipeline(stack, worker)
