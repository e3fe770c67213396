"""The credit risk score (0 = no risk, 100 = highest) and what it is made of.

Seed 六/七: a public credit evaluation that grades subjects for differentiated
supervision. The score is the policy's base plus capped, decayed contributions
of each signal, recent 12315 complaints and recent IoT limit exceedances. In a
key sector an adverse signal's points and cap are multiplied by the sector's
weight (``[sectors]``), so the same penalty weighs differently by sector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.policy import ComplaintPolicy, IotPolicy, Policy
from detectors.state import SubjectState
from topics.vocabulary import Tier

TIER_ORDER = (Tier.A, Tier.B, Tier.C, Tier.D)


#: What a title or an explanation names: codes and numbers, worded per language
#: by the one table of words, pipeline/alert_titles.py.
TitleValue = str | int | float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Fact:
    """A number that explains a score, a tier or an alert.

    Its explanation is worded in Chinese and English by pipeline/alert_titles.py:
    ``says`` names the wording (``DETAILS``), ``about`` holds what it names
    (codes and numbers). ``detail`` is plain text for a fact not yet worded there.
    """

    fact: str
    value: float
    threshold: float | None = None
    detail: str | None = None
    says: str | None = None
    about: Mapping[str, TitleValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    contributions: tuple[Fact, ...]  # largest effect first; value = points added
    floor: Tier | None  # the least tier the subject's records allow
    complaints_30d: int = 0  # the window counts the score used, for callers that need them
    iot_exceedances_24h: int = 0


def _capped(points: float, cap: float) -> float:
    return min(points, cap) if cap >= 0 else max(points, cap)


def complaints_30d(state: SubjectState) -> int:
    return state.complaints.recent(30, state.clock)


def iot_exceedances_24h(state: SubjectState) -> int:
    return state.iot_exceedances.recent(24, state.clock)


def score_subject(state: SubjectState, policy: Policy) -> Score:
    """Score a subject from its state as of its own event-time clock."""
    contributions: list[Fact] = []
    for name, count in state.signals.items():
        spec = policy.signals.get(name)
        if spec is not None:
            weight = policy.weight(state.sector, name)  # seed 六: by the sector's harm
            points = _capped(count * spec.points * weight, spec.cap * weight)
            facts = {"count": round(count, 2)}
            contributions.append(Fact(name, round(points, 2), says="weighted", about=facts))
    complaints, exceedances = complaints_30d(state), iot_exceedances_24h(state)
    if complaints:
        contributions.append(_records("complaints_30d", complaints, policy.complaints))
    if exceedances:
        contributions.append(_records("iot_exceedances_24h", exceedances, policy.iot))
    raw = policy.base_score + sum(c.value for c in contributions)
    contributions.sort(key=lambda c: -abs(c.value))
    return Score(
        round(min(100.0, max(0.0, raw)), 2),
        tuple(contributions),
        _floor(state, policy),
        complaints,
        exceedances,
    )


def _records(name: str, count: int, points: ComplaintPolicy | IotPolicy) -> Fact:
    """What ``count`` records in a window contribute, at the policy's points each, capped."""
    value = _capped(count * points.points_each, points.cap)
    return Fact(name, round(value, 2), says="records", about={"count": count})


def _floor(state: SubjectState, policy: Policy) -> Tier | None:
    floor: Tier | None = None
    for name, last in state.last_seen.items():
        spec = policy.signals.get(name)
        if spec is None or spec.floor is None or state.clock - last > spec.floor_s:
            continue
        if floor is None or TIER_ORDER.index(spec.floor) > TIER_ORDER.index(floor):
            floor = spec.floor
    return floor
