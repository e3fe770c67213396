"""A worker whose broker is not there says so and retries; it does not hang silently."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from creditwatch.embedded import EmbeddedBroker, free_port, wait_for
from creditwatch.processes import WorkerProcess
from creditwatch.topic_admin import create_topics
from topics.catalogue import ALL_TOPICS


def test_unreachable_broker_is_named_retried_and_given_up_on() -> None:
    port = free_port()
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "creditwatch.cli",
            "worker",
            "--kafka",
            f"kafka://127.0.0.1:{port}",
            "--wait-for-broker",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert time.monotonic() - started < 30
    lines = result.stderr.strip().splitlines()
    assert f"no Kafka broker reachable at kafka://127.0.0.1:{port}" in lines[0]
    assert "retrying" in lines[0] and "giving up after 3 s" in lines[-1]


@pytest.mark.integration
def test_worker_started_before_its_broker_becomes_ready_when_it_appears(tmp_path: Path) -> None:
    port = free_port()
    worker = WorkerProcess(
        tmp_path, f"kafka://127.0.0.1:{port}", "redis://127.0.0.1:1/0", partitions=2
    )
    with worker:
        # The worker is waiting and saying so. Its first words come after its
        # imports (5-10 s on a loaded machine), so wait for them, not for a time.
        wait_for(
            lambda: "retrying" in worker.log_text(),
            60,
            "the worker saying it retries",
            interval=0.2,
            abort=lambda: None if worker.running() else f"it exited:\n{worker.log_tail()}",
        )
        assert worker.running()
        with EmbeddedBroker(tmp_path, port=port) as broker:
            create_topics(broker.bootstrap, ALL_TOPICS, 2)
            worker.wait_ready(timeout=90)
