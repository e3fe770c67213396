"""Cross-region surges: one complaint category jumping in several counties on the same day.

Only the categories that are never a sector's top category are used (drug
safety, price, advertising, counterfeit, weights and measures): the simulator's
own complaint bursts always hit a sector's top category, so the city's traffic
cannot surge in these by itself, and an alert in them is either an injected
surge or a false positive.

To make the baselines worth learning, each of these categories also has an
everyday **flow** in one to three counties: 2–8 complaints a working day about
the county's own merchants, fewer at weekends (a weekly season of 30–80 %), and
varying from day to day more than a Poisson count would (a gamma-mixed rate:
variance ``m + m²/8`` for a day's mean ``m``). Elsewhere the category is quiet.

A surge reaches the policy's minimum of counties or up to two more, mixing
quiet counties and counties with a flow:

* in a quiet county, the policy's minimum plus 0–4 complaints (at the
  boundary the policy sets for a county with no history);
* in a county with a flow, that day's mean plus 5–8 times its spread
  (whichever is larger): a busy county's surge is larger in count but not in
  multiples of its usual level, where a ratio rule misses it.

Surges start after the policy's warm-up. Controls, on other days: the same
kind of surge in too few counties, and an *elevated* day in enough counties
(a flow at 1–2.5 spreads up, a quiet county just under the minimum).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from creditwatch.evaluation.scenario_cast import COUNTIES, Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    cross_region_key,
)
from creditwatch.simulation.population import Subject
from creditwatch.simulation.traffic import SECTOR_CATEGORIES, poisson
from detectors.policy import CrossRegionPolicy
from topics.catalogue import COMPLAINTS_12315
from topics.vocabulary import ComplaintCategory, ComplaintKind, Sector

KIND = IncidentKind.CROSS_REGION_SURGE
_TOP = {next(iter(weights)) for weights in SECTOR_CATEGORIES.values()}
SURGE_CATEGORIES = tuple(c for c in ComplaintCategory if c not in _TOP)
MERCHANTS_PER_COUNTY = 3
QUIET_RATE = 1.0  # complaints a day under which a county is quiet for a category
FLOW_COUNTIES = (1, 3)  # counties with an everyday flow, per surge category
FLOW_RATE = (2.0, 8.0)  # complaints a working day
WEEKEND_FACTOR = (0.3, 0.8)
DAY_SHAPE = 8.0  # gamma shape of a flow's day-to-day rate
FLOW_MERCHANTS = 40  # scripted subjects a flow's complaints are about: a few each
EXTRA_COUNTIES = (0, 2)  # a surge's counties beyond the policy's minimum
QUIET_EXTRA = (0, 4)  # complaints above the policy's minimum, in a quiet county
SURGE_SPREADS = (5.0, 8.0)  # above a flow's mean that day
ELEVATED_SPREADS = (1.0, 2.5)
FLOW_SHARE = 0.5  # chance that a surge takes in each county with a flow

#: (category, county) -> complaints per scenario day, from the background traffic.
Rates = dict[tuple[str, str], list[int]]


def background_rates(records: Sequence[ScenarioRecord], timeline: Timeline) -> Rates:
    """Counted complaints (not enquiries) per category, county and day in ``records``."""
    rates: Rates = defaultdict(lambda: [0] * timeline.days)
    for record in records:
        if record.topic != COMPLAINTS_12315.name:
            continue
        try:
            payload = orjson.loads(record.value)
            category, county, kind = payload["category"], payload["region"], payload["kind"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # a deliberately broken record: the pipeline dead-letters it
        day = (record.at - timeline.start).days
        if kind != ComplaintKind.ENQUIRY.value and 0 <= day < timeline.days:
            rates[(category, county)][day] += 1
    return rates


def usual(rates: Rates, category: str, county: str, day: int) -> float:
    """The mean daily count before ``day``."""
    history = rates.get((category, county), [0] * max(day, 1))[:day]
    return sum(history) / len(history) if history else 0.0


@dataclass(frozen=True, slots=True)
class Flow:
    """A category's everyday complaints in one county."""

    county: str
    rate: float  # a working day's mean
    weekend: float  # the weekend's share of it

    def mean(self, timeline: Timeline, day: int) -> float:
        return self.rate * (self.weekend if timeline.at(day).weekday() >= 5 else 1.0)

    @staticmethod
    def spread(mean: float) -> float:
        """The standard deviation of a day's count: Poisson with a gamma-mixed rate."""
        return math.sqrt(mean + mean * mean / DAY_SHAPE)

    def at(
        self,
        timeline: Timeline,
        day: int,
        rng: random.Random,
        spreads: tuple[float, float],
        background: float,
    ) -> int:
        """A count ``spreads`` (drawn from the range) above the flow's mean that day plus the
        county's ``background`` (the city's own complaints in the category)."""
        mean = self.mean(timeline, day) + background
        return round(mean + rng.uniform(*spreads) * self.spread(mean))


