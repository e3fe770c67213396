"""Per-subject processing as a plain function: ``(state, record) -> (state, outputs)``.

Agents stay thin (style rule 4): they decode, load the state, call
:func:`process`, store the state and send the outputs. Everything here is
deterministic in event time, so a replay of a partition yields the same tiers,
versions and alert ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from detectors.cross_sector import Member, linkage_group
from detectors.iot import StreamAnomalyDetector
from detectors.peers import peer_features, peer_group
from detectors.policy import Policy
from detectors.rules import evaluate_rules, iot_anomaly_hit
from detectors.scoring import Score, score_subject
from detectors.state import Observation, SubjectState
from detectors.tiers import next_tier
from pipeline.alerts import evidence_of, subject_alert
from streams.settings import pseudonym_key
from topics.complaints import Complaint
from topics.decode import InputRecord
from topics.enforcement import EnforcementEvent
from topics.internal import AdverseReport, AdverseSignal, PeerUpdate
from topics.iot import IotReading
from topics.risk import Alert, TierChange
from topics.vocabulary import (
    ComplaintKind,
    EnforcementKind,
    Sector,
    SpotCheckResult,
    Tier,
)

# Enforcement kinds that map straight onto a policy signal.
SIGNAL_OF_KIND: dict[EnforcementKind, str] = {
    EnforcementKind.LICENCE_SUSPENDED: "licence_suspended",
    EnforcementKind.LICENCE_REVOKED: "licence_revoked",
    EnforcementKind.COURT_DISHONEST_DEBTOR: "court_dishonest_debtor",
    EnforcementKind.TAX_VIOLATION: "tax_violation",
    EnforcementKind.ABNORMAL_OPERATION_LISTED: "abnormal_operation",
    EnforcementKind.COMMITMENT_BREACHED: "commitment_breached",
    EnforcementKind.COMMITMENT_FULFILLED: "commitment_fulfilled",
    EnforcementKind.INTERVIEW: "interview",
    EnforcementKind.HONOUR: "honour",
    EnforcementKind.VOLUNTARY_REGISTRATION: "voluntary_registration",
    EnforcementKind.REPAIR_COMPLETED: "repair_completed",
}


@dataclass(frozen=True, slots=True)
class CountedComplaint:
    """A complaint that counts towards the cross-region model of its category."""

    category: str
    county: str
    sector: str
    at_s: float
    event_id: str


@dataclass(slots=True)
class Outputs:
    """What one record produced. ``duplicate`` records produce nothing.

    Besides alerts and tier changes, a record feeds the detectors that look
    beyond one subject (keyed differently, so they run in their own agents).
    """

    alerts: list[Alert] = field(default_factory=list)
    tier_change: TierChange | None = None
    duplicate: bool = False
    event_time_s: float = 0.0  # of the record, epoch seconds
    peer_updates: list[PeerUpdate] = field(default_factory=list)
    adverse_report: AdverseReport | None = None
    counted_complaint: CountedComplaint | None = None
    # (linkage group, the subject): it newly reported this legal representative
    linkage_member: tuple[str, Member] | None = None


def enforcement_signal(event: EnforcementEvent) -> str | None:
    if event.kind is EnforcementKind.PENALTY:
        return f"penalty_{event.severity}"
    if event.kind is EnforcementKind.SPOT_CHECK:
        passed = event.result is SpotCheckResult.PASSED
        return "spot_check_passed" if passed else "spot_check_problems"
    return SIGNAL_OF_KIND.get(event.kind)


def observation_of(record: InputRecord) -> Observation:
    """What a record means for its subject's risk."""
    if isinstance(record, EnforcementEvent):
        removed = record.kind is EnforcementKind.ABNORMAL_OPERATION_REMOVED
        return Observation(
            event_id=record.event_id,
            at_s=record.occurred_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            signal=enforcement_signal(record),
            clears="abnormal_operation" if removed else None,
            legal_rep_id=record.legal_rep_id,
            department=record.department.value,
        )
    if isinstance(record, Complaint):
        counts = record.kind is not ComplaintKind.ENQUIRY
        return Observation(
            event_id=record.event_id,
            at_s=record.received_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            complaint_category=record.category.value if counts else None,
        )
    if isinstance(record, IotReading):
        return Observation(
            event_id=record.event_id,
            at_s=record.measured_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            iot_exceedance=record.limit is not None and record.value > record.limit,
        )
    raise TypeError(f"not an input record: {type(record).__name__}")


