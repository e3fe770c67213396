"""The supervision workflows (``detectors.workflow``) joined to a subject's risk state.

Plain functions, like :mod:`pipeline.subject`: they apply what a workflow
decided to the subject's score (a derived breach adds a record; a repair or
an upheld objection takes one out), move the tier, and build the output
records: alerts, list changes and department notices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from detectors.casefile import CaseFile, ItemStatus, Listing
from detectors.commitments import BREACH_SIGNALS, breach_signal
from detectors.cross_sector import LinkedListing, linkage_group
from detectors.listing import ListMove, counts, latest_counting
from detectors.policy import Policy
from detectors.scoring import Fact
from detectors.state import Observation, SubjectState
from detectors.workflow import WORKFLOW_KINDS, Effects, Filing, Notice, PublicationMove
from pipeline.alert_titles import fact_words
from pipeline.alerts import AlertSubject, carried_basis, evidence_of, make_alert
from pipeline.context import StepContext
from pipeline.grading import retier
from pipeline.measures import measure_record, measure_view
from pipeline.persons import listing_facts
from pipeline.public_sector import public_sector_reports
from topics.decode import InputRecord
from topics.enforcement import EnforcementEvent
from topics.internal import PersonFact
from topics.lists import ExitReason, ListAction, ListChange, ListKind
from topics.publications import Publication
from topics.risk import Alert, TierChange
from topics.roles import RoleAssignment
from topics.vocabulary import (
    Department,
    EnforcementKind,
    PublicationStatus,
    Sector,
    Severity,
    SpotCheckResult,
)
from topics.wire_time import iso, utc
from topics.workflow import NoticeReason, WorkflowNotice

# Enforcement kinds that map straight onto a policy signal.
SIGNAL_OF_KIND: dict[EnforcementKind, str] = {
    EnforcementKind.LICENCE_SUSPENDED: "licence_suspended",
    EnforcementKind.LICENCE_REVOKED: "licence_revoked",
    EnforcementKind.COURT_DISHONEST_DEBTOR: "court_dishonest_debtor",
    EnforcementKind.TAX_VIOLATION: "tax_violation",
    EnforcementKind.ABNORMAL_OPERATION_LISTED: "abnormal_operation",
    EnforcementKind.COMMITMENT_FULFILLED: "commitment_fulfilled",
    EnforcementKind.DECISION_REFUSED: "decision_refused",
    EnforcementKind.INTERVIEW: "interview",
    EnforcementKind.HONOUR: "honour",
    EnforcementKind.VOLUNTARY_REGISTRATION: "voluntary_registration",
    EnforcementKind.REPAIR_COMPLETED: "repair_completed",
}


def enforcement_signal(event: EnforcementEvent) -> str | None:
    """The credit signal an enforcement record carries, if any: for the subject's score
    (:func:`pipeline.subject.observation_of`) and for its case file (:func:`filing_of`)."""
    if event.kind is EnforcementKind.PENALTY:
        return f"penalty_{event.severity}"
    if event.kind is EnforcementKind.SPOT_CHECK:
        passed = event.result is SpotCheckResult.PASSED
        return "spot_check_passed" if passed else "spot_check_problems"
    if event.kind is EnforcementKind.COMMITMENT_BREACHED:
        assert event.commitment_kind is not None, "the contract requires it"
        return breach_signal(event.commitment_kind.value)  # each kind its own score effect
    return SIGNAL_OF_KIND.get(event.kind)


def needs_case_file(event: InputRecord, policy: Policy) -> bool:
    """Whether the workflows act on ``event``: it opens, closes or publishes something,
    or it is a role record (seed 十一: roles are kept beside the listings).

    Most enforcement records do not, and complaints and readings never do, so
    most subjects have no case file and most records never load one.
    """
    if isinstance(event, RoleAssignment):
        return True
    if not isinstance(event, EnforcementEvent):
        return False
    if event.kind in WORKFLOW_KINDS:
        return True
    signal = enforcement_signal(event)
    return signal is not None and policy.supervision.publication_of(signal) is not None


@dataclass(slots=True)
class SupervisionOutputs:
    alerts: list[Alert] = field(default_factory=list)
    tier_change: TierChange | None = None
    list_changes: list[ListChange] = field(default_factory=list)
    notices: list[WorkflowNotice] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    # (linkage group, listing) for the representative's other subjects (seed 十一)
    linked_listings: list[tuple[str, LinkedListing]] = field(default_factory=list)
    # (person pseudonym, fact) for the person-record agent (seed 十, 十一)
    person_facts: list[tuple[str, PersonFact]] = field(default_factory=list)


def filing_of(event: EnforcementEvent) -> Filing:
    return Filing(
        event_id=event.event_id,
        kind=event.kind,
        at_s=event.occurred_at.timestamp(),
        department=event.department.value,
        sector=event.sector.value,
        region=event.region,
        signal=enforcement_signal(event),
        deadline_s=event.deadline.timestamp() if event.deadline is not None else None,
        commitment_kind=event.commitment_kind.value if event.commitment_kind else None,
        concerns=event.concerns_event_id,
        outcome=event.outcome.value if event.outcome is not None else None,
        legal_rep_id=event.legal_rep_id,
        major_loss=bool(event.major_loss),
        text=event.description,
        reference=event.reference,
    )


def apply_effects(
    subject: str, state: SubjectState, case: CaseFile, effects: Effects, context: StepContext
) -> SupervisionOutputs:
    """Fold a workflow's effects into the subject's risk state and build the outputs."""
    policy = context.policy
    rules = policy.supervision
    for derived in effects.derived:
        if not state.seen(derived.event_id):
            observation = Observation(
                derived.event_id,
                derived.at_s,
                case.region,
                case.sector,
                signal=derived.signal,
                department=derived.department,
            )
            state.apply(observation, policy)
    for record in effects.withdrawn:
        state.withdraw(
            record.signal, record.at_s, policy, latest_counting(case, record.signal, rules)
        )
    for record in effects.restored:
        if counts(record, rules):
            state.restore(record.signal, record.at_s, policy)
    for void in effects.retracted:
        state.withdraw(void.signal, void.at_s, policy, None)
    outputs = SupervisionOutputs()
    if effects.derived or effects.withdrawn or effects.restored or effects.retracted:
        _, outputs.tier_change = retier(subject, state, policy)
    assert state.tier is not None, "a subject with a case file has been scored"
    about = AlertSubject(subject, state.tier, state.score, case.region, case.sector)
    outputs.alerts = [
        make_alert(f"{subject}:{a.hit.rule_key}", a.hit, about, [a.event_id], a.at_s, policy)
        for a in effects.alerts
    ]
    outputs.list_changes = [list_change(subject, case, move, policy) for move in effects.list_moves]
    notices = effects.notices + public_sector_reports(case, effects, rules)
    outputs.notices = [_notice(subject, case, notice, policy) for notice in notices]
    outputs.publications = [
        _publication(subject, case, move, policy) for move in effects.publications
    ]
    if case.legal_rep_id:
        group = linkage_group(subject, case.legal_rep_id, context.pseudonym_key)
        outputs.linked_listings = [
            (group, _linked_listing(subject, move))
            for move in effects.list_moves
            if move.fresh and move.listing.kind in LINKED_LISTS
        ]
    outputs.person_facts = listing_facts(subject, case, effects.list_moves, rules)
    return outputs


#: Seed 十一: a joint-punishment listing extends to the legal representative.
LINKED_LISTS = frozenset({ListKind.JOINT_PUNISHMENT.value})


def _linked_listing(subject: str, move: ListMove) -> LinkedListing:
    listing = move.listing
    return LinkedListing(
        subject=subject,
        list=listing.kind,
        version=listing.version,
        at_s=listing.entered_at_s,
        event_id=f"{subject}|{listing.kind}|v{listing.version}",
        basis=carried_basis(move.basis),
    )


#: A listing's step as its list change names it (seed 八); published: entered or exited.
ACTION_OF_STAGE = {
    "proposed": ListAction.PROPOSED,
    "decided": ListAction.DECIDED,
    "dismissed": ListAction.DISMISSED,
    "exited": ListAction.EXITED,
}


def list_action(listing: Listing) -> ListAction:
    action = ACTION_OF_STAGE.get(listing.stage)
    if action is not None:
        return action
    return ListAction.ENTERED if listing.active else ListAction.EXITED


class Placed(Protocol):
    """Where a subject is, as its case file or its risk state knows it."""

    region: str
    sector: str
    legal_rep_id: str | None


def list_change(subject: str, place: Placed, move: ListMove, policy: Policy) -> ListChange:
    """A list move as ``risk.list-changes`` carries it (every list's, the red list's too)."""
    listing = move.listing
    # A proposal whose measures wait for the decision carries none: none apply yet.
    measures = move.measures if listing.active or listing.stage != "proposed" else ()
    return ListChange(
        subject=subject,
        list=ListKind(listing.kind),
        action=list_action(listing),
        basis=evidence_of(move.basis),
        entered_at=utc(listing.entered_at_s),
        expires_at=utc(listing.expires_at_s),
        exited_at=utc(listing.exited_at_s),
        exit_reason=ExitReason(listing.exit_reason) if listing.exit_reason else None,
        measures=[measure_record(m) for m in measures],
        legal_rep_id=place.legal_rep_id,
        version=listing.version,
        policy_version=policy.version,
        region=place.region,
        sector=Sector(place.sector),
        proposal=listing.proposal,
        decide_by=utc(listing.decide_by_s),
        decided_by=listing.decided_by,
        decided_at=utc(listing.decided_at_s),
        statement_until=utc(listing.statement_until_s),
    )


#: The enforcement kind behind each credit signal that is not named after its kind.
KIND_OF_SIGNAL: dict[str, EnforcementKind] = {
    **{signal: kind for kind, signal in SIGNAL_OF_KIND.items()},
    **dict.fromkeys(BREACH_SIGNALS, EnforcementKind.COMMITMENT_BREACHED),
    "abnormal_operation": EnforcementKind.ABNORMAL_OPERATION_LISTED,
    "spot_check_passed": EnforcementKind.SPOT_CHECK,
    "spot_check_problems": EnforcementKind.SPOT_CHECK,
    **{f"penalty_{severity}": EnforcementKind.PENALTY for severity in Severity},
}


def record_kind(signal: str) -> EnforcementKind:
    """The enforcement kind of a record carrying ``signal`` (:func:`enforcement_signal`'s inverse).

    >>> record_kind("penalty_serious").value, record_kind("abnormal_operation").value
    ('penalty', 'abnormal_operation_listed')
    """
    return KIND_OF_SIGNAL[signal]


def _publication(
    subject: str, case: CaseFile, move: PublicationMove, policy: Policy
) -> Publication:
    """Seed 十五: a record's standing in publication, as the public site shows it."""
    record = move.record
    published_from, published_until, repairable_from = (
        utc(record.at_s),
        utc(record.publish_until_s),
        utc(record.repairable_from_s),
    )
    changed_at = utc(move.at_s)
    assert published_from and published_until and repairable_from and changed_at
    return Publication(
        event_id=record.event_id,
        subject=subject,
        kind=record_kind(record.signal),
        signal=record.signal,
        severity=policy.supervision.class_of[record.signal],
        department=Department(record.department),
        sector=Sector(record.sector),
        region=case.region,
        status=PublicationStatus(record.status.value),
        published_from=published_from,
        published_until=published_until,
        repairable_from=repairable_from,
        disputed=record.disputed,
        reason=move.reason,
        cause_event_id=move.cause,
        changed_at=changed_at,
        version=record.version,
        policy_version=policy.version,
    )


def _reason(fact: Fact) -> NoticeReason:
    """A reason as a notice carries it: its code, explained in English and in Chinese."""
    _, explained = fact_words(fact)
    assert explained is not None, "every reason a notice gives says why"
    detail_zh, detail = explained
    return NoticeReason(code=fact.fact, detail=detail, detail_zh=detail_zh)


def _notice(subject: str, case: CaseFile, notice: Notice, policy: Policy) -> WorkflowNotice:
    return WorkflowNotice(
        notice_id=notice.notice_id,
        subject=subject,
        kind=notice.kind,
        department=Department(notice.department),
        issued_at=utc(notice.at_s),
        concerns_event_id=notice.concerns,
        due_at=utc(notice.due_s),
        reasons=[_reason(fact) for fact in notice.reasons],
        earliest_eligible_at=utc(notice.earliest_s),
        policy_version=policy.version,
        region=case.region,
        sector=Sector(case.sector),
        person=notice.person,
    )


def case_view(case: CaseFile, policy: Policy) -> dict[str, Any]:
    """The case file as the subject profile shows it (seed 一 and 十七: what is public).

    Lists carry their measures with the approval actions each restricts, so a
    department can ask "does a measure apply to action X" from the profile alone.
    """
    rules = policy.supervision
    lists: list[dict[str, Any]] = []
    for listing in case.listings.values():
        if not listing.active:  # measures apply: in force, or on its way under its procedure
            continue
        spec = rules.list_policy(listing.kind)
        lists.append(
            {
                "list": listing.kind,
                "entered_at": iso(listing.entered_at_s),
                "expires_at": None if listing.expires_at_s is None else iso(listing.expires_at_s),
                "basis": listing.basis,
                "version": listing.version,
                "measures": [measure_view(m) for m in spec.measures if m.applies_to(case.sector)],
            }
        )
    # Seed 八: entries on their way, with the subject's statements, for the deciding official.
    procedures = [
        {
            "list": listing.kind,
            "proposal": listing.proposal,
            "step": list_action(listing).value,
            "proposed_at": iso(listing.entered_at_s),
            "decided_by": listing.decided_by,
            "decide_by": iso(listing.decide_by_s) if listing.decide_by_s else None,
            "escalated": listing.escalated,
            "decided_at": iso(listing.decided_at_s) if listing.decided_at_s else None,
            "statement_until": iso(listing.statement_until_s)
            if listing.statement_until_s
            else None,
            "measures_apply": listing.active,
            "statements": [
                {"event_id": e, "at": iso(at), "text": text} for e, at, text in listing.statements
            ],
        }
        for listing in case.listings.values()
        if listing.stage in ("proposed", "decided")
    ]
    return {
        "subject_type": case.subject_type,
        "list_procedures": procedures,
        # Seed 十一: who answers for the subject, by pseudonym (/api/persons/{person}).
        "roles": [
            {
                "person": r.person,
                "role": r.role,
                "held_from": iso(r.from_s),
                "held_until": None if r.until_s is None else iso(r.until_s),
            }
            for r in case.roles
        ],
        "lists": lists,
        "published_records": [
            {
                "event_id": r.event_id,
                "signal": r.signal,
                "at": iso(r.at_s),
                "department": r.department,
                "publish_until": iso(r.publish_until_s),
                "repairable_from": iso(r.repairable_from_s),
                "disputed": r.disputed,
            }
            for r in case.records
            if r.published
        ],
        "commitments": [
            {
                "event_id": c.event_id,
                "kind": c.kind,
                "department": c.department,
                "made_at": iso(c.made_at_s),
                "due": iso(c.due_s),
                "status": c.status.value,
            }
            for c in case.commitments
        ],
        "open_deadlines": [
            {
                "event_id": r.event_id,
                "what": "rectification" if r.status is ItemStatus.OPEN else "interview",
                "department": r.department,
                "due": iso(r.interview_due_s or r.due_s),
            }
            for r in case.rectifications
            if r.status in (ItemStatus.OPEN, ItemStatus.OVERDUE)
        ],
        "objections": [
            {
                "event_id": o.event_id,
                "record": o.record_id,
                "department": o.department,
                "filed_at": iso(o.filed_at_s),
                "due": iso(o.due_s),
                "status": o.status.value,
            }
            for o in case.objections
        ],
        "repairs": [
            {
                "event_id": d.event_id,
                "record": d.record_id,
                "applied_at": iso(d.applied_at_s),
                "approved": d.approved,
                "voided": d.voided,
                "reasons": d.reasons,
                "earliest_eligible_at": iso(d.earliest_s) if d.earliest_s else None,
            }
            for d in case.repairs
        ],
    }
