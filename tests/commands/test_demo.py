"""``creditwatch demo``: it outlives a slow broker and a dead worker, and keeps the evidence.

The integration test runs the real command in a child process, as a user would,
with its output piped (so it prints the compact log lines, not the screen).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from kafka.errors import KafkaTimeoutError

from creditwatch.commands.demo import (
    Figures,
    Incidents,
    Supervisor,
    View,
    compact,
    dead_letters,
    redraw,
    render,
)
from creditwatch.embedded import EmbeddedError, wait_for
from creditwatch.evaluation.alert_budget import AlertBudget
from creditwatch.monitor import Snapshot, Unavailable
from creditwatch.processes import ChildProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITOR_TIMEOUT_S = 1.0
PAUSE_S = 4 * MONITOR_TIMEOUT_S  # longer than the summary's broker timeout, several times


def page_text(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except OSError:
        return ""


class DemoOutput:
    """The lines a demo child prints, collected by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(
        self, pattern: str, timeout: float, *, after: int = 0, alive: bool = True
    ) -> tuple[re.Match[str], int]:
        """The first line from index ``after`` on matching ``pattern``, and the index after it."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                lines = list(self.lines)
            for index in range(after, len(lines)):
                match = re.search(pattern, lines[index])
                if match:
                    return match, index + 1
            if alive:
                assert self.process.poll() is None, f"the demo exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"no line matching {pattern!r}:\n{self.text()}"
            time.sleep(0.1)

    def processed(self, timeout: float, *, after: int, above: int = 0) -> tuple[int, int]:
        """Wait for a fresh (not stale) summary line whose processed count exceeds ``above``."""
        deadline = time.monotonic() + timeout
        while True:
            match, after = self.wait_for(
                r"^(?!.*stale).*processed\s+([\d,]+) of", deadline - time.monotonic(), after=after
            )
            count = int(match[1].replace(",", ""))
            if count > above:
                return count, after


@pytest.mark.integration
def test_demo_survives_a_broker_pause_and_a_killed_worker() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "creditwatch.cli",
            "demo",
            "--rate",
            "100",
            "--subjects",
            "300",
            "--partitions",
            "1",
            "--refresh",
            "0.5",
            "--monitor-timeout",
            str(MONITOR_TIMEOUT_S),
            "--bad-ratio",
            "0.02",
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = DemoOutput(process)
    workdir: Path | None = None
    try:
        match, seen = out.wait_for(r"logs (\S+)", 60)
        workdir = Path(match[1])
        broker_pid = int(out.wait_for(r"broker \S+ \(pid (\d+)\)", 5)[0][1])
        store = out.wait_for(r"record store (\S+) \(PostgreSQL pid \d+\)", 5)[0][1]
        # The public disclosure site's address is printed next to the board's, and answers.
        site = out.wait_for(r"public site (http://127\.0\.0\.1:\d+/) \(no login", 5)[0][1]
        wait_for(lambda: "信用信息公示" in page_text(site), 60, "the public site's home page")
        worker_pid = int(out.wait_for(r"worker pid (\d+)", 5)[0][1])
        processed, seen = out.processed(90, after=seen)
        assert "simulator sends 2% bad records on purpose" in out.lines[seen - 1]
        # The archive sink keeps what flows through in the record store it names.
        wait_for(lambda: stored_records(store) > 0, 90, "records in the store")

        # The broker stops answering for longer than the summary waits for it.
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            _, seen = out.wait_for(r"broker slow", 5 * PAUSE_S, after=seen)
            time.sleep(max(0.0, PAUSE_S - MONITOR_TIMEOUT_S))
            assert process.poll() is None, out.text()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(broker_pid, signal.SIGCONT)
        processed, seen = out.processed(60, after=seen, above=processed)

        # A worker killed outright is reported with how it ended, and replaced.
        os.kill(worker_pid, signal.SIGKILL)
        match, seen = out.wait_for(
            r"worker exited \(killed by SIGKILL\).*restarted as pid (\d+)", 30, after=seen
        )
        assert int(match[1]) != worker_pid
        processed, seen = out.processed(120, after=seen, above=processed)

        # Without its broker the demo cannot go on: it ends as a failure and keeps its logs.
        os.kill(broker_pid, signal.SIGKILL)
        assert process.wait(timeout=60) == 1, out.text()
        out.wait_for(rf"logs kept in {re.escape(str(workdir))}", 5, alive=False)
        assert (workdir / "worker.log").exists() and (workdir / "tansu.log").exists()
        assert "killed by SIGKILL" in (workdir / "demo.log").read_text()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the demo stops its children in order
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def stored_records(url: str) -> int:
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM enforcement_events").fetchone()
        except psycopg.errors.UndefinedTable:  # the sink has not migrated the store yet
            return 0
    return int(row[0]) if row else 0


# ------------------------------------------------------------------ the summary itself

TERMINAL = os.terminal_size((100, 30))


def snapshot(**changes: object) -> Snapshot:
    figures: dict[str, object] = {
        "end_offsets": {"iot.readings": 900, "enforcement.events": 100, "risk.dlq": 6},
        "consumed": 950,
        "tiers": {"A": 1, "B": 2, "C": 3, "D": 4},
        "open_alerts": {"low": 0, "medium": 1, "high": 2, "critical": 3},
        "recent_tier_changes": [],
    }
    return Snapshot(**{**figures, **changes})  # type: ignore[arg-type]


def view(**changes: object) -> View:
    fields: dict[str, object] = {
        "header": "broker 127.0.0.1:1 (pid 1)",
        "elapsed": "00:01:00",
        "snapshot": snapshot(),
        "rates": {"iot.readings": 90.0, "enforcement.events": 10.0},
        "bad_ratio": 0.005,
    }
    return View(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_terminal_summary_is_painted_over_the_last_one_not_below_it() -> None:
    block = render(view())
    frame = redraw(block, TERMINAL)

    # From the top left, each line overwriting the old one to its end, then the
    # rest of the screen cleared: nothing scrolls, nothing piles up above.
    assert frame.startswith("\x1b[H")
    lines = frame.removeprefix("\x1b[H").removesuffix("\x1b[J").split("\n")
    assert lines == [line + "\x1b[K" for line in block.split("\n")]
    # Never "clear screen", which tmux and VTE push into the scrollback each time.
    assert "\x1b[2J" not in frame and not frame.startswith("\x1b[H\x1b[J")
    assert not frame.endswith("\n")


def test_a_summary_taller_than_the_terminal_is_cut_to_fit() -> None:
    block = "\n".join(["x" * 250] + [f"line {n}" for n in range(40)])  # the first wraps to 3 rows
    small = os.terminal_size((100, 12))

    shown = redraw(block, small).removeprefix("\x1b[H").split("\n")

    assert 3 + len(shown) - 1 == small.lines - 1  # one row spare: the screen never scrolls
    assert shown[-1].startswith("line 7")


def test_dead_letters_say_the_simulator_sends_bad_records_on_purpose() -> None:
    assert dead_letters(54, 10_000, 0.005) == (
        "dead letters 54 (the simulator sends 0.5% bad records on purpose, ≈50 so far)"
    )
    assert "sends 2% bad records" in dead_letters(3, 100, 0.02)
    assert dead_letters(3, 100, 0.0) == "dead letters 3 (the simulator sends no bad records)"
    # Both forms of the summary say so next to the count.
    assert "dead letters 6 (the simulator sends 0.5% bad records on purpose" in render(view())
    assert "dead letters 6 (the simulator sends 0.5% bad records on purpose" in compact(view())
    # Expected from what the worker has read: a lagging one has written fewer.
    lagging = snapshot(consumed=400)  # of 1,000 sent
    assert "on purpose, ≈2 so far" in render(view(snapshot=lagging))


def change(subject: str, at: str) -> dict[str, object]:
    reasons = [{"fact": "complaints_30d", "value": 20.0}]
    return {"subject": subject, "previous_tier": "B", "tier": "C", "score": 60.0,
            "effective_at": at, "reasons": reasons}  # fmt: skip


def test_latest_tier_changes_are_listed_newest_first_in_utc() -> None:
    # Redis holds them in the order they were written, partitions interleaved.
    written = [
        change("S-MIDDLE", "2026-12-01T10:00:05+00:00"),
        change("S-OLDEST", "2026-12-01T09:59:00+00:00"),
        change("S-NEWEST", "2026-12-01T18:30:00+08:00"),  # 10:30:00 UTC
        change("S-SECOND", "2026-12-01T10:20:00+00:00"),
    ]
    screen = render(view(snapshot=snapshot(recent_tier_changes=written)))

    heading = screen.index("latest tier changes, newest first:")
    listed = [line.split() for line in screen[heading:].splitlines()[1:5]]
    assert [words[2] for words in listed] == ["S-NEWEST", "S-SECOND", "S-MIDDLE", "S-OLDEST"]
    assert [words[0] for words in listed] == ["10:30:00", "10:20:00", "10:00:05", "09:59:00"]


def test_a_log_gets_one_compact_line_that_says_when_figures_are_stale() -> None:
    fresh = compact(view())
    stale = compact(view(stale="broker slow (KafkaTimeoutError: no answer)", age=12.4))

    assert "\n" not in fresh and "\x1b" not in fresh
    assert "processed 950 of 1,000 (lag 50)" in fresh and "stale" not in fresh
    assert stale.startswith("00:01:00  broker slow (KafkaTimeoutError: no answer)")
    assert "12 s old (stale)" in stale and "processed 950 of 1,000" in stale
    assert "figures are 12 s old (stale)" in render(view(stale="broker slow (x)", age=12.4))


class FlakyMonitor:
    """Answers, then fails as a paused broker does, then answers again."""

    def __init__(self) -> None:
        self.answers: list[Snapshot | Exception] = [
            snapshot(consumed=100),
            Unavailable("broker", KafkaTimeoutError("Failed to get offsets in 1000 ms")),
            Unavailable("broker", KafkaTimeoutError("Failed to get offsets in 1000 ms")),
            snapshot(consumed=200),
        ]

    def snapshot(self) -> Snapshot:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_slow_broker_leaves_the_last_figures_marked_stale_and_is_asked_again(
    tmp_path: Path,
) -> None:
    incidents = Incidents(tmp_path / "demo.log", time.monotonic(), echo=False)
    monitor, figures = FlakyMonitor(), Figures()

    def read() -> View:
        figures.read(monitor, incidents, refresh=2.0)  # type: ignore[arg-type]
        return figures.view("header", "00:00:10", 0.005, incidents.recent)

    assert read().stale is None
    for _ in range(2):
        slow = read()
        assert slow.snapshot is not None and slow.snapshot.consumed == 100
        assert slow.stale is not None and slow.stale.startswith("broker slow")
    again = read()
    assert again.stale is None and again.snapshot is not None and again.snapshot.consumed == 200

    # Said once when it started and once when it ended, in the summary and the log.
    assert len(incidents.recent) == 2 and "broker slow" in incidents.recent[0]
    assert "broker answering again" in incidents.recent[1]
    assert (tmp_path / "demo.log").read_text().count("broker slow") == 1


def wait_exited(child: ChildProcess) -> None:
    assert child.process is not None
    child.process.wait(timeout=60)


def test_a_child_that_keeps_exiting_at_start_is_given_up_with_its_status(
    tmp_path: Path,
) -> None:
    incidents = Incidents(tmp_path / "demo.log", time.monotonic(), echo=False)
    broken = ChildProcess("worker", ["no-such-command"], tmp_path).start()  # argparse: status 2
    supervisor = Supervisor([broken], incidents)
    try:
        for restart in range(2):
            wait_exited(broken)
            supervisor.check()
            assert "worker exited (exit status 2)" in incidents.recent[restart]
            assert f"restarted as pid {broken.pid}" in incidents.recent[restart]
        wait_exited(broken)
        with pytest.raises(EmbeddedError, match=r"(?s)worker exited 3 times in a row.*invalid"):
            supervisor.check()
    finally:
        broken.stop()


class OneSnapshot:
    def snapshot(self) -> Snapshot:
        return snapshot()


def test_the_first_figures_show_the_input_rate_since_the_demo_began(tmp_path: Path) -> None:
    """Into a pipe the first line comes after 30 s; it once said 'input 0/s'."""
    incidents = Incidents(tmp_path / "demo.log", time.monotonic(), echo=False)
    figures = Figures(latest_at=time.monotonic() - 10.0)  # topics created 10 s ago
    figures.read(OneSnapshot(), incidents, refresh=30.0)  # type: ignore[arg-type]
    shown = figures.view("header", "00:00:10", 0.005, incidents.recent)
    assert 99 < sum(shown.rates.values()) <= 100  # 1,000 input records in ~10 s
    assert "input 100/s" in compact(shown) or "input 99/s" in compact(shown)


def test_the_summary_shows_the_alert_budget_by_kind_over_the_traffic_processed() -> None:
    counts = Counter({(("rule", "tier_d", "critical"), "board"): 2,
                      (("rule", "complaint_surge", "medium"), "digests"): 1,
                      (("rule", "complaint_surge", "medium"), "in digests"): 9})  # fmt: skip
    # An hour at 300 records/s, one day's digests.
    budget = AlertBudget(10_000, 1 / 24, counts, records=1_080_000, digest_days=1)
    screen = render(view(snapshot=snapshot(budget=budget)))
    line = compact(view(snapshot=snapshot(budget=budget)))
    # 2 alerts in an hour for 10,000 subjects: 4.8 per 1,000 subjects per day; the
    # digest is the day's one item, not 24 of them.
    assert "alert budget    board items 4.9 per 1,000 subjects per day" in screen
    assert "board items by kind: rule 4.9  (over 1.00 h of traffic processed)" in screen
    assert "board items 4.9 per 1,000 subjects per day (alerts 4.8, digests 0.1)" in line
    assert "in digests 21.6" in line
