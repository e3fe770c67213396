"""Sample the worker with py-spy during the pipeline phase, and say where the time goes.

py-spy (``pip install py-spy``; needs ptrace rights, e.g. root or
``CAP_SYS_PTRACE``) writes folded stacks (``--format raw``): one line per
distinct stack, ``frame;frame;...;leaf COUNT``. From them we compute, per
function, its *self* share (samples where it is the leaf) and its *inclusive*
share (samples where it is anywhere on the stack), and per package the self
share of the code it owns. Idle samples (threads waiting in ``select``) are
not recorded, so shares are of busy time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: "function (path/to/file.py:123)"
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def py_spy_path() -> str | None:
    """py-spy next to this interpreter (a venv) or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_profiler(
    pid: int, out: Path, duration: float, rate: int = 200
) -> subprocess.Popen[bytes]:
    """Start ``py-spy record`` on ``pid`` for ``duration`` seconds, writing folded stacks."""
    exe = py_spy_path()
    if exe is None:
        raise RuntimeError("py-spy not found: pip install py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(out),
            "--duration",
            str(max(1, int(duration))),
            "--rate",
            str(rate),
            # Sampling without pausing the worker: a little skew, no slow-down.
            "--nonblocking",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


OURS = ("streams", "pipeline", "detectors", "topics", "creditwatch")
#: Frames every worker sample passes through (interpreter entry, CLI, mode's
#: worker): 100 % inclusive, they say nothing.
ENTRY_FUNCTIONS = frozenset(
    {
        "_run_module_as_main",
        "_run_code",
        "<module>",
        "main",
        "run",
        "Worker.execute_from_commandline",
    }
)


def package_of(path: str) -> str:
    """Which code a frame's file belongs to: a third-party package, ours, or the stdlib.

    py-spy shortens file names to their import path (``faust/tables/base.py``);
    full paths are handled too.

    >>> package_of("faust/tables/base.py"), package_of("/v/lib/python3.11/site-packages/mode/x.py")
    ('faust', 'mode')
    >>> package_of("detectors/state.py"), package_of("asyncio/base_events.py")
    ('detectors', 'stdlib:asyncio')
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if "site-packages" in parts:
        index = parts.index("site-packages")
        parts = parts[index + 1 :]
    elif path.startswith("/"):
        ours = [p for p in parts if p in OURS]
        if ours:
            return ours[0]
        parts = parts[-2:]
    if not parts:
        return "?"
    head = parts[0].removesuffix(".py")
    if head.startswith("<frozen") or head in sys.stdlib_module_names:
        return f"stdlib:{head.removeprefix('<frozen ').rstrip('>')}"
    return head


#: Frames that only schedule coroutines (agents, timers, threads): a sample's
#: task is named by the first frame below them.
WRAPPERS = frozenset(
    {
        "Agent._execute_actor",
        "Service._execute_task",
        "App._task.<locals>._wrapped",
        "App.timer.<locals>._inner.<locals>.around_timer",
        "Thread._bootstrap",
        "Thread._bootstrap_inner",
        "WorkerThread.run",
        "ServiceThread._serve",
    }
)
#: Functions whose callees are broken down in the summary (the hot agent).
BREAKDOWN = ("ingest", "ingest_one")


def parse_frame(frame: str) -> tuple[str, str, str, str] | None:
    """(function, short file, line, package) of one folded-stack frame, or None.

    >>> parse_frame("register.<locals>.refresh_profiles (streams/serving/view.py:377)")
    ('refresh_profiles', 'serving/view.py', '377', 'streams')
    """
    match = FRAME.match(frame.strip())
    if match is None:
        return None
    path = match["file"]
    short = "/".join(path.replace("\\", "/").split("/")[-2:])
    # A worker's agents, timers and pages are closures of their component's register().
    function = match["function"].removeprefix("register.<locals>.")
    return function, short, match["line"] or "", package_of(path)


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    samples: int
    self_share: list[tuple[str, float]]
    inclusive_share: list[tuple[str, float]]
    package_share: list[tuple[str, float]]
    own_line_share: list[tuple[str, float]]  # deepest creditwatch frame, with its line
    task_share: list[tuple[str, float]]  # first frame below the scheduling wrappers
    breakdowns: dict[str, list[tuple[str, float]]]  # function -> its callees' shares


def task_of(functions: list[str]) -> str:
    """The coroutine or thread a sample belongs to.

    >>> task_of(["main", "Worker.execute_from_commandline", "Agent._execute_actor", "ingest", "f"])
    'ingest'
    >>> task_of(["main", "Worker.execute_from_commandline"])
    '(event loop, native code)'
    """
    for name in functions:
        if name not in ENTRY_FUNCTIONS and name not in WRAPPERS:
            return name
    return "(event loop, native code)"


def summarise(lines: Iterable[str], top: int = 20) -> ProfileSummary:
    """Shares of busy samples, largest first.

    >>> main = "t;main (a/app.py:1)"
    >>> s = summarise([f"{main};f (streams/agents/ingest.py:5) 3", f"{main} 1"])
    >>> s.samples, s.self_share[0], s.inclusive_share[0]
    (4, ('f (agents/ingest.py)', 0.75), ('f (agents/ingest.py)', 0.75))
    >>> s.own_line_share
    [('f (agents/ingest.py:5)', 0.75), ('(outside creditwatch code)', 0.25)]
    """
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    own_lines: Counter[str] = Counter()
    tasks: Counter[str] = Counter()
    callees: dict[str, Counter[str]] = {name: Counter() for name in BREAKDOWN}
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # parse_frame drops py-spy's "process"/"thread" pseudo-frames: they are no code.
        frames = [f for f in (parse_frame(text) for text in stack.split(";")) if f is not None]
        if not frames:
            continue
        samples += count
        function, short, _, package = frames[-1]
        own[f"{function} ({short})"] += count
        packages[package] += count
        for label in {f"{f} ({s})" for f, s, _, _ in frames if f not in ENTRY_FUNCTIONS}:
            anywhere[label] += count
        for function, short, number, package in reversed(frames):
            if package in OURS and function not in ENTRY_FUNCTIONS:
                own_lines[f"{function} ({short}:{number})"] += count
                break
        else:
            own_lines["(outside creditwatch code)"] += count
        functions = [f for f, _, _, _ in frames]
        tasks[task_of(functions)] += count
        for name, counter in callees.items():
            if name in functions:
                below = len(functions) - 1 - functions[::-1].index(name) + 1
                counter[functions[below] if below < len(functions) else "(self)"] += count
    if samples == 0:
        return ProfileSummary(0, [], [], [], [], [], {})

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, n / samples) for name, n in counter.most_common(top)]

    return ProfileSummary(
        samples,
        shares(own),
        shares(anywhere),
        shares(packages),
        shares(own_lines),
        shares(tasks),
        {name: shares(counter) for name, counter in callees.items() if counter},
    )


def format_summary(summary: ProfileSummary) -> str:
    lines = [f"{summary.samples:,} busy samples"]
    sections = [
        ("time by task (agent, timer, Faust service; callees included)", summary.task_share),
        *(
            (f"inside {name}() by callee (share of all busy time)", entries)
            for name, entries in summary.breakdowns.items()
        ),
        ("self time by package", summary.package_share),
        ("self time by function", summary.self_share),
        ("inclusive time by function", summary.inclusive_share),
        ("time by deepest creditwatch line (callees included)", summary.own_line_share),
    ]
    for title, entries in sections:
        lines.append(f"\n{title}:")
        lines.extend(f"  {share:6.1%}  {name}" for name, share in entries)
    return "\n".join(lines)
