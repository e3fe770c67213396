"""Cross-region emerging risk: one 12315 complaint category surging in several counties at once.

Seed 十六 asks for 跨区域 risks to be found early. A batch of bad infant formula
or a chain of prepaid-card gyms closing shows up as the same complaint category
rising in county after county; each county's office sees only its own rise.

One :class:`CategorySeries` per complaint category forecasts each county's
daily count (event-time days in Asia/Shanghai) from River windows
(:class:`~river.utils.Rolling` of :class:`~river.stats.Mean`):

* per county, the mean daily count over its last ``baseline_days`` days: a
  proper mean from the first day on (an exponential smoothing that starts from
  one value is not), and over whole weeks it averages the week out;
* the week's season, from the same windows: every county learns every day, so
  their windows line up day by day, and the category's complaints on this
  weekday against what its mean day predicts for as many days give today's
  factor, both plus ``season_prior_complaints`` complaints of "no season" (so
  a busy category's weekday speaks for itself after one week, a quiet one's
  few complaints move its factor little);
* per category, the overdispersion ``k`` over the last ``baseline_days`` days:
  each day's ``Σ ((count - expected)² - expected) / Σ expected²`` over the
  counties with a usual flow, so that a day's count varies as
  ``expected + k expected²`` (a Poisson count of a gamma-varying rate; ``k = 0``
  is Poisson).

A county surges when today's running count reaches the policy's minimum and
its tail surprise under that forecast (:mod:`detectors.count_tails`, a
negative binomial of that mean and variance) reaches ``surge_surprise``. A
busy county thus needs many more complaints than a quiet one, but not a fixed
multiple of its level, and a Sunday is judged against Sundays. Enough surging
counties on one day raise one finding. Prequential: a day is judged on the
forecast made before it, and a county's surging day is learned as that
forecast, not as its count, so a surge does not raise its own baseline.

The River windows are written through the allow-listed codec
(:mod:`detectors.river_codec`); a county holds ``baseline_days`` numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from river import stats, utils

from detectors import river_codec
from detectors.count_tails import surprise
from detectors.policy import CrossRegionPolicy

STATE_FORMAT = 2
#: Format 1 (bias-corrected exponential means) is converted on load.
READABLE_FORMATS = (1, 2)
SHANGHAI_OFFSET_S = 8 * 3600  # China has one time zone and no daylight saving
DAY_S = 86_400
DAYS_PER_WEEK = 7
#: Days closed at once after a long silence; beyond this the baseline has decayed anyway.
MAX_CLOSED_DAYS = 366
#: A county's expected count below this takes no part in estimating the dispersion:
#: the residuals of near-empty days say little about it.
DISPERSION_MIN_EXPECTED = 1.0
#: A River window of the last days' values and their mean.
Window = utils.Rolling[stats.Mean]


def local_day(at_s: float) -> int:
    """The Asia/Shanghai calendar day of an event time, as days since 1970-01-01."""
    return int((at_s + SHANGHAI_OFFSET_S) // DAY_S)


def day_label(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


@dataclass(frozen=True, slots=True)
class CountySurge:
    county: str
    count: int  # today
    expected: float  # the county's forecast count for today
    surprise: float  # -log10 of the chance of ``count`` or more under the forecast


@dataclass(frozen=True, slots=True)
class CrossRegionFinding:
    category: str
    day: int
    surges: tuple[CountySurge, ...]  # largest count first
    sector: str  # the sector most of today's complaints were about
    event_ids: tuple[str, ...]  # the latest complaint of each surging county


def _window(size: int) -> Window:
    return utils.Rolling(stats.Mean, window_size=size)


@dataclass(slots=True)
class CountySeries:
    """One county's recent daily counts and today's running count."""

    days: Window  # of stats.Mean: the county's last days' counts
    today: int = 0
    surging: bool = False  # today
    last_event_id: str = ""

    def base(self) -> float:
        """The county's mean daily count, season aside (0 before it has history)."""
        return self.days.obj.get()


