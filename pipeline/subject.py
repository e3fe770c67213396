"""The per-subject step: ``(state, case file, record, context) -> (state, case file, outputs)``.

One validated input record goes through :func:`step` and nothing else: it is
scored into its subject's risk state (:func:`process`), a reading is scored by
its series' anomaly model, and an enforcement record the supervision
workflows act on goes into the subject's case file, whose effects move the
score and tier again (:mod:`pipeline.supervision`). :func:`on_time` is the
other step of a subject: its deadlines and periods firing as its partition's
event time passes them, without a record of its own.

The ingest agent stays thin (style rule 4): it decodes, loads the state and
case file, calls the step, stores what it returns and sends the outputs in
order. Everything here is deterministic in event time, so a replay of a
partition yields the same tiers, versions and alert ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from detectors import workflow
from detectors.casefile import CaseFile
from detectors.cross_sector import Member, linkage_group
from detectors.iot import Explanation
from detectors.peers import peer_features, peer_group
from detectors.policy import Policy
from detectors.rules import evaluate_rules, iot_anomaly_hit
from detectors.scoring import Score
from detectors.state import Observation, SubjectState
from detectors.workflow import Effects
from pipeline.alerts import subject_alert
from pipeline.context import StepContext
from pipeline.grading import TIERS, GradedUnder, regrade, retier
from pipeline.persons import on_role, representative
from pipeline.red_list import red_list_step
from pipeline.supervision import (
    SupervisionOutputs,
    apply_effects,
    enforcement_signal,
    filing_of,
    needs_case_file,
)
from topics.complaints import Complaint
from topics.decode import InputRecord
from topics.enforcement import EnforcementEvent
from topics.evaluations import SectorEvaluation
from topics.internal import AdverseReport, AdverseSignal, PeerUpdate
from topics.iot import IotReading
from topics.lists import ListChange
from topics.risk import Alert, TierChange
from topics.roles import RoleAssignment
from topics.vocabulary import ComplaintKind, EnforcementKind


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
    """What one step produced, in the order it is sent. ``duplicate`` records produce nothing.

    First the record's own alerts (a reading's anomaly last) and tier change;
    then, in the order the workflows decided them, what the case file made of
    it (``casework``: on the record, then on what the partition's event time
    had already passed). Besides these, a record feeds the detectors that look
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
    casework: list[SupervisionOutputs] = field(default_factory=list)
    case_settled: bool = False  # the case file changed: store it
    next_due_s: float | None = None  # of the settled case file: when to wake the subject
    model_flagged: bool = False  # the reading's model flagged it: checkpoint the model now


class SeriesModel(Protocol):
    """A reading series' anomaly model (:class:`detectors.iot.StreamAnomalyDetector`)."""

    def observe(
        self, timestamp: datetime | float | None, value: float, explain_at: float = ...
    ) -> tuple[float, Explanation | None]: ...


def step(
    state: SubjectState | None,
    case: CaseFile | None,
    record: InputRecord,
    context: StepContext,
    model: SeriesModel | None = None,
    watermark_s: float = 0.0,
) -> tuple[SubjectState, CaseFile | None, Outputs]:
    """One validated record through its subject: the whole per-subject path.

    ``case`` is the subject's case file (None if it has none; the caller may
    skip loading it unless :func:`~pipeline.supervision.needs_case_file`),
    ``model`` the reading's series model (which learns from it), and
    ``watermark_s`` the event time the record's partition has reached: a
    deadline already behind it fires at once. Returns the new state, the case
    file (a new one if the record opened it) and the outputs.
    """
    state, outputs = process(state, record, context)
    if outputs.duplicate:
        return state, case, outputs
    if isinstance(record, IotReading):
        if model is not None:
            anomaly = detect_iot_anomaly(model, record, state, context.policy)
            if anomaly is not None:
                outputs.alerts.append(anomaly)
                outputs.model_flagged = True
    elif isinstance(record, EnforcementEvent) and needs_case_file(record, context.policy):
        case = _case_of(state, case)
        effects = workflow.on_filing(case, filing_of(record), context.policy)
        _settle(record.subject, state, case, effects, watermark_s, context, outputs)
    elif isinstance(record, RoleAssignment):
        # Seed 十一: the subject's roles live in its case file, beside its listings.
        case = _case_of(state, case)
        facts = on_role(record.subject, case, record, context)
        outputs.casework.append(SupervisionOutputs(person_facts=facts))
        _settle(record.subject, state, case, workflow.Effects(), watermark_s, context, outputs)
    _review_red_list(record.subject, state, state.clock, context, outputs)
    return state, case, outputs


