"""Changelog recovery: how long a worker takes to start over N subjects' saved state.

A fresh broker gets what a worker that ran and took in N subjects leaves
behind. A first worker starts on the empty topics (that start is the baseline)
and stops: it has stamped each partition with the policy its subjects are
graded under (``streams/agents/regrade.py``), as every worker does. Then the
subject-state changelog is filled with N realistic state values (keyed by
USCC-shaped keys, partitioned by Kafka's default murmur2 partitioner: inputs
are keyed by subject with the same partitioner and Faust writes a table key to
its source event's partition, so this is where the worker itself would have
put them). Then a second worker starts and we time start to its ready line,
which Faust reaches only after replaying the changelog into the table. The
difference from the first start is the replay.

Without the stamps (a changelog written by hand) the second worker would
re-grade every subject before it is ready, as after a change of policy: that
is the re-grade's cost, not recovery's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from creditwatch.bench.kafka_io import Produced, create_topic, produce_all
from creditwatch.bench.state_size import process_rss, synthetic_key
from creditwatch.commands.worker import READY_LINE
from creditwatch.embedded import EmbeddedStack, wait_for
from creditwatch.processes import WorkerProcess
from creditwatch.topic_admin import create_topics
from topics.catalogue import ALL_TOPICS

APP_ID = "creditwatch"
CHANGELOG = f"{APP_ID}-subject-state-changelog"


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    subjects: int
    written_bytes: int
    write_s: float
    ready_s: float  # worker start to ready line
    rss_bytes: int | None  # the worker's resident set at its ready line
    empty_start_s: float  # the first worker's start to ready, on the empty changelog


def changelog_messages(pool: list[bytes], count: int) -> Iterator[tuple[str, bytes | None, bytes]]:
    size = len(pool)
    for index in range(count):
        yield CHANGELOG, synthetic_key(index), pool[index % size]


#: Faust logs this and then waits forever when it cannot decode changelog records.
RECOVERY_ERROR = "Error in recovery"


def wait_recovered(worker: WorkerProcess, timeout: float) -> None:
    """Wait for the ready line; fail at once if Faust reports undecodable changelog records."""

    def broken() -> str | None:
        text = worker.log_text()
        if RECOVERY_ERROR in text:
            first = next(line for line in text.splitlines() if RECOVERY_ERROR in line)
            return f"the worker cannot replay its changelog: {first.strip()[-200:]}"
        return None if worker.running() else f"it exited:\n{worker.log_tail()}"

    wait_for(
        lambda: READY_LINE in worker.log_text(),
        timeout,
        f"{worker.name} recovery",
        interval=0.2,
        abort=broken,
    )


def run_recovery(
    pool: list[bytes],
    count: int,
    partitions: int,
    log_dir: Path,
    *,
    timeout: float = 900.0,
    progress: Callable[[str], None] | None = None,
    watch: Callable[[int], Callable[[], None]] | None = None,
) -> RecoveryResult:
    """Fill a fresh broker's changelog with ``count`` states and time a worker's start.

    ``watch`` is called with the worker's pid once it is launched (a profiler);
    what it returns is called at the ready line, or when the wait fails.
    """
    with EmbeddedStack(postgres=False) as stack:
        create_topics(stack.bootstrap, ALL_TOPICS, partitions)
        create_topic(stack.bootstrap, CHANGELOG, partitions)

        def worker(name: str) -> WorkerProcess:
            return WorkerProcess(
                log_dir, stack.kafka_url, stack.redis_url, name=name, partitions=partitions
            )

        launched = time.monotonic()
        with worker(f"recovery-{count}-first") as first:
            if progress is not None:
                progress("first worker start, empty changelog")
            wait_recovered(first, timeout)
            empty_start_s = time.monotonic() - launched
        started = time.monotonic()
        asyncio.run(
            produce_all(
                stack.bootstrap,
                changelog_messages(pool, count),
                Produced(),
                progress=(lambda n: progress(f"changelog {n:,}/{count:,}")) if progress else None,
            )
        )
        write_s = time.monotonic() - started
        written = sum(len(pool[i % len(pool)]) for i in range(count))
        launched = time.monotonic()
        with worker(f"recovery-{count}") as second:
            if progress is not None:
                progress(f"worker recovering {count:,} subjects")
            pid = second.pid
            stop_watching = watch(pid) if watch and pid is not None else None
            try:
                wait_recovered(second, timeout)
            finally:
                if stop_watching is not None:
                    stop_watching()
            ready_s = time.monotonic() - launched
            rss = process_rss(pid) if pid is not None else None
    return RecoveryResult(count, written, write_s, ready_s, rss, empty_start_s)