def process(
    state: SubjectState | None, record: InputRecord, policy: Policy
) -> tuple[SubjectState, Outputs]:
    """Apply one validated record to its subject's state."""
    state = state if state is not None else SubjectState()
    if state.seen(record.event_id):
        return state, Outputs(duplicate=True)
    obs = observation_of(record)
    outputs = Outputs(event_time_s=obs.at_s)
    previous_place = (state.sector, state.region)
    previous_rep = state.legal_rep_id
    state.apply(obs, policy)
    previous = Tier(state.tier) if state.tier is not None else None
    score, outputs.tier_change = retier(record.subject, state, policy)
    assert state.tier is not None, "retier() assigns a tier"
    tier = Tier(state.tier)
    hits = evaluate_rules(state, obs, score, previous, tier, policy)
    outputs.alerts = [
        subject_alert(record.subject, state, hit, obs.event_id, obs.at_s, policy) for hit in hits
    ]
    state.prune_alerted(policy.alert_cooldown_s)
    _report_beyond_subject(record.subject, state, score, obs, previous_place, outputs, policy)
    if state.legal_rep_id != previous_rep and outputs.adverse_report is None:
        group = linkage_group(record.subject, state.legal_rep_id, pseudonym_key())
        outputs.linkage_member = (group, member_of(record.subject, state))
    return state, outputs


def member_of(subject: str, state: SubjectState) -> Member:
    """The subject as its linkage group remembers it."""
    assert state.tier is not None, "process() assigns a tier on a subject's first event"
    return Member(subject, state.region, state.sector, state.tier, state.score)


def retier(subject: str, state: SubjectState, policy: Policy) -> tuple[Score, TierChange | None]:
    """Score the subject as its state stands; move its tier (and version) if the score says so."""
    score = score_subject(state, policy)
    previous = Tier(state.tier) if state.tier is not None else None
    tier = next_tier(previous, score.value, score.floor, policy.tiers)
    state.score = score.value
    if tier is previous:
        return score, None
    state.tier = tier.value
    state.version += 1
    return score, _tier_change(subject, state, previous, tier, score, policy)


def _report_beyond_subject(
    subject: str,
    state: SubjectState,
    score: Score,
    obs: Observation,
    previous_place: tuple[str, str],
    outputs: Outputs,
    policy: Policy,
) -> None:
    """Hand the detectors that look across subjects what this record means to them."""
    assert state.tier is not None, "process() assigns a tier on a subject's first event"
    outputs.peer_updates = _peer_updates(subject, state, score, previous_place, obs)
    if obs.signal is not None and obs.department is not None and policy.adverse(obs.signal):
        signal = AdverseSignal(
            obs.event_id, obs.at_s, subject, obs.signal, obs.department, obs.sector, obs.region
        )
        group = linkage_group(subject, state.legal_rep_id, pseudonym_key())
        outputs.adverse_report = AdverseReport(group, signal, state.tier, state.score)
    if obs.complaint_category is not None:
        outputs.counted_complaint = CountedComplaint(
            obs.complaint_category, obs.region, obs.sector, obs.at_s, obs.event_id
        )


def _peer_updates(
    subject: str,
    state: SubjectState,
    score: Score,
    previous_place: tuple[str, str],
    obs: Observation,
) -> list[PeerUpdate]:
    """Report the subject's features to its peer group when they (or the group) changed."""
    features = peer_features(state, score)
    old = state.peer_features
    moved = old is not None and (state.sector, state.region) != previous_place
    if features == old and not moved:
        return []
    assert state.tier is not None
    state.peer_features = features
    group = peer_group(state.sector, state.region)
    about = (obs.at_s, obs.event_id, state.tier, state.score, state.region, state.sector)
    updates = [PeerUpdate(group, subject, None if moved else old, features, *about)]
    if moved:
        updates.append(PeerUpdate(peer_group(*previous_place), subject, old, None, *about))
    return updates


def _event_time(state: SubjectState) -> datetime:
    return datetime.fromtimestamp(state.clock, UTC)


def _tier_change(
    subject: str,
    state: SubjectState,
    previous: Tier | None,
    tier: Tier,
    score: Score,
    policy: Policy,
) -> TierChange:
    return TierChange(
        subject=subject,
        previous_tier=previous,
        tier=tier,
        score=score.value,
        reasons=evidence_of(score.contributions),
        effective_at=_event_time(state),
        version=state.version,
        policy_version=policy.version,
        region=state.region,
        sector=Sector(state.sector),
    )


def device_key(reading: IotReading) -> bytes:
    """Key of a (device, metric) series in the device-model table."""
    return f"{reading.device_id}|{reading.metric}".encode()


def detect_iot_anomaly(
    detector: StreamAnomalyDetector, reading: IotReading, state: SubjectState, policy: Policy
) -> Alert | None:
    """Score a reading with its series' model (which then learns); alert if anomalous."""
    score, why = detector.observe(reading.measured_at, reading.value)
    hit = iot_anomaly_hit(reading, score, why, policy)
    if hit is None:
        return None
    at_s = reading.measured_at.timestamp()
    return subject_alert(reading.subject, state, hit, reading.event_id, at_s, policy)