@dataclass(frozen=True, slots=True)
class Plan:
    category: ComplaintCategory
    day: int
    counties: int
    surging: bool = True  # else an elevated day: every county under its surge


@dataclass(slots=True)
class _Flows:
    """The flows of every surge category, who they are about, and the counts (with the
    incident label, if any) already decided for some days."""

    of: dict[ComplaintCategory, list[Flow]] = field(default_factory=dict)
    merchants: dict[tuple[ComplaintCategory, str], list[Subject]] = field(default_factory=dict)
    fixed: dict[tuple[ComplaintCategory, str, int], tuple[int, str | None]] = field(
        default_factory=dict
    )


def plan_days(
    timeline: Timeline, policy: CrossRegionPolicy, incidents: int, controls: int
) -> tuple[list[Plan], list[Plan]]:
    """(category, day) of each incident and control, never two on one category and day.

    Categories rotate, so each is used once before any is used twice; days
    rotate over those after the warm-up.
    """
    days = list(range(policy.warmup_days + 1, timeline.days))
    capacity = len(days) * len(SURGE_CATEGORIES)
    if not days or incidents + controls > capacity:
        raise ValueError(
            f"cross-region surges need more than {policy.warmup_days + 1} days "
            f"and at most {capacity} incidents and controls in {timeline.days} days"
        )
    taken: set[tuple[ComplaintCategory, int]] = set()

    def place(n: int, counties: int, surging: bool = True) -> Plan:
        category = SURGE_CATEGORIES[n % len(SURGE_CATEGORIES)]
        day = next(d for d in days[n % len(days) :] + days if (category, d) not in taken)
        taken.add((category, day))
        return Plan(category, day, counties, surging)

    planned = [place(n, policy.min_counties + n % 2) for n in range(incidents)]
    shapes = ((1, True), (policy.min_counties - 1, True), (policy.min_counties + 1, False))
    near = [place(incidents + n, *shapes[n % len(shapes)]) for n in range(controls)]
    return planned, near


def _sectors(category: ComplaintCategory) -> list[Sector]:
    return [s for s, weights in SECTOR_CATEGORIES.items() if category in weights]


def _merchants(cast: Cast, county: str, category: ComplaintCategory) -> list[Subject]:
    """Who a quiet county's surge is about: new merchants of a trade with this category."""
    sector = cast.sector_in(county, _sectors(category))
    return [cast.subject(sector, county) for _ in range(MERCHANTS_PER_COUNTY)]


def _flows(cast: Cast, rates: Rates, timeline: Timeline) -> _Flows:
    rng, flows = cast.rng, _Flows()
    for category in SURGE_CATEGORIES:
        quiet = [c for c in COUNTIES if usual(rates, category.value, c, timeline.days) < QUIET_RATE]
        chosen = rng.sample(quiet, rng.randint(*FLOW_COUNTIES))
        flows.of[category] = [
            Flow(c, round(rng.uniform(*FLOW_RATE), 1), round(rng.uniform(*WEEKEND_FACTOR), 2))
            for c in sorted(chosen)
        ]
        for county in sorted(chosen):
            flows.merchants[(category, county)] = [
                cast.subject(cast.sector_in(county, _sectors(category)), county)
                for _ in range(FLOW_MERCHANTS)
            ]
    return flows


def _flow_records(cast: Cast, timeline: Timeline, flows: _Flows) -> list[ScenarioRecord]:
    """Each flow's complaints on every day, the planned days' counts as planned."""
    rng, records = cast.rng, []
    for category, county_flows in flows.of.items():
        for flow in county_flows:
            merchants = flows.merchants[(category, flow.county)]
            for day in range(timeline.days):
                count, label = flows.fixed.get((category, flow.county, day), (-1, None))
                if count < 0:
                    mean = flow.mean(timeline, day)
                    count = poisson(rng, rng.gammavariate(DAY_SHAPE, mean / DAY_SHAPE))
                records += [
                    cast.complaint(
                        rng.choice(merchants),
                        category,
                        timeline.office_hours(rng, day),
                        label=label,
                    )
                    for _ in range(count)
                ]
    return records


