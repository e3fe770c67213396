"""Subject-state size: bytes per ``SubjectState.to_bytes()`` and memory for N subjects.

Realistic states come from driving :func:`pipeline.subject.process` in
process with simulator records over a pool of subjects (no broker). A
state's size depends on its own history only, not on how many other subjects
exist, so 100k or 1M subjects are held by resampling the pool's encoded
states into distinct objects, in a fresh child process per count so the
resident set measured is the dict's alone::

    python -m creditwatch.bench.state_size --pool FILE --count 100000 --form bytes

``bytes`` holds ``{uscc: state bytes}`` as the worker's ``memory://`` table
store does; ``objects`` holds decoded ``SubjectState`` objects.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from creditwatch.bench.report import percentile
from creditwatch.simulation import SHANGHAI, Simulator, SteppingClock
from detectors.policy import default_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.subject import process
from streams.settings import Settings
from topics.decode import Rejected, decode_input

POOL_START = datetime(2026, 1, 1, tzinfo=SHANGHAI)
FORMS = ("bytes", "objects")


@dataclass(frozen=True, slots=True)
class SizeStats:
    subjects: int  # distinct subjects in the pool
    events: int
    mean_bytes: float
    p99_bytes: float
    max_bytes: int


@dataclass(frozen=True, slots=True)
class RssResult:
    count: int
    form: str
    rss_bytes: int  # growth of the resident set while building the dict

    @property
    def per_subject(self) -> float:
        return self.rss_bytes / self.count if self.count else 0.0


def simulate_pool(
    subjects: int,
    events: int,
    *,
    seed: int = 1,
    span_days: float = 30.0,
    progress: Callable[[int], None] | None = None,
) -> list[bytes]:
    """Encoded states after ``events`` simulator records spread over ``span_days``.

    Thirty days by default: the complaint window's horizon, so windows fill as
    they would in production. Subjects get events as the simulator hands them
    out: a few risky ones many, most clean ones a handful.
    """
    step = timedelta(days=span_days) / max(events, 1)
    simulator = Simulator(seed=seed, subjects=subjects, clock=SteppingClock(POOL_START, step))
    context = StepContext(default_policy(), Settings.from_env().pseudonym_secret())
    states: dict[bytes, SubjectState] = {}
    for index in range(events):
        record = simulator.next_record()
        decoded = decode_input(record.topic, record.key, record.value)
        if isinstance(decoded, Rejected):
            continue
        states[record.key], _ = process(states.get(record.key), decoded, context)
        if progress is not None and index % 20_000 == 0:
            progress(index)
    return [state.to_bytes() for state in states.values()]


def size_stats(pool: list[bytes], events: int) -> SizeStats:
    sizes = [len(value) for value in pool]
    return SizeStats(
        subjects=len(pool),
        events=events,
        mean_bytes=sum(sizes) / len(sizes) if sizes else 0.0,
        p99_bytes=percentile(sizes, 0.99) or 0.0,
        max_bytes=max(sizes, default=0),
    )


def synthetic_key(index: int) -> bytes:
    """An 18-byte USCC-shaped key, distinct per index (the worker does not validate keys)."""
    return b"91130100%010d" % index


def process_rss(pid: int | str = "self") -> int | None:
    """Resident set size of a process now, from /proc (Linux); None where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def current_rss() -> int:
    """This process's resident set size now, from /proc (Linux); peak RSS elsewhere."""
    rss = process_rss()
    return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def hold(pool: list[bytes], count: int, form: str) -> tuple[dict[bytes, object], int]:
    """Build the dict of ``count`` distinct states; return it and the RSS growth."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}")
    gc.collect()
    before = current_rss()
    held: dict[bytes, object] = {}
    size = len(pool)
    for index in range(count):
        value = pool[index % size]
        # bytes(bytearray(...)) copies: every subject owns its value, as in the store.
        held[synthetic_key(index)] = (
            bytes(bytearray(value)) if form == "bytes" else SubjectState.from_bytes(value)
        )
    gc.collect()
    return held, current_rss() - before


def write_pool(pool: list[bytes], path: Path) -> None:
    # Length-prefixed: state encodings are binary and may contain any byte.
    path.write_bytes(b"".join(len(value).to_bytes(4, "big") + value for value in pool))


def read_pool(path: Path) -> list[bytes]:
    """The states :func:`write_pool` wrote.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_pool([b"a\\nb", b"", b"\\x00"], Path(tmp) / "p")
    ...     read_pool(Path(tmp) / "p")
    [b'a\\nb', b'', b'\\x00']
    """
    data = path.read_bytes()
    pool, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        pool.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return pool


def measure_rss(pool_path: Path, count: int, form: str, timeout: float = 900.0) -> RssResult:
    """RSS growth of a fresh interpreter holding ``count`` states (child process)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "creditwatch.bench.state_size",
            "--pool",
            str(pool_path),
            "--count",
            str(count),
            "--form",
            form,
        ],
        capture_output=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        tail = completed.stderr.decode(errors="replace").strip()[-1500:]
        raise RuntimeError(f"state holder exited with {completed.returncode}:\n{tail}")
    report = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    return RssResult(count=count, form=form, rss_bytes=int(report["rss_bytes"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="hold N subject states and report RSS growth")
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--form", choices=FORMS, default="bytes")
    args = parser.parse_args(argv)
    _, grown = hold(read_pool(args.pool), args.count, args.form)
    print(json.dumps({"count": args.count, "form": args.form, "rss_bytes": grown}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
