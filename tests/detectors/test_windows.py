"""Bucketed event-time windows: what counts as "in the last 7 days / 30 days / 24 hours"."""

from __future__ import annotations

from detectors.windows import DAY_S, HOUR_S, BucketCounts
from tests.factories import T0_S

# Start of the UTC day containing T0, so bucket boundaries are easy to reason about.
DAY0 = (T0_S // DAY_S) * DAY_S


def days(horizon: int) -> BucketCounts:
    return BucketCounts(bucket_s=DAY_S, horizon=horizon)


def test_counts_accumulate_per_label() -> None:
    window = days(30)
    for label in ("price", "price", "food_safety"):
        window.add(DAY0 + 3600, label)
    assert window.total() == 3
    assert window.total(label="price") == 2
    assert window.by_label() == {"price": 2, "food_safety": 1}


def test_seven_day_window_keeps_seven_days() -> None:
    window = days(7)
    window.add(DAY0, "x")
    window.add(DAY0 + 6 * DAY_S, "x")  # day 6: days 0..6 are the last seven
    assert window.total() == 2
    window.add(DAY0 + 7 * DAY_S, "x")  # day 7: day 0 falls out
    assert window.total() == 2
    assert window.by_label() == {"x": 2}


def test_thirty_day_window_evicts_day_zero_on_day_thirty() -> None:
    window = days(30)
    window.add(DAY0 + 10, "x")
    window.add(DAY0 + 29 * DAY_S, "y")
    assert window.by_label() == {"x": 1, "y": 1}
    window.add(DAY0 + 30 * DAY_S + 10, "y")
    assert window.by_label() == {"y": 2}


def test_twenty_four_hour_window_counts_whole_hours() -> None:
    window = BucketCounts(bucket_s=HOUR_S, horizon=24)
    window.add(DAY0 + 5 * 60)  # 00:05
    window.add(DAY0 + 23 * HOUR_S + 59 * 60)  # 23:59, same 24 hours
    assert window.total() == 2
    window.add(DAY0 + 24 * HOUR_S)  # 00:00 the next day: the 00:xx hour falls out
    assert window.total() == 2


def test_late_event_inside_the_horizon_counts() -> None:
    window = days(7)
    window.add(DAY0 + 6 * DAY_S, "x")
    window.add(DAY0 + 1 * DAY_S, "x")  # five days late, still within the last seven days
    assert window.total() == 2
    assert window.total(since_s=DAY0 + 6 * DAY_S) == 1


def test_late_event_outside_the_horizon_is_ignored_and_does_not_rewind() -> None:
    window = days(7)
    window.add(DAY0 + 10 * DAY_S, "x")
    window.add(DAY0 + 3 * DAY_S, "x")  # older than the last seven days
    assert window.total() == 1
    # The window did not move back: an event on day 4 is still accepted ...
    window.add(DAY0 + 4 * DAY_S, "x")
    assert window.total() == 2
    # ... and the newest day still decides eviction.
    window.add(DAY0 + 11 * DAY_S, "x")
    assert window.total() == 2  # day 4 fell out, day 11 came in


def test_since_selects_whole_buckets_from_the_given_time() -> None:
    window = days(30)
    for day in (0, 1, 2, 3):
        window.add(DAY0 + day * DAY_S + 60, "x")
    # Midday of day 2: buckets are whole days, so all of day 2 counts.
    assert window.total(since_s=DAY0 + 2 * DAY_S + DAY_S / 2) == 2
    assert window.by_label(since_s=DAY0 + 3 * DAY_S) == {"x": 1}


def test_add_with_count() -> None:
    window = days(7)
    window.add(DAY0, "x", count=5)
    assert window.total(label="x") == 5


def test_memory_is_bounded_by_horizon_and_labels() -> None:
    window = days(7)
    labels = ("a", "b", "c")
    for hour in range(24 * 400):  # more than a year of hourly events
        window.add(DAY0 + hour * HOUR_S, labels[hour % 3])
    assert len(window.counts) <= 7 * len(labels)
    assert window.total() == 7 * 24  # the last seven whole days, every hour


def test_round_trip_through_list_keeps_counts_and_horizon() -> None:
    window = days(7)
    for day in (0, 4, 9):
        window.add(DAY0 + day * DAY_S, f"d{day}")
    restored = days(7)
    restored.load_list(window.to_list())
    assert restored.counts == window.counts
    # The restored window still knows its newest day: a too-late event stays out.
    restored.add(DAY0 + 2 * DAY_S, "late")
    assert restored.by_label() == {"d4": 1, "d9": 1}


def test_empty_round_trip() -> None:
    restored = days(7)
    restored.load_list(days(7).to_list())
    restored.add(DAY0, "x")
    assert restored.total() == 1
