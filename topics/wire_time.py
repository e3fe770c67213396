"""Times on the wire: ISO 8601 with an offset, converted to and from epoch seconds.

The detectors count in epoch seconds; contracts, the serving view and the
audit trail carry ISO 8601 text. One pair of conversions serves them all.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(at_s: float) -> str:
    """Epoch seconds as ISO 8601 in UTC, e.g. ``2026-03-02T00:00:00+00:00``."""
    return datetime.fromtimestamp(at_s, UTC).isoformat()


def epoch(text: str) -> float:
    """ISO 8601 text with an offset as epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def utc(at_s: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; None stays None."""
    return None if at_s is None else datetime.fromtimestamp(at_s, UTC)