def _case_of(state: SubjectState, case: CaseFile | None) -> CaseFile:
    """The subject's case file (a new one if it has none), with the subject's type as
    the latest record that said it gave it (seed 十一: the public sector is reported)."""
    case = case if case is not None else CaseFile()
    case.subject_type = state.subject_type
    return case


def on_time(
    subject: str, state: SubjectState, case: CaseFile, now_s: float, context: StepContext
) -> tuple[SubjectState, CaseFile, Outputs]:
    """The subject's other step: what fell due in its case file by event time ``now_s``
    (commitment and rectification deadlines, publication and list periods), when
    its partition's event time passes it, with no record of the subject's own."""
    outputs = Outputs(event_time_s=now_s)
    effects = workflow.on_time(case, now_s, context.policy)
    _settle(subject, state, case, effects, now_s, context, outputs)
    _review_red_list(subject, state, max(now_s, state.clock), context, outputs)
    return state, case, outputs


def on_policy_change(
    subject: str,
    state: SubjectState,
    graded_under: GradedUnder | None,
    context: StepContext,
    at_s: float,
) -> tuple[bool, TierChange | None, list[ListChange]]:
    """A subject under the policy just put in force: re-scored and re-tiered
    (:func:`pipeline.grading.regrade`), then its red-list standing reviewed under the
    new policy's rules (seed 九). Returns whether the state changed (store it), the
    tier change if the tier moved, and the red-list entries and exits."""
    changed, change = regrade(subject, state, graded_under, context, at_s)
    review = red_list_step(subject, state, max(at_s, state.clock), context)
    list_changes = list(review.list_changes) if review is not None else []
    return changed or bool(list_changes), change, list_changes


def _review_red_list(
    subject: str, state: SubjectState, now_s: float, context: StepContext, outputs: Outputs
) -> None:
    """Seed 九: the red list as the subject's state stands after its step, last of its outputs."""
    changes = red_list_step(subject, state, now_s, context)
    if changes is not None:
        outputs.casework.append(changes)


def _settle(
    subject: str,
    state: SubjectState,
    case: CaseFile,
    effects: Effects,
    watermark_s: float,
    context: StepContext,
    outputs: Outputs,
) -> None:
    """Apply what the workflows decided, then what had already fallen due by the
    watermark (an item late when it arrived: a deadline before it), and say when
    the case file next needs the subject woken."""
    _apply(subject, state, case, effects, context, outputs)
    late = workflow.on_time(case, watermark_s, context.policy)
    _apply(subject, state, case, late, context, outputs)
    outputs.case_settled = True
    outputs.next_due_s = case.next_due_s()


def _apply(
    subject: str,
    state: SubjectState,
    case: CaseFile,
    effects: Effects,
    context: StepContext,
    outputs: Outputs,
) -> None:
    if effects:
        outputs.casework.append(apply_effects(subject, state, case, effects, context))


