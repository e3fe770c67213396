"""Cross-region emerging risk: one 12315 complaint category surging in several counties at once.

Seed 十六 asks for 跨区域 risks to be found early. A batch of bad infant formula
or a chain of prepaid-card gyms closing shows up as the same complaint category
rising in county after county; each county's office sees only its own rise.

One :class:`CategorySeries` per complaint category holds, per county, a
bias-corrected exponentially weighted mean of daily counts (event-time days in
Asia/Shanghai) as the expected level, and today's running count. A county
surges when today's count reaches both the policy minimum and a multiple of its
expected level; enough surging counties on one day raise one finding. A day a
county surged is not learned, so a surge does not raise its own baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from detectors.policy import CrossRegionPolicy

STATE_FORMAT = 1
SHANGHAI_OFFSET_S = 8 * 3600  # China has one time zone and no daylight saving
DAY_S = 86_400
#: Days closed at once after a long silence; beyond this the baseline has decayed anyway.
MAX_CLOSED_DAYS = 366


def local_day(at_s: float) -> int:
    """The Asia/Shanghai calendar day of an event time, as days since 1970-01-01."""
    return int((at_s + SHANGHAI_OFFSET_S) // DAY_S)


def day_label(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


@dataclass(frozen=True, slots=True)
class CountySurge:
    county: str
    count: int  # today
    expected: float  # the county's usual daily count


@dataclass(frozen=True, slots=True)
class CrossRegionFinding:
    category: str
    day: int
    surges: tuple[CountySurge, ...]  # largest count first
    sector: str  # the sector most of today's complaints were about
    event_ids: tuple[str, ...]  # the latest complaint of each surging county


@dataclass(slots=True)
class CountySeries:
    weighted: float = 0.0  # EW sum of daily counts, not yet bias-corrected
    days: int = 0  # days learned
    today: int = 0
    surging: bool = False  # today
    last_event_id: str = ""

    def expected(self, decay: float) -> float:
        """The EW mean, corrected for starting from zero (as Adam's moments are)."""
        return self.weighted / (1 - decay**self.days) if self.days else 0.0

    def close_day(self, decay: float) -> None:
        if not self.surging:
            self.weighted = decay * self.weighted + (1 - decay) * self.today
            self.days += 1
        self.today, self.surging = 0, False


@dataclass(slots=True)
class CategorySeries:
    """Daily complaint counts of one category in every county that has had one."""

    day: int | None = None  # the day being counted
    days_closed: int = 0
    counties: dict[str, CountySeries] = field(default_factory=dict)
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
        # A county first seen now had zero complaints on every day learned so far.
        series = self.counties.setdefault(county, CountySeries(days=self.days_closed))
        series.today += count
        series.last_event_id = event_id
        self.sectors_today[sector] = self.sectors_today.get(sector, 0) + count
        if self.days_closed < policy.warmup_days:
            return None
        decay = _decay(policy)
        threshold = max(policy.surge_min, policy.surge_ratio * series.expected(decay))
        series.surging = series.surging or series.today >= threshold
        surging = {name: s for name, s in self.counties.items() if s.surging}
        if self.alerted_today or len(surging) < policy.min_counties:
            return None
        self.alerted_today = True
        surges = sorted(
            (
                CountySurge(name, s.today, round(s.expected(decay), 3))
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

    def _close_days(self, days: int, policy: CrossRegionPolicy) -> None:
        decay = _decay(policy)
        for _ in range(min(days, MAX_CLOSED_DAYS)):
            for series in self.counties.values():
                series.close_day(decay)
            self.days_closed += 1
        self.sectors_today.clear()
        self.alerted_today = False

    # --- encoding: JSON of plain values, never pickle (it crosses processes).
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
                    name: [s.weighted, s.days, s.today, s.surging, s.last_event_id]
                    for name, s in self.counties.items()
                },
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> CategorySeries:
        document = orjson.loads(data)
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown category-series format {document.get('format')!r}")
        return cls(
            day=document["day"],
            days_closed=int(document["days_closed"]),
            counties={
                name: CountySeries(float(w), int(d), int(t), bool(s), str(e))
                for name, (w, d, t, s, e) in document["counties"].items()
            },
            sectors_today={k: int(v) for k, v in document["sectors_today"].items()},
            alerted_today=bool(document["alerted_today"]),
            late=int(document["late"]),
        )


def _decay(policy: CrossRegionPolicy) -> float:
    """The weight a day's count keeps after one more day."""
    return float(2 ** (-1 / policy.half_life_days))
