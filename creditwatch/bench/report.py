"""Benchmark rows, the printed table, the JSON file and the small arithmetic they share."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADERS = ("name", "value", "unit", "notes")


@dataclass(frozen=True, slots=True)
class Row:
    """One measured number. ``value`` is None when the phase could not measure it."""

    name: str
    value: float | None
    unit: str
    notes: str = ""


def rate(count: float, seconds: float) -> float | None:
    """Events per second, or None for an empty or instantaneous interval.

    >>> rate(1000, 0.5), rate(10, 0)
    (2000.0, None)
    """
    if seconds <= 0 or count <= 0:
        return None
    return count / seconds


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None if either is missing or the denominator is 0.

    >>> ratio(3000, 12000), ratio(None, 2.0), ratio(1.0, 0.0)
    (0.25, None, None)
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between order statistics.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([], 0.5)
    (2.5, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def format_value(value: float | None) -> str:
    """Readable numbers: thousands separators, three significant digits for small ones.

    >>> [format_value(v) for v in (123456.7, 42.0, 3.14159, 0.0123, None)]
    ['123,457', '42.0', '3.14', '0.0123', '—']
    """
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_table(rows: Iterable[Row]) -> str:
    """A plain-text table, values right-aligned, one row per line."""
    cells = [(r.name, format_value(r.value), r.unit, r.notes) for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(HEADERS)]

    def line(parts: Sequence[str]) -> str:
        name, value, unit, notes = parts
        return (
            f"{name.ljust(widths[0])}  {value.rjust(widths[1])}  {unit.ljust(widths[2])}  {notes}"
        ).rstrip()

    rule = "  ".join("-" * w for w in widths[:3]) + "  " + "-" * max(5, widths[3])
    return "\n".join([line(HEADERS), rule, *(line(c) for c in cells)])


@dataclass(frozen=True)
class CpuTimes:
    """All CPUs' time (jiffies) from ``/proc/stat``: in total and stolen by the hypervisor."""

    total: int
    steal: int

    @classmethod
    def now(cls) -> CpuTimes | None:
        try:
            with open("/proc/stat") as stat:
                fields = [int(f) for f in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal (guest time is already in user)
        return cls(sum(fields[:8]), fields[7]) if len(fields) >= 8 else None

    def steal_share_since(self, start: CpuTimes) -> float:
        """Share of CPU time a virtual machine's host took away since ``start``.

        >>> CpuTimes(1300, 300).steal_share_since(CpuTimes(1000, 150))
        0.5
        """
        elapsed = self.total - start.total
        return (self.steal - start.steal) / elapsed if elapsed > 0 else 0.0


def steal_note(start: CpuTimes | None) -> str:
    """``CPU steal 12%; `` for a row's notes when the host took CPU time; empty otherwise."""
    end = CpuTimes.now()
    if start is None or end is None:
        return ""
    share = end.steal_share_since(start)
    return f"CPU steal {share:.0%}; " if share >= 0.005 else ""


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def source_state() -> dict[str, Any]:
    """The commit measured and which pipeline files differed from it (work in progress)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "streams", "pipeline", "detectors", "topics")
    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def environment() -> dict[str, Any]:
    """What the numbers depend on: machine, load, interpreter, source."""
    return {
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "source": source_state(),
    }


def write_json(
    path: Path,
    rows: Sequence[Row],
    config: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """The rows and the run's configuration and environment, for later comparison."""
    document = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": dict(config),
        "environment": environment(),
        "rows": [asdict(row) for row in rows],
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