@dataclass(slots=True)
class CategorySeries:
    """Daily complaint counts of one category in every county that has had one."""

    day: int | None = None  # the day being counted
    days_closed: int = 0
    counties: dict[str, CountySeries] = field(default_factory=dict)
    dispersion: Window | None = None  # of each day's overdispersion k
    season: float = 1.0  # today's factor, from the windows as the last day closed
    sectors_today: dict[str, int] = field(default_factory=dict)
    alerted_today: bool = False
    late: int = 0  # complaints from a day already closed: counted here, not in a county

    def add(
        self,
        category: str,
        county: str,
        sector: str,
        at_s: float,
        count: int,
        event_id: str,
        policy: CrossRegionPolicy,
    ) -> CrossRegionFinding | None:
        """Count ``count`` complaints; return a finding when enough counties surge today."""
        day = local_day(at_s)
        if self.day is None:
            self.day = day
        if day < self.day:
            self.late += count
            return None
        if day > self.day:
            self._close_days(day - self.day, policy)
            self.day = day
        series = self.counties.get(county)
        if series is None:
            series = self.counties[county] = self._new_county(policy)
        series.today += count
        series.last_event_id = event_id
        self.sectors_today[sector] = self.sectors_today.get(sector, 0) + count
        if self.days_closed < policy.warmup_days:
            return None
        if series.surging or series.today < policy.surge_min:
            return None  # the counties surging today are as they were
        # Marked even after today's alert: a surging county-day is not learned as a day.
        series.surging = self.surprise(series, policy) >= policy.surge_surprise
        if not series.surging or self.alerted_today:
            return None
        surging = {name: s for name, s in self.counties.items() if s.surging}
        if len(surging) < policy.min_counties:
            return None
        self.alerted_today = True
        surges = sorted(
            (
                CountySurge(
                    name,
                    s.today,
                    round(self.expected(s, policy), 3),
                    round(self.surprise(s, policy), 1),
                )
                for name, s in surging.items()
            ),
            key=lambda surge: (-surge.count, surge.county),
        )
        return CrossRegionFinding(
            category=category,
            day=day,
            surges=tuple(surges),
            sector=max(self.sectors_today.items(), key=lambda item: (item[1], item[0]))[0],
            event_ids=tuple(surging[s.county].last_event_id for s in surges),
        )

    def expected(self, series: CountySeries, policy: CrossRegionPolicy) -> float:
        """The county's forecast count for the day being counted."""
        return max(series.base() * self.season_factor(), policy.min_expected)

    def surprise(self, series: CountySeries, policy: CrossRegionPolicy) -> float:
        expected = self.expected(series, policy)
        return surprise(series.today, expected, expected + self.overdispersion() * expected**2)

    def season_factor(self) -> float:
        """Today's share of a usual day (1 before the first day closes)."""
        return self.season

    def _weekly_factor(self, policy: CrossRegionPolicy) -> float:
        """The day being counted's factor: the category's complaints on its weekday against what
        its mean day predicts for as many days, over the days the windows hold."""
        assert self.day is not None
        held = max((len(s.days.window) for s in self.counties.values()), default=0)
        # The windows line up (every county learns every day), so the category's mean day is
        # the sum of the counties' means, and slot i of each holds the day held - i days ago.
        mean = sum(s.base() for s in self.counties.values())
        if not held or mean <= 0:
            return 1.0
        slots = range(held - DAYS_PER_WEEK, -1, -DAYS_PER_WEEK)
        if not slots:
            return 1.0
        weekday_total = sum(s.days.window[i][0][0] for s in self.counties.values() for i in slots)
        same = len(slots)
        # A Poisson-gamma estimate: the weekday's complaints against what a usual day's rate
        # predicts for as many days, both plus ``season_prior_complaints`` complaints of
        # "no season". A busy category's weekday speaks for itself after one week; a quiet
        # one's few complaints move its factor little.
        prior = policy.season_prior_complaints
        return (weekday_total + prior) / (same * mean + prior)

    def overdispersion(self) -> float:
        """``k`` of the day-to-day variance ``expected + k expected²`` (0 until learned)."""
        return 0.0 if self.dispersion is None else max(0.0, self.dispersion.obj.get())

    def _follow(self, policy: CrossRegionPolicy) -> None:
        """Take the policy's window length if it changed since the state was written (a
        worker restarted with a new policy file), keeping the most recent values."""
        for series in self.counties.values():
            series.days = _resized(series.days, policy.baseline_days)
        if self.dispersion is not None:
            self.dispersion = _resized(self.dispersion, policy.baseline_days)

    def _new_county(self, policy: CrossRegionPolicy) -> CountySeries:
        """A county first seen now had zero complaints on every day learned so far."""
        series = CountySeries(_window(policy.baseline_days))
        for _ in range(min(self.days_closed, policy.baseline_days)):
            series.days.update(0.0)
        return series

    def _close_days(self, days: int, policy: CrossRegionPolicy) -> None:
        for _ in range(min(days, MAX_CLOSED_DAYS)):
            self._close_day(policy)
        self.sectors_today.clear()
        self.alerted_today = False

    def _close_day(self, policy: CrossRegionPolicy) -> None:
        """Learn the day's counts: prequential, each judged on the forecast made before it."""
        assert self.day is not None
        self._follow(policy)
        excess = squares = 0.0
        for series in self.counties.values():
            expected = series.base() * self.season
            if series.surging:
                series.days.update(expected)  # the forecast, not the surge
            else:
                if expected >= DISPERSION_MIN_EXPECTED:
                    # The forecast is a mean of ``held`` days: its own error inflates the
                    # residual by about 1 + 1 / held, which is not the days' dispersion.
                    held = len(series.days.window)
                    excess += (series.today - expected) ** 2 * held / (held + 1) - expected
                    squares += expected**2
                series.days.update(float(series.today))
            series.today, series.surging = 0, False
        if squares:
            if self.dispersion is None:
                self.dispersion = _window(policy.baseline_days)
            self.dispersion.update(excess / squares)
        self.days_closed += 1
        self.day += 1
        self.season = self._weekly_factor(policy)

    # --- encoding: JSON, the River parts through the allow-listed codec, never pickle.
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": STATE_FORMAT,
                "day": self.day,
                "days_closed": self.days_closed,
                "alerted_today": self.alerted_today,
                "late": self.late,
                "sectors_today": self.sectors_today,
                "counties": {
                    name: [
                        river_codec.encode(s.days)["params"]["window_size"],
                        river_codec.encode(s.days)["state"],
                        s.today,
                        s.surging,
                        s.last_event_id,
                    ]
                    for name, s in self.counties.items()
                },
                "season": self.season,
                "dispersion": None
                if self.dispersion is None
                else river_codec.encode(self.dispersion),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> CategorySeries:
        document = orjson.loads(data)
        version = document.get("format") if isinstance(document, dict) else None
        if version not in READABLE_FORMATS:
            raise ValueError(f"unknown category-series format {version!r}")
        if version == 1:
            return _from_format_1(document)
        counties = {}
        for name, (size, state, today, surging, event_id) in document["counties"].items():
            days = _decode_window({"window_size": size}, state)
            counties[str(name)] = CountySeries(days, int(today), bool(surging), str(event_id))
        dispersion = document["dispersion"]
        return cls(
            day=document["day"],
            days_closed=int(document["days_closed"]),
            counties=counties,
            season=river_codec.to_float(document["season"], "season"),
            dispersion=None
            if dispersion is None
            else river_codec.decode(dispersion, utils.Rolling),
            sectors_today={str(k): int(v) for k, v in document["sectors_today"].items()},
            alerted_today=bool(document["alerted_today"]),
            late=int(document["late"]),
        )


