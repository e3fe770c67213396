"""The record search's query string (streams/http/records.py): checked strictly, 400 if bad."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.archive.queries import encode_cursor
from streams.http.records import record_filters
from streams.http.web_access import BadRequest

ZONE = ZoneInfo("Asia/Shanghai")


def test_dates_are_days_in_the_city_and_lists_are_comma_separated():
    filters = record_filters(
        {
            "from": "2026-03-01",
            "to": "2026-04-01T00:00:00+08:00",
            "department": "taxation,market_regulation",
            "kind": "penalty",
            "published": "false",
            "limit": "20",
        },
        ZONE,
    )
    assert filters.since == datetime(2026, 3, 1, tzinfo=ZONE)
    assert filters.until == datetime(2026, 4, 1, tzinfo=ZONE)
    assert filters.departments == ("market_regulation", "taxation")
    assert filters.kinds == ("penalty",)
    assert filters.published is False and filters.limit == 20
    assert filters.described()["departments"] == ["market_regulation", "taxation"]


def test_no_filters_mean_everything_newest_first_fifty_at_a_time():
    filters = record_filters({}, ZONE)
    assert (filters.since, filters.until, filters.published, filters.limit) == (
        None,
        None,
        None,
        50,
    )


def test_a_cursor_given_out_is_taken_back():
    cursor = encode_cursor(["2026-03-02T08:00:00+00:00", "ev-1"])
    assert record_filters({"after": cursor}, ZONE).after == cursor


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"from": "yesterday"}, "from must be a date"),
        ({"to": "2026-03-01T08:00:00"}, "time zone"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to must be after from"),
        ({"department": "police"}, "department must be"),
        ({"kind": "penalty,arson"}, "kind must be"),
        ({"published": "yes"}, "published must be true or false"),
        ({"limit": "0"}, "limit must be 1..500"),
        ({"limit": "501"}, "limit must be 1..500"),
        ({"limit": "１０"}, "limit must be 1..500"),  # full-width digits
        ({"after": "bm9wZQ"}, "after is not a cursor"),
        ({"after": encode_cursor(["not a time", "x"])}, "after is not a cursor"),
    ],
)
def test_bad_filters_are_refused_with_the_reason(query, reason):
    with pytest.raises(BadRequest, match=reason):
        record_filters(query, ZONE)
