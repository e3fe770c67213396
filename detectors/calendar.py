"""The working-day calendar every supervision deadline is counted in.

Administrative time limits run in working days (SAMR Order 20's "7 working
days"), and a period whose last day is not a working day ends on the next
working day. Holidays and the weekend days made working days in exchange
(调休) are policy: they change every year, so they live in the policy file.

Days are calendar days in the supervising city's time zone; a deadline is due
at the end of its day, so anything that happens on the day is in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    timezone: ZoneInfo
    holidays: frozenset[date]
    working_weekend_days: frozenset[date]  # 调休: weekend days worked instead

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY or day in self.working_weekend_days

    def local_date(self, at_s: float) -> date:
        return datetime.fromtimestamp(at_s, self.timezone).date()

    def start_of_day_s(self, day: date) -> float:
        """Midnight at the start of ``day`` (epoch seconds)."""
        return datetime.combine(day, time(), self.timezone).timestamp()

    def end_of_day_s(self, day: date) -> float:
        """The end of ``day``: the next day's midnight. Anything before it is on time."""
        return self.start_of_day_s(day + timedelta(days=1))

    def days_after_s(self, at_s: float, days: float) -> float:
        """Midnight starting the day ``days`` calendar days after the day of ``at_s``."""
        return self.start_of_day_s(self.local_date(at_s) + timedelta(days=round(days)))

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself does not count)."""
        if count < 0:
            raise ValueError("count must not be negative")
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def due_s(self, deadline_s: float) -> float:
        """When a deadline given as an instant is really due: the end of its day,
        moved to the next working day if that day is not one."""
        return self.end_of_day_s(self.next_working_day(self.local_date(deadline_s)))

    def due_after_working_days(self, start_s: float, count: int) -> float:
        """The end of the ``count``-th working day after the day of ``start_s``."""
        return self.end_of_day_s(self.add_working_days(self.local_date(start_s), count))

    def due_working_days_after_due(self, due_s: float, count: int) -> float:
        """Like :meth:`due_after_working_days`, counted from the day a due time ends
        (a due time is the midnight *after* its day)."""
        return self.due_after_working_days(due_s - 1, count)

    def iso_date(self, at_s: float) -> str:
        return self.local_date(at_s).isoformat()