def _day_counts(
    cast: Cast,
    timeline: Timeline,
    rates: Rates,
    flows: _Flows,
    policy: CrossRegionPolicy,
    plan: Plan,
    label: str | None,
) -> dict[str, tuple[int, float]]:
    """County -> (count that day, the county's mean that day) for ``plan``; a flow's count
    is fixed for its records to carry (with ``label``)."""
    rng = cast.rng
    category = plan.category
    flowing = [f for f in flows.of[category] if rng.random() < FLOW_SHARE]
    flowing = flowing[: plan.counties]
    names = {f.county for f in flows.of[category]}
    quiet = [
        c
        for c in COUNTIES
        if c not in names and usual(rates, category.value, c, plan.day) < QUIET_RATE
    ]
    counts: dict[str, tuple[int, float]] = {}
    for flow in flowing:
        spreads = SURGE_SPREADS if plan.surging else ELEVATED_SPREADS
        background = usual(rates, category.value, flow.county, plan.day)
        count = flow.at(timeline, plan.day, rng, spreads, background)
        if plan.surging:
            count = max(count, policy.surge_min)
        counts[flow.county] = (count, flow.mean(timeline, plan.day) + background)
        flows.fixed[(category, flow.county, plan.day)] = (count, label)
    for county in rng.sample(quiet, plan.counties - len(flowing)):
        if plan.surging:
            count = policy.surge_min + rng.randint(*QUIET_EXTRA)
        else:
            count = rng.randint(max(1, policy.surge_min - 3), policy.surge_min - 1)
        counts[county] = (count, usual(rates, category.value, county, plan.day))
    return counts


def _quiet_records(
    cast: Cast,
    timeline: Timeline,
    flows: _Flows,
    plan: Plan,
    counts: dict[str, tuple[int, float]],
    label: str | None,
) -> tuple[list[ScenarioRecord], list[str]]:
    """The planned complaints of the quiet counties (a flow's come with the flow), and
    every subject the day's complaints are about."""
    rng = cast.rng
    names = {f.county for f in flows.of[plan.category]}
    records: list[ScenarioRecord] = []
    subjects: list[str] = []
    for county, (count, _) in counts.items():
        if county in names:
            subjects += [m.uscc for m in flows.merchants[(plan.category, county)]]
            continue
        merchants = _merchants(cast, county, plan.category)
        subjects += [m.uscc for m in merchants]
        records += [
            cast.complaint(
                rng.choice(merchants),
                plan.category,
                timeline.office_hours(rng, plan.day),
                label=label,
            )
            for _ in range(count)
        ]
    return records, subjects


def _describe(counts: dict[str, tuple[int, float]]) -> str:
    return ", ".join(f"{county}: {n} (mean {mean:.1f})" for county, (n, mean) in counts.items())


def inject_cross_region(
    cast: Cast,
    timeline: Timeline,
    policy: CrossRegionPolicy,
    background: Sequence[ScenarioRecord],
    incidents: int,
    controls: int,
) -> Injection:
    """Surges in enough counties, near misses in too few or not surging, and the everyday
    flows they stand out from."""
    rates = background_rates(background, timeline)
    flows = _flows(cast, rates, timeline)
    planned, near = plan_days(timeline, policy, incidents, controls)
    injection = Injection()
    days: list[tuple[str, Plan, dict[str, tuple[int, float]], list[str]]] = []
    for n, plan in enumerate([*planned, *near]):
        label = (
            f"{KIND.value}-{n + 1:02d}"
            if n < len(planned)
            else f"{KIND.value}-control-{n - len(planned) + 1:02d}"
        )
        tag = label if n < len(planned) else None
        counts = _day_counts(cast, timeline, rates, flows, policy, plan, tag)
        records, subjects = _quiet_records(cast, timeline, flows, plan, counts, tag)
        injection.records += records
        days.append((label, plan, counts, subjects))
    injection.records += _flow_records(cast, timeline, flows)
    first = _first_records(injection.records)
    for label, plan, counts, subjects in days:
        day = timeline.day_label(timeline.at(plan.day))
        key = cross_region_key(plan.category.value, day)
        where = f"in {len(counts)} count{'y' if len(counts) == 1 else 'ies'} ({_describe(counts)})"
        if label in first:
            injection.incidents.append(
                Incident(
                    label=label,
                    kind=KIND,
                    dedup_key=key,
                    start=first[label],
                    end=timeline.at(plan.day + 1),
                    subjects=tuple(subjects),
                    detail=f"{plan.category.value} on {day} {where}",
                    category=plan.category.value,
                )
            )
        else:
            what = "surging" if plan.surging else "elevated, not surging,"
            injection.controls.append(
                Control(
                    label=label,
                    kind=KIND,
                    dedup_keys=(key,),
                    subjects=tuple(subjects),
                    detail=f"{plan.category.value} on {day} {what} {where}",
                    near_miss=True,
                )
            )
    return injection


def _first_records(records: Sequence[ScenarioRecord]) -> dict[str, datetime]:
    """The event time of each label's first record."""
    first: dict[str, datetime] = {}
    for record in records:
        if record.label is not None and (
            record.label not in first or record.at < first[record.label]
        ):
            first[record.label] = record.at
    return first
