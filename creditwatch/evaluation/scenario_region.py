"""Cross-region surges: one complaint category jumping in several counties on the same day.

A surge puts 8–12 complaints (the policy minimum plus 3–7, and at least three
more than the surge ratio asks of the county's usual level) into each of 3–4
counties where the category is normally quiet, spread over the working day and
over three merchants per county. Surges start after the policy's warm-up, on
days after the first ``warmup_days + 1``, so the baselines have history.

Only the categories that are never a sector's top category are used (drug
safety, price, advertising, counterfeit, weights and measures): the simulator's
own complaint bursts always hit a sector's top category, so background traffic
cannot surge in these by itself, and an alert in them is either the injected
surge or a false positive.

Controls are near misses on other days: the same categories surging the same
way in one county, or in one county fewer than the policy requires.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from creditwatch.evaluation.scenario_cast import COUNTIES, Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    cross_region_key,
)
from creditwatch.simulation.traffic import SECTOR_CATEGORIES
from detectors.policy import CrossRegionPolicy
from topics.catalogue import COMPLAINTS_12315
from topics.vocabulary import ComplaintCategory, ComplaintKind, Sector

KIND = IncidentKind.CROSS_REGION_SURGE
_TOP = {next(iter(weights)) for weights in SECTOR_CATEGORIES.values()}
SURGE_CATEGORIES = tuple(c for c in ComplaintCategory if c not in _TOP)
MERCHANTS_PER_COUNTY = 3
EXTRA_COMPLAINTS = (3, 7)  # above the policy's minimum, per surging county
QUIET_RATE = 1.0  # complaints a day under which a county is quiet for a category

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
class Plan:
    category: ComplaintCategory
    day: int
    counties: int


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

    def place(n: int, counties: int) -> Plan:
        category = SURGE_CATEGORIES[n % len(SURGE_CATEGORIES)]
        day = next(d for d in days[n % len(days) :] + days if (category, d) not in taken)
        taken.add((category, day))
        return Plan(category, day, counties)

    planned = [place(n, policy.min_counties + n % 2) for n in range(incidents)]
    near = [
        place(incidents + n, 1 if n % 2 == 0 else policy.min_counties - 1) for n in range(controls)
    ]
    return planned, near


def _sectors(category: ComplaintCategory) -> list[Sector]:
    return [s for s, weights in SECTOR_CATEGORIES.items() if category in weights]


def _surge(
    cast: Cast,
    timeline: Timeline,
    rates: Rates,
    policy: CrossRegionPolicy,
    plan: Plan,
    label: str | None,
) -> tuple[list[ScenarioRecord], dict[str, int], list[str]]:
    """Complaints in ``plan.counties`` quiet counties; returns them, counts per county, subjects."""
    rng = cast.rng
    category = plan.category.value
    counties = sorted(
        COUNTIES,
        key=lambda c: (usual(rates, category, c, plan.day) >= QUIET_RATE, rng.random()),
    )[: plan.counties]
    records: list[ScenarioRecord] = []
    counts: dict[str, int] = {}
    subjects: list[str] = []
    for county in counties:
        expected = usual(rates, category, county, plan.day)
        count = max(
            policy.surge_min + rng.randint(*EXTRA_COMPLAINTS),
            math.ceil(policy.surge_ratio * expected) + EXTRA_COMPLAINTS[0],
        )
        merchants = [
            cast.subject(cast.sector_in(county, _sectors(plan.category)), county)
            for _ in range(MERCHANTS_PER_COUNTY)
        ]
        subjects += [m.uscc for m in merchants]
        counts[county] = count
        records += [
            cast.complaint(
                rng.choice(merchants),
                plan.category,
                timeline.office_hours(rng, plan.day),
                label=label,
            )
            for _ in range(count)
        ]
    records.sort(key=lambda r: r.at)
    return records, counts, subjects


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{county}: {n}" for county, n in counts.items())


def inject_cross_region(
    cast: Cast,
    timeline: Timeline,
    policy: CrossRegionPolicy,
    background: Sequence[ScenarioRecord],
    incidents: int,
    controls: int,
) -> Injection:
    """Surges in ``policy.min_counties`` or one more counties, and near misses in fewer."""
    rates = background_rates(background, timeline)
    planned, near = plan_days(timeline, policy, incidents, controls)
    injection = Injection()
    for n, plan in enumerate(planned, 1):
        label = f"{KIND.value}-{n:02d}"
        records, counts, subjects = _surge(cast, timeline, rates, policy, plan, label)
        day = timeline.day_label(timeline.at(plan.day))
        injection.records += records
        injection.incidents.append(
            Incident(
                label=label,
                kind=KIND,
                dedup_key=cross_region_key(plan.category.value, day),
                start=records[0].at,
                end=timeline.at(plan.day + 1),
                subjects=tuple(subjects),
                detail=(
                    f"{plan.category.value} on {day} in {len(counts)} counties "
                    f"({_describe(counts)})"
                ),
                category=plan.category.value,
            )
        )
    for n, plan in enumerate(near, 1):
        label = f"{KIND.value}-control-{n:02d}"
        records, counts, subjects = _surge(cast, timeline, rates, policy, plan, None)
        day = timeline.day_label(timeline.at(plan.day))
        injection.records += records
        injection.controls.append(
            Control(
                label=label,
                kind=KIND,
                dedup_keys=(cross_region_key(plan.category.value, day),),
                subjects=tuple(subjects),
                detail=(
                    f"{plan.category.value} on {day} surging in only {len(counts)} "
                    f"count{'y' if len(counts) == 1 else 'ies'} ({_describe(counts)})"
                ),
                near_miss=True,
            )
        )
    return injection