def _decode_window(params: dict[str, Any], state: Any) -> Window:
    data = {"type": ROLLING, "params": params, "state": state}
    return river_codec.decode(data, utils.Rolling)


def _resized(window: Window, size: int) -> Window:
    """``window`` itself if it has ``size``, else a window of ``size`` of its latest values."""
    if window.window_size == size:
        return window
    resized = _window(size)
    for (x,), _ in list(window.window)[-size:]:
        resized.update(x)
    return resized


ROLLING = "river.utils.Rolling"
#: The window a format-1 state is converted to (the baseline of the policy that replaced it).
FORMAT_1_WINDOW_DAYS = 28
#: The half-life format 1 was written with (the policy of 2026.11-5).
FORMAT_1_HALF_LIFE_DAYS = 14


def _from_format_1(document: dict[str, Any]) -> CategorySeries:
    """Format 1's exponentially weighted means as windows with the same mean.

    A county's window holds its old expected level once per day learned (at most
    a window's worth), so it forecasts what format 1 did and then learns day by
    day. The half-life format 1 was written with is not in its state: the
    policy's of its time (14 days) recovers its levels. Format 1 kept no season
    and no dispersion; they start afresh.
    """
    decay = 2 ** (-1 / FORMAT_1_HALF_LIFE_DAYS)
    counties = {}
    for name, (weighted, days, today, surging, event_id) in document["counties"].items():
        window = _window(FORMAT_1_WINDOW_DAYS)
        if int(days) > 0:
            level = float(weighted) / (1 - decay ** int(days))
            for _ in range(min(int(days), FORMAT_1_WINDOW_DAYS)):
                window.update(level)
        counties[str(name)] = CountySeries(window, int(today), bool(surging), str(event_id))
    return CategorySeries(
        day=document["day"],
        days_closed=int(document["days_closed"]),
        counties=counties,
        sectors_today={str(k): int(v) for k, v in document["sectors_today"].items()},
        alerted_today=bool(document["alerted_today"]),
        late=int(document["late"]),
    )
