"""Child processes creditwatch starts for the demo, tests and benchmarks.

Each child runs in its own session so a terminal Ctrl-C reaches only us, and we
stop children in order (producers first, then workers, then the stack).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from creditwatch.commands.archive import READY_LINE as SINK_READY_LINE
from creditwatch.commands.public_site import READY_LINE as SITE_READY_LINE
from creditwatch.commands.worker import READY_LINE
from creditwatch.embedded import Managed, embedded_pseudonym_key, free_port, wait_for

STOP_GRACE_S = 15.0


class ChildProcess(Managed):
    """A ``creditwatch`` sub-command in a child process, logging to a file."""

    def __init__(
        self, name: str, args: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_dir / f"{name}.log"
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None  # time.monotonic() of the latest start

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "creditwatch.cli", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def pids(self) -> list[int]:
        """The process's id as a list (a group of workers has several)."""
        return [self.process.pid] if self.process else []

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the latest start has ended (negative: killed by that signal)."""
        return self.process.poll() if self.process is not None else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL the whole process group at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


class WorkerProcess(ChildProcess):
    """``creditwatch worker`` against a given broker and Redis, with this process's pseudonym
    key (:func:`~creditwatch.embedded.embedded_pseudonym_key`) unless ``env`` names one."""

    def __init__(
        self,
        log_dir: Path,
        kafka_url: str,
        redis_url: str,
        *,
        name: str = "worker",
        partitions: int = 4,
        rebalance_timeout: float = 3.0,
        web_port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.web_port = web_port or free_port()
        worker_env = {
            "CREDITWATCH_KAFKA": kafka_url,
            "CREDITWATCH_REDIS": redis_url,
            "CREDITWATCH_PARTITIONS": str(partitions),
            "CREDITWATCH_REBALANCE_TIMEOUT": str(rebalance_timeout),
            "CREDITWATCH_WEB_PORT": str(self.web_port),
            "CREDITWATCH_DATA_DIR": str(log_dir / f"{name}-data"),
            "CREDITWATCH_PSEUDONYM_KEY": embedded_pseudonym_key(),
            **(env or {}),
        }
        super().__init__(name, ["worker"], log_dir, worker_env)
        self._ready_seen = 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the next "worker ready" line (one per start or recovery)."""
        _wait_for_line(self, READY_LINE, self._ready_seen, timeout)
        self._ready_seen = self.log_text().count(READY_LINE)

    def start(self) -> Self:
        self._ready_seen = self.log_text().count(READY_LINE)
        super().start()
        return self


class SinkProcess(ChildProcess):
    """``creditwatch archive sink`` against a given broker and record store
    (docs/record-store.md); ``metrics_port`` 0 serves no metrics."""

    def __init__(
        self,
        log_dir: Path,
        kafka_url: str,
        database_url: str,
        *,
        name: str = "sink",
        group: str | None = None,
        batch: int | None = None,
        rebalance_timeout: float = 3.0,
        metrics_port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.metrics_port = free_port() if metrics_port is None else metrics_port
        sink_env = {
            "CREDITWATCH_KAFKA": kafka_url,
            "CREDITWATCH_DATABASE": database_url,
            "CREDITWATCH_REBALANCE_TIMEOUT": str(rebalance_timeout),
            **(env or {}),
        }
        args = ["archive", "sink", "--metrics-port", str(self.metrics_port)]
        args += ["--group", group] if group else []
        args += ["--batch", str(batch)] if batch else []
        super().__init__(name, args, log_dir, sink_env)
        self._ready_seen = 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the next "archive sink ready" line (one per start)."""
        _wait_for_line(self, SINK_READY_LINE, self._ready_seen, timeout)
        self._ready_seen = self.log_text().count(SINK_READY_LINE)

    def start(self) -> Self:
        self._ready_seen = self.log_text().count(SINK_READY_LINE)
        super().start()
        return self


class PublicSiteProcess(ChildProcess):
    """``creditwatch public-site`` on a free local port, reading the given record store
    (docs/public-site.md)."""

    def __init__(
        self,
        log_dir: Path,
        database_url: str,
        *,
        name: str = "public-site",
        port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        site_env = {
            "CREDITWATCH_DATABASE": database_url,
            "CREDITWATCH_PUBLIC_PORT": str(self.port),
            **(env or {}),
        }
        super().__init__(name, ["public-site"], log_dir, site_env)
        self._ready_seen = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the next "public site ready" line (one per start)."""
        _wait_for_line(self, SITE_READY_LINE, self._ready_seen, timeout)
        self._ready_seen = self.log_text().count(SITE_READY_LINE)

    def start(self) -> Self:
        self._ready_seen = self.log_text().count(SITE_READY_LINE)
        super().start()
        return self


def _wait_for_line(child: ChildProcess, line: str, seen: int, timeout: float) -> None:
    def exited() -> str | None:
        return None if child.running() else f"it exited:\n{child.log_tail()}"

    wait_for(
        lambda: child.log_text().count(line) > seen,
        timeout,
        f"{child.name} start-up",
        interval=0.2,
        abort=exited,
    )


def stop_all(children: Sequence[ChildProcess]) -> None:
    """Stop children in the given order, each with its grace period.

    Interrupted meanwhile (a second Ctrl-C), it kills the rest at once rather
    than leave them behind.
    """
    for index, child in enumerate(children):
        try:
            child.stop()
        except KeyboardInterrupt:
            for rest in children[index:]:
                rest.kill()
            raise


def describe_exit(code: int) -> str:
    """How a process ended, in words: "exit status 1", "killed by SIGKILL"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def elapsed_since(start: float) -> str:
    seconds = int(time.monotonic() - start)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