def observation_of(record: InputRecord) -> Observation:
    """What a record means for its subject's risk (readings first: most records are)."""
    if isinstance(record, IotReading):
        return Observation(
            event_id=record.event_id,
            at_s=record.measured_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            iot_exceedance=record.limit is not None and record.value > record.limit,
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
            subject_type=record.subject_type.value if record.subject_type else None,
        )
    if isinstance(record, RoleAssignment):
        return Observation(
            event_id=record.event_id,
            at_s=record.recorded_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            legal_rep_id=representative(record),
            subject_type=record.subject_type.value if record.subject_type else None,
        )
    if isinstance(record, SectorEvaluation):
        # Seed 六: a state or provincial evaluation is a credit record of its grade.
        return Observation(
            event_id=record.event_id,
            at_s=record.evaluated_at.timestamp(),
            region=record.region,
            sector=record.sector.value,
            signal=evaluation_signal(record),
        )
    raise TypeError(f"not an input record: {type(record).__name__}")


def evaluation_signal(record: SectorEvaluation) -> str:
    """The credit signal of a sector evaluation: ``sector_evaluation_<grade>`` (a–d)."""
    return f"sector_evaluation_{record.grade.value.lower()}"


def process(
    state: SubjectState | None, record: InputRecord, context: StepContext
) -> tuple[SubjectState, Outputs]:
    """Apply one validated record to its subject's risk state: score, tier, rules."""
    policy = context.policy
    state = state if state is not None else SubjectState()
    if state.seen(record.event_id):
        return state, Outputs(duplicate=True)
    obs = observation_of(record)
    outputs = Outputs(event_time_s=obs.at_s)
    previous_place = (state.sector, state.region)
    previous_rep = state.legal_rep_id
    state.apply(obs, policy)
    previous = TIERS[state.tier] if state.tier is not None else None
    score, outputs.tier_change = retier(record.subject, state, policy)
    assert state.tier is not None, "retier() assigns a tier"
    tier = TIERS[state.tier]
    hits = evaluate_rules(state, obs, score, previous, tier, policy)
    outputs.alerts = [
        subject_alert(record.subject, state, hit, obs.event_id, obs.at_s, policy) for hit in hits
    ]
    state.prune_alerted(policy.alert_cooldown_s)
    _report_beyond_subject(record.subject, state, score, obs, previous_place, outputs, context)
    if state.legal_rep_id != previous_rep and outputs.adverse_report is None:
        group = linkage_group(record.subject, state.legal_rep_id, context.pseudonym_key)
        outputs.linkage_member = (group, member_of(record.subject, state))
    return state, outputs


def member_of(subject: str, state: SubjectState) -> Member:
    """The subject as its linkage group remembers it."""
    assert state.tier is not None, "process() assigns a tier on a subject's first event"
    return Member(subject, state.region, state.sector, state.tier, state.score)


def _report_beyond_subject(
    subject: str,
    state: SubjectState,
    score: Score,
    obs: Observation,
    previous_place: tuple[str, str],
    outputs: Outputs,
    context: StepContext,
) -> None:
    """Hand the detectors that look across subjects what this record means to them."""
    assert state.tier is not None, "process() assigns a tier on a subject's first event"
    outputs.peer_updates = _peer_updates(subject, state, score, previous_place, obs)
    if obs.signal is not None and obs.department is not None and context.policy.adverse(obs.signal):
        signal = AdverseSignal(
            obs.event_id, obs.at_s, subject, obs.signal, obs.department, obs.sector, obs.region
        )
        group = linkage_group(subject, state.legal_rep_id, context.pseudonym_key)
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


def device_key(reading: IotReading) -> bytes:
    """Key of a (device, metric) series in the device-model table."""
    return f"{reading.device_id}|{reading.metric}".encode()


def detect_iot_anomaly(
    detector: SeriesModel, reading: IotReading, state: SubjectState, policy: Policy
) -> Alert | None:
    """Score a reading with its series' model (which then learns); alert if anomalous."""
    threshold = policy.iot.anomaly_threshold
    score, why = detector.observe(reading.measured_at, reading.value, explain_at=threshold)
    hit = iot_anomaly_hit(reading, score, why, policy)
    if hit is None:
        return None
    at_s = reading.measured_at.timestamp()
    return subject_alert(reading.subject, state, hit, reading.event_id, at_s, policy)
