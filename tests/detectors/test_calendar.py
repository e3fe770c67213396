"""The working-day calendar: holidays, make-up working days, deadlines at the end of the day."""

from __future__ import annotations

from datetime import date, datetime

from detectors.policy import load_policy

CALENDAR = load_policy().supervision.calendar
TZ = CALENDAR.timezone


def at(*args: int) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def test_a_deadline_on_a_holiday_is_due_at_the_end_of_the_next_working_day() -> None:
    # National Day 2026: 1–7 October are holidays; the 8th is a Thursday.
    assert CALENDAR.due_s(at(2026, 10, 1, 12)) == at(2026, 10, 9)


def test_a_deadline_on_a_working_day_is_due_at_midnight_after_it() -> None:
    assert CALENDAR.due_s(at(2026, 9, 30, 8, 30)) == at(2026, 10, 1)
    assert CALENDAR.due_s(at(2026, 9, 30, 23, 59)) == at(2026, 10, 1)


def test_an_ordinary_weekend_deadline_moves_to_monday() -> None:
    assert CALENDAR.due_s(at(2026, 11, 28, 12)) == at(2026, 12, 1)  # Saturday → Monday 30th


def test_a_make_up_weekend_day_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2026, 10, 10))  # Saturday, worked in exchange
    assert not CALENDAR.is_working_day(date(2026, 10, 11))
    assert CALENDAR.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_working_days_skip_the_whole_holiday() -> None:
    # 7 working days from Tuesday 29 September: 30 Sep, 8, 9, 10 (Sat, worked), 12, 13, 14 Oct.
    assert CALENDAR.add_working_days(date(2026, 9, 29), 7) == date(2026, 10, 14)
    assert CALENDAR.due_after_working_days(at(2026, 9, 29, 15), 7) == at(2026, 10, 15)
