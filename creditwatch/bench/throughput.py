"""Phases (b) and (c): time a Faust consumer group through the pre-loaded input.

Start of consumption is the worker's ready line (tables recovered, partitions
assigned); done is the moment the group's committed offsets cover everything
produced. Faust commits every 2.8 s (or 10,000 messages), so both ends carry
up to one commit interval of slack; the same holds for the bare app and the
pipeline, so their ratio is fair. The warm-up-excluded rate runs from the
first commit seen to done.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, Self

from creditwatch.bench.idle import cpu_seconds
from creditwatch.bench.kafka_io import GroupOffsets, Partition, watch_commits
from creditwatch.bench.report import rate
from creditwatch.commands.worker import READY_LINE
from creditwatch.embedded import wait_for
from creditwatch.processes import ChildProcess, WorkerProcess, stop_all


class ModuleProcess(ChildProcess):
    """``python -m MODULE`` as a child, with the worker's ready-line wait."""

    def __init__(
        self, name: str, module: str, log_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, [], log_dir, env)
        self.module = module

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # Ctrl-C reaches only the bench, which stops us
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        def exited() -> str | None:
            return None if self.running() else f"it exited:\n{self.log_tail()}"

        wait_for(
            lambda: READY_LINE in self.log_text(),
            timeout,
            f"{self.name} start-up",
            interval=0.1,
            abort=exited,
        )


class ReadyChild(Protocol):
    """What a phase needs of a child process: a worker or the bare app."""

    name: str

    def start(self) -> object: ...

    def wait_ready(self, timeout: float = 60.0) -> None: ...

    def running(self) -> bool: ...

    @property
    def pids(self) -> list[int]: ...

    def log_tail(self, lines: int = 20) -> str: ...


class WorkerGroup:
    """Several worker processes in one consumer group, started together, ready when all are."""

    def __init__(self, workers: Sequence[WorkerProcess]) -> None:
        self.workers = list(workers)
        self.name = f"{len(self.workers)} workers"

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        for worker in self.workers:
            worker.wait_ready(timeout)

    def running(self) -> bool:
        return all(worker.running() for worker in self.workers)

    @property
    def pids(self) -> list[int]:
        return [pid for worker in self.workers for pid in worker.pids]

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(f"{w.name}:\n{w.log_tail(lines)}" for w in self.workers)

    def stop(self) -> None:
        stop_all(self.workers)


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    events: int
    startup_s: float  # process start to ready line
    consume_s: float | None  # ready to all committed
    steady_s: float | None  # first commit to all committed
    steady_events: int  # events committed after the first commit
    #: CPU seconds the child's processes used from ready to done: steadier than the
    #: rates on a machine other work shares.
    cpu_s: float | None = None

    @property
    def total_rate(self) -> float | None:
        return None if self.consume_s is None else rate(self.events, self.consume_s)

    @property
    def steady_rate(self) -> float | None:
        return None if self.steady_s is None else rate(self.steady_events, self.steady_s)

    @property
    def cpu_us_per_event(self) -> float | None:
        if self.cpu_s is None or self.consume_s is None or self.events <= 0:
            return None
        return self.cpu_s / self.events * 1e6


def cpu_of(pids: list[int]) -> float | None:
    """CPU seconds used so far by all of ``pids``; None if any is gone."""
    used = [cpu_seconds(pid) for pid in pids]
    return None if not used or None in used else sum(u for u in used if u is not None)


def result_of(
    events: int,
    launched: float,
    ready: float,
    first_commit: float | None,
    committed_at_first: int,
    done: float | None,
) -> ThroughputResult:
    """Turn the four timestamps (monotonic seconds) into durations.

    >>> r = result_of(10_000, 0.0, 5.0, 7.0, 2_000, 9.0)
    >>> r.startup_s, r.total_rate, r.steady_rate
    (5.0, 2500.0, 4000.0)
    """
    consume = None if done is None else done - ready
    steady = None if done is None or first_commit is None else done - first_commit
    return ThroughputResult(
        events=events,
        startup_s=ready - launched,
        consume_s=consume,
        steady_s=steady,
        steady_events=events - committed_at_first,
    )


def run_group_phase(
    child: ReadyChild,
    offsets: GroupOffsets,
    group: str,
    targets: dict[Partition, int],
    *,
    timeout: float,
    on_ready: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ThroughputResult:
    """Start ``child`` (left running for the caller to stop) and time it through ``targets``."""
    events = sum(targets.values())
    launched = time.monotonic()
    child.start()
    child.wait_ready(timeout=120.0)
    ready = time.monotonic()
    cpu_at_ready = cpu_of(child.pids)
    if on_ready is not None:
        on_ready()
    topics = {topic for topic, _ in targets}
    watched = watch_commits(
        offsets, group, topics, targets, timeout, alive=child.running, progress=progress
    )
    cpu_at_done = cpu_of(child.pids)
    if watched.done_at is None and not child.running():
        raise RuntimeError(f"{child.name} exited during the run:\n{child.log_tail()}")
    result = result_of(
        events,
        launched,
        ready,
        watched.first_commit_at,
        watched.committed_at_first,
        watched.done_at,
    )
    if cpu_at_ready is None or cpu_at_done is None:
        return result
    return replace(result, cpu_s=cpu_at_done - cpu_at_ready)
