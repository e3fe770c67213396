"""What an idle worker and the broker it polls cost: CPU time over a quiet interval.

Read from ``/proc/PID/stat`` (user + system time of every thread of the
process), so it needs Linux and nothing else; a process that is gone reads
as None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used so far (all its threads), or None.

    >>> cpu_seconds(os.getpid()) is not None
    True
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def core_shares(pids: Mapping[str, int], seconds: float) -> dict[str, float | None]:
    """Each process's CPU time over the next ``seconds``, as a share of one core."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    shares: dict[str, float | None] = {}
    for name, pid in pids.items():
        start, end = before[name], cpu_seconds(pid)
        shares[name] = None if start is None or end is None else (end - start) / elapsed
    return shares
