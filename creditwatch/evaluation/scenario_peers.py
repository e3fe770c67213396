"""Peer outliers: one subject drawing a dozen or more complaints while its peers draw none or two.

Each incident gets a peer group of its own (a sector and county with no city
subject in it, see :meth:`.Cast.empty_group`): the policy's minimum number of
peers plus a few, each with ordinary traffic (a passed spot check, an
enquiry, 0–2 complaints over the whole scenario), and the outlier, which draws
12–20 complaints and reports over 2–4 days in several categories of its trade.

Controls, in every group: one peer with a few more complaints than the others
(a near miss, under half the policy's alert distance) and the clean peers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from creditwatch.evaluation.scenario_cast import Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    peer_outlier_key,
)
from creditwatch.simulation.population import Subject
from creditwatch.simulation.traffic import SECTOR_CATEGORIES
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
EXTRA_PEERS = 3  # beyond the policy minimum: the brief asks for >= 10 per group
PEER_COMPLAINTS = (0, 0, 1, 1, 2)  # per clean peer, over the whole scenario
OUTLIER_COMPLAINTS = (12, 20)
OUTLIER_DAYS = (2, 4)
FIRST_OUTLIER_DAY = 4  # every peer has been seen by then (ambient traffic on day 0-1)
FEATURE = "complaints_30d"
COMPLAINTS_WINDOW = timedelta(days=30)


def _categories(rng: random.Random, sector: Sector, count: int) -> list[ComplaintCategory]:
    weights = SECTOR_CATEGORIES[sector]
    return rng.choices(list(weights), weights=list(weights.values()), k=count)


def _complaints(
    cast: Cast, subject: Subject, times: list[datetime], label: str | None
) -> list[ScenarioRecord]:
    """Counted 12315 records (complaints and reports, never enquiries) at ``times``."""
    rng = cast.rng
    own = _categories(rng, subject.sector, 3)  # an outlier's complaints cluster in a few
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


def near_miss_complaints(policy: PeerPolicy) -> int:
    """Complaints for the near-miss peer: half the alert distance above zero peers, at most.

    >>> from detectors.policy import PeerPolicy
    >>> near_miss_complaints(PeerPolicy(8, 4.0, 2.0, {"complaints_30d": 2.0}, 8.0))
    5
    """
    return int(policy.alert_spreads * policy.spread_floor.get(FEATURE, 1.0) / 2) + 1


def _group(cast: Cast, timeline: Timeline, policy: PeerPolicy, label: str) -> Injection:
    rng = cast.rng
    sector, county = cast.empty_group(SECTORS)
    peers = [cast.subject(sector, county) for _ in range(policy.min_peers + EXTRA_PEERS)]
    outlier = cast.subject(sector, county)
    records = [r for s in (*peers, outlier) for r in cast.ambient(s, timeline)]
    for peer in peers[1:]:
        days = [rng.randrange(timeline.days) for _ in range(rng.choice(PEER_COMPLAINTS))]
        records += _complaints(cast, peer, [timeline.office_hours(rng, d) for d in days], None)

    span = rng.randint(*OUTLIER_DAYS)
    first_day = rng.randint(FIRST_OUTLIER_DAY, max(FIRST_OUTLIER_DAY, timeline.days - span))
    start = timeline.at(first_day)
    burst = _spread(rng, start, span, rng.randint(*OUTLIER_COMPLAINTS))
    injected = _complaints(cast, outlier, burst, label)
    near = _complaints(
        cast, peers[0], _spread(rng, start, span, near_miss_complaints(policy)), None
    )
    incident = Incident(
        label=label,
        kind=KIND,
        dedup_key=peer_outlier_key(outlier.uscc),
        start=injected[0].at,
        end=injected[-1].at + COMPLAINTS_WINDOW,
        subjects=(outlier.uscc,),
        detail=(
            f"{len(injected)} complaints in {span} days; {len(peers)} peers "
            f"({sector.value}, county {county}) with 0-2"
        ),
    )
    controls = [
        Control(
            label=f"{label}-near-miss",
            kind=KIND,
            dedup_keys=(peer_outlier_key(peers[0].uscc),),
            subjects=(peers[0].uscc,),
            detail=f"a peer of {label} with {len(near)} complaints in the same days",
            near_miss=True,
        ),
        Control(
            label=f"{label}-peers",
            kind=KIND,
            dedup_keys=tuple(peer_outlier_key(p.uscc) for p in peers[1:]),
            subjects=tuple(p.uscc for p in peers[1:]),
            detail=f"the {len(peers) - 1} clean peers of {label}",
        ),
    ]
    return Injection(records + injected + near, [incident], controls)


def inject_peer_outliers(
    cast: Cast, timeline: Timeline, policy: PeerPolicy, incidents: int
) -> Injection:
    """One outlier per peer group, ``incidents`` groups; their peers are the controls."""
    injection = Injection()
    for n in range(1, incidents + 1):
        injection.extend(_group(cast, timeline, policy, f"{KIND.value}-{n:02d}"))
    return injection
