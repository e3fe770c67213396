"""Requests to create a silence: what is accepted, and what is refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topics.silences import MAX_SILENCE, silence_from_request
from topics.validation import InvalidRecord, Reason

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
MATCHERS = {"region": "130102"}


def request(**fields: object) -> dict[str, object]:
    return {"matchers": MATCHERS, "reason": "planned inspection", **fields}


def test_a_silence_for_a_duration_starts_now_and_ends_that_many_minutes_later():
    silence = silence_from_request(request(duration_minutes=90), "centre", NOW)
    assert (silence.starts_at, silence.ends_at) == (NOW, NOW + timedelta(minutes=90))


def test_a_planned_silence_may_start_later_within_the_longest_silence():
    starts = NOW + MAX_SILENCE
    silence = silence_from_request(
        request(starts_at=starts.isoformat(), duration_minutes=60), "centre", NOW
    )
    assert silence.starts_at == starts


@pytest.mark.parametrize(
    "starts_at",
    [
        "9999-12-31T00:00:00+00:00",  # plus any duration would overflow the calendar
        (NOW + MAX_SILENCE + timedelta(minutes=1)).isoformat(),
    ],
)
@pytest.mark.parametrize(
    "end", [{"duration_minutes": 60}, {"ends_at": "9999-12-31T23:00:00+00:00"}]
)
def test_a_silence_starting_beyond_the_longest_silence_is_refused_not_a_server_error(
    starts_at: str, end: dict[str, object]
):
    with pytest.raises(InvalidRecord) as refused:
        silence_from_request(request(starts_at=starts_at, **end), "centre", NOW)
    assert refused.value.reason == Reason.OUT_OF_RANGE
    assert refused.value.field == "starts_at"
