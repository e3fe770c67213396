"""A fixed clock for reproducible simulator output in tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from creditwatch.simulation.traffic import SHANGHAI, SteppingClock

# In the past, so no event time trips the decoder's "not in the future" rule.
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SAMPLE_SIZE = 20_000


def fake_clock() -> SteppingClock:
    """5 ms of event time per record: 20k records span 100 s."""
    return SteppingClock(START, timedelta(milliseconds=5))
