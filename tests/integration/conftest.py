"""A running pipeline for integration tests: a fresh embedded stack and one worker.

Module-scoped: each test module gets its own broker, so topic contents and the
worker's consumer group start empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from creditwatch.commands.token import create_token
from creditwatch.embedded import EmbeddedPostgres, EmbeddedStack
from creditwatch.processes import WorkerProcess
from creditwatch.topic_admin import create_topics
from streams.settings import DATABASE_VARIABLE
from tests.conftest import fresh_store
from topics.access import Role
from topics.catalogue import ALL_TOPICS

PARTITIONS = 2


@dataclass
class Pipeline:
    stack: EmbeddedStack
    worker: WorkerProcess
    token: str = ""  # a supervision-centre token: every API read and action
    database_url: str | None = None  # the record store the worker reads, if any

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def issue_token(
        self,
        name: str,
        role: Role,
        counties: list[str] | None = None,
        sectors: list[str] | None = None,
        subject: str | None = None,
        association: str | None = None,
    ) -> str:
        return create_token(
            self.stack.bootstrap,
            self.stack.redis_url,
            name,
            role,
            counties,
            sectors,
            subject=subject,
            association=association,
        )


@contextmanager
def running_pipeline(database_url: str | None = None) -> Iterator[Pipeline]:
    """A fresh embedded broker and Redis with every topic, and one ready worker; its
    record search and credit reports read the (migrated) store at ``database_url``."""
    with EmbeddedStack(postgres=False) as stack:
        assert stack.workdir is not None
        create_topics(stack.bootstrap, ALL_TOPICS, PARTITIONS)
        worker = WorkerProcess(
            stack.workdir,
            stack.kafka_url,
            stack.redis_url,
            partitions=PARTITIONS,
            env={DATABASE_VARIABLE: database_url} if database_url else None,
        )
        with worker:
            worker.wait_ready(timeout=90)
            pipeline = Pipeline(stack, worker, database_url=database_url)
            pipeline.token = pipeline.issue_token("test-centre", Role.CENTRE)
            yield pipeline


@pytest.fixture(scope="module")
def pipeline(embedded_postgres: EmbeddedPostgres) -> Iterator[Pipeline]:
    with fresh_store(embedded_postgres) as url, running_pipeline(url) as running:
        yield running
