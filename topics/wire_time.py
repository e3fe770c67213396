"""Times on the wire: ISO 8601 with an offset, converted to and from epoch seconds.

The detectors count in epoch seconds; contracts, the serving view and the
audit trail carry ISO 8601 text. One pair of conversions serves them all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


def iso(at_s: float) -> str:
    """Epoch seconds as ISO 8601 in UTC, e.g. ``2026-03-02T00:00:00+00:00``."""
    return datetime.fromtimestamp(at_s, UTC).isoformat()


def epoch(text: str) -> float:
    """ISO 8601 text with an offset as epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def utc(at_s: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; None stays None."""
    return None if at_s is None else datetime.fromtimestamp(at_s, UTC)


def moment(text: str, zone: tzinfo) -> datetime:
    """A time a person gives: a date (the start of that day in ``zone``) or an ISO 8601
    time with its offset; a ValueError says what is wrong.

    >>> from zoneinfo import ZoneInfo
    >>> moment("2026-11-01", ZoneInfo("Asia/Shanghai")).isoformat()
    '2026-11-01T00:00:00+08:00'
    >>> moment("2026-11-01T08:00:00Z", UTC).isoformat()
    '2026-11-01T08:00:00+00:00'
    >>> moment("2026-11-01T08:00", UTC)
    Traceback (most recent call last):
    ...
    ValueError: needs a time zone (e.g. +08:00 or Z): '2026-11-01T08:00'
    """
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone)
        given = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must be a date (2026-03-01) or an ISO 8601 time: {text!r}") from None
    if given.tzinfo is None:
        raise ValueError(f"needs a time zone (e.g. +08:00 or Z): {text!r}")
    return given
