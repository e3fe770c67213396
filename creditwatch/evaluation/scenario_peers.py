"""Peer outliers: one subject drawing far more complaints than its peers, in quiet and busy groups.

Each peer group is a sector and county with no city subject in it (see
:meth:`.Cast.empty_group`), of the policy's minimum number of peers plus 1–12,
each with ordinary traffic (a passed spot check, sometimes an enquiry). Groups
differ in how busy they are:

* **quiet**: each peer draws 0–2 complaints over the whole scenario;
* **busy**: each peer draws a gamma-Poisson number of complaints around a group
  mean of 2–7 (the spread between peers grows with the mean), spread over the
  scenario's days; a draw beyond a near miss's reach is drawn again, so a peer
  labelled clean is not an outlier of the law's long tail.

The outlier draws the group's mean plus 5–9 times the group's *spread* (the
peers' standard deviation as generated, never below the policy's spread floor)
over 2–5 days: near the detection boundary at the low end, plain at the high.
One group in three has a second outlier, whose complaints start the day after
the first one's end: it must be found although the first one's complaints sit
in the same group.

Controls, in every group: one peer at 1–2.5 spreads above the mean (a near
miss: in a quiet group a burst over 2–5 days, in a busy one a busier peer whose
complaints come over the whole scenario like the others') and the clean peers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditwatch.evaluation.scenario_cast import Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    peer_outlier_key,
)
from creditwatch.evaluation.scenario_region import SURGE_CATEGORIES
from creditwatch.simulation.population import Subject
from creditwatch.simulation.traffic import SECTOR_CATEGORIES, poisson
from detectors.policy import PeerPolicy
from topics.vocabulary import ComplaintCategory, ComplaintKind, Sector

KIND = IncidentKind.PEER_OUTLIER
#: Consumer-facing trades, where 12315 complaints are the telling feature.
SECTORS = (
    Sector.FOOD_DRUG,
    Sector.EDUCATION,
    Sector.ELDERLY_CHILDCARE,
    Sector.URBAN_OPERATIONS,
    Sector.FINANCE,
    Sector.OTHER,
)
EXTRA_PEERS = (1, 12)  # beyond the policy minimum
QUIET_COMPLAINTS = (0, 0, 1, 1, 2)  # per peer of a quiet group, over the whole scenario
BUSY_MEAN = (2.0, 7.0)  # a busy group's mean complaints per peer over the scenario
BUSY_SHAPE = 4.0  # gamma shape of a busy peer's rate: variance = mean + mean² / shape
OUTLIER_SPREADS = (5.0, 9.0)
NEAR_MISS_SPREADS = (1.0, 2.5)
SECOND_OUTLIER_SHARE = 1 / 3
OUTLIER_DAYS = (2, 5)
FIRST_OUTLIER_DAY = 4  # every peer has been seen by then (ambient traffic on day 0-1)
FEATURE = "complaints_30d"
COMPLAINTS_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class GroupActivity:
    """How many complaints a group's peers draw: their mean and the spread between them."""

    busy: bool
    mean: float
    spread: float  # the peers' standard deviation as generated, at least the policy floor

    def peer_complaints(self, rng: random.Random) -> int:
        """A clean peer's complaints: never as far up as a near miss may go, so that a
        label "clean" is never a true outlier of the gamma-Poisson law's long tail."""
        if not self.busy:
            return rng.choice(QUIET_COMPLAINTS)
        most = self.mean + NEAR_MISS_SPREADS[1] * self.spread
        while (count := poisson(rng, rng.gammavariate(BUSY_SHAPE, self.mean / BUSY_SHAPE))) > most:
            pass
        return count

    def at(self, rng: random.Random, spreads: tuple[float, float]) -> int:
        """A complaint count ``spreads`` (drawn from the range) spreads above the mean."""
        return max(1, round(self.mean + rng.uniform(*spreads) * self.spread))


def activity(rng: random.Random, busy: bool, policy: PeerPolicy) -> GroupActivity:
    """A quiet or busy group's complaint level, its spread floored as the policy floors it.

    >>> from detectors.policy import default_policy
    >>> quiet = activity(random.Random(1), False, default_policy().peers)
    >>> quiet.busy, quiet.mean, quiet.spread
    (False, 0.8, 2.0)
    """
    floor = policy.spread_floor.get(FEATURE, 1.0)
    if not busy:
        mean = sum(QUIET_COMPLAINTS) / len(QUIET_COMPLAINTS)
        variance = sum((c - mean) ** 2 for c in QUIET_COMPLAINTS) / len(QUIET_COMPLAINTS)
    else:
        mean = round(rng.uniform(*BUSY_MEAN), 1)
        variance = mean + mean * mean / BUSY_SHAPE
    return GroupActivity(busy, mean, max(math.sqrt(variance), floor))


def _categories(rng: random.Random, sector: Sector, count: int) -> list[ComplaintCategory]:
    """Categories of the sector's complaints, never one the cross-region incidents use: an
    outlier's burst there could make a county surge and contradict their labels."""
    weights = {c: w for c, w in SECTOR_CATEGORIES[sector].items() if c not in SURGE_CATEGORIES}
    return rng.choices(list(weights), weights=list(weights.values()), k=count)


def _complaints(
    cast: Cast, subject: Subject, times: list[datetime], label: str | None
) -> list[ScenarioRecord]:
    """Counted 12315 records (complaints and reports, never enquiries) at ``times``."""
    rng = cast.rng
    own = _categories(rng, subject.sector, 3)  # a subject's complaints cluster in a few
    return [
        cast.complaint(
            subject,
            rng.choice(own),
            at,
            kind=rng.choices((ComplaintKind.COMPLAINT, ComplaintKind.REPORT), (3, 1))[0],
            label=label,
        )
        for at in sorted(times)
    ]


def _spread(rng: random.Random, start: datetime, days: int, count: int) -> list[datetime]:
    """``count`` moments in office hours over ``days`` days from ``start``'s day."""
    base = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return sorted(
        (base + timedelta(days=rng.randrange(days), hours=rng.uniform(8.5, 20.0))).replace(
            microsecond=0
        )
        for _ in range(count)
    )


def _outlier(
    cast: Cast,
    timeline: Timeline,
    subject: Subject,
    group: GroupActivity,
    days: tuple[int, int],
    label: str,
    detail: str,
) -> tuple[list[ScenarioRecord], Incident]:
    """The outlier's complaints over ``days`` (first day, span)."""
    rng = cast.rng
    first_day, span = days
    count = group.at(rng, OUTLIER_SPREADS)
    injected = _complaints(cast, subject, _spread(rng, timeline.at(first_day), span, count), label)
    incident = Incident(
        label=label,
        kind=KIND,
        dedup_key=peer_outlier_key(subject.uscc),
        start=injected[0].at,
        end=injected[-1].at + COMPLAINTS_WINDOW,
        subjects=(subject.uscc,),
        detail=f"{len(injected)} complaints in {span} days; {detail}",
    )
    return injected, incident


def _bursts(rng: random.Random, timeline: Timeline, outliers: int) -> list[tuple[int, int]]:
    """(first day, span) of each outlier's complaints, one after the other, inside the scenario."""
    spans = [rng.randint(*OUTLIER_DAYS) for _ in range(outliers)]
    latest = timeline.days - sum(spans)
    day = rng.randint(FIRST_OUTLIER_DAY, max(FIRST_OUTLIER_DAY, latest))
    bursts = []
    for span in spans:
        bursts.append((day, span))
        day += span
    return bursts


def _group(
    cast: Cast, timeline: Timeline, policy: PeerPolicy, labels: list[str], busy: bool
) -> Injection:
    """One peer group with an outlier per label, its near miss and its clean peers."""
    rng = cast.rng
    sector, county = cast.empty_group(SECTORS)
    group = activity(rng, busy, policy)
    size = policy.min_peers + rng.randint(*EXTRA_PEERS)
    peers = [cast.subject(sector, county) for _ in range(size)]
    outliers = [cast.subject(sector, county) for _ in labels]
    records = [r for s in (*peers, *outliers) for r in cast.ambient(s, timeline)]
    for peer in peers[1:]:
        days = [rng.randrange(timeline.days) for _ in range(group.peer_complaints(rng))]
        records += _complaints(cast, peer, [timeline.office_hours(rng, d) for d in days], None)
    how = "busy" if busy else "quiet"
    detail = (
        f"{len(peers)} peers ({sector.value}, county {county}, {how}: mean {group.mean:g}, "
        f"spread {group.spread:.1f})"
    )
    incidents = []
    bursts = _bursts(rng, timeline, len(outliers))
    for subject, label, burst in zip(outliers, labels, bursts, strict=True):
        injected, incident = _outlier(cast, timeline, subject, group, burst, label, detail)
        records += injected
        incidents.append(incident)
    near_count = group.at(rng, NEAR_MISS_SPREADS)
    # A quiet group's near miss has a burst of its own; a busy group's is a busier peer,
    # its complaints over the scenario as its peers' are (a burst among peers whose
    # complaints are still coming in would be an outlier for the days it lasts).
    near_days = rng.randint(*OUTLIER_DAYS) if not busy else timeline.days
    first = rng.randint(FIRST_OUTLIER_DAY, timeline.days - near_days) if not busy else 0
    near = _complaints(
        cast, peers[0], _spread(rng, timeline.at(first), near_days, near_count), None
    )
    controls = [
        Control(
            label=f"{labels[0]}-near-miss",
            kind=KIND,
            dedup_keys=(peer_outlier_key(peers[0].uscc),),
            subjects=(peers[0].uscc,),
            detail=f"a peer of {labels[0]} with {len(near)} complaints in {near_days} days",
            near_miss=True,
        ),
        Control(
            label=f"{labels[0]}-peers",
            kind=KIND,
            dedup_keys=tuple(peer_outlier_key(p.uscc) for p in peers[1:]),
            subjects=tuple(p.uscc for p in peers[1:]),
            detail=f"the {len(peers) - 1} other peers of {labels[0]}",
        ),
    ]
    return Injection(records + near, incidents, controls)


def inject_peer_outliers(
    cast: Cast, timeline: Timeline, policy: PeerPolicy, incidents: int
) -> Injection:
    """``incidents`` outliers in groups of their own, quiet and busy in turn; one group in
    three holds two. Their peers are the controls."""
    rng = cast.rng
    injection = Injection()
    labels = [f"{KIND.value}-{n:02d}" for n in range(1, incidents + 1)]
    busy = rng.random() < 0.5
    while labels:
        take = 2 if len(labels) > 1 and rng.random() < SECOND_OUTLIER_SHARE else 1
        injection.extend(_group(cast, timeline, policy, labels[:take], busy))
        labels, busy = labels[take:], not busy
    return injection
