"""Supervision workflows as plain functions on a subject's case file.

Seed 一 (commitments), 八–十一 (lists and their measures), 十二 (rectification
deadlines and interviews), 十三 (credit repair) and 十七 (objections).
:func:`on_filing` applies an enforcement record; :func:`on_time` fires what
fell due by an event time (deadlines, publication periods, list periods).
Both return :class:`Effects`: what the stream layer must publish and what the
subject's risk state must take back or add. Everything is in event time on
the policy's working-day calendar, so a replay decides exactly the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

from detectors.alert_rules import AlertRule
from detectors.casefile import (
    CaseFile,
    Commitment,
    CreditRecord,
    ItemStatus,
    Listing,
    Objection,
    RecordStatus,
    Rectification,
    RepairDecision,
)
from detectors.commitments import Consequence, breach_signal
from detectors.listing import (
    DECIDED,
    PROPOSED,
    ListMove,
    counts,
    decide,
    evaluate_lists,
    exit_listing,
    pending,
    propose_entry,
    publish,
)
from detectors.policy import Policy
from detectors.repair import assess_repair, reason, repair_commitment
from detectors.rules import RuleHit
from detectors.scoring import Fact
from detectors.supervision_policy import SupervisionPolicy
from topics.vocabulary import AlertKind, EnforcementKind, NoticeKind, PublicationReason

_K = EnforcementKind
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Filing:
    """An enforcement record as the workflows see it (plain values, epoch seconds)."""

    event_id: str
    kind: EnforcementKind
    at_s: float
    department: str
    sector: str
    region: str
    signal: str | None = None  # the credit signal the record carries, if any
    deadline_s: float | None = None
    commitment_kind: str | None = None
    concerns: str | None = None  # the event id of the record or item it is about
    outcome: str | None = None  # of an objection: "upheld" or "rejected"
    legal_rep_id: str | None = None
    major_loss: bool = False  # a penalty decision found major losses (seed 十)
    text: str | None = None  # what the record says: a subject's statement (陈述申辩)
    reference: str | None = None  # of a list_proposed: the list


@dataclass(frozen=True, slots=True)
class Notice:
    notice_id: str  # deterministic: a replay re-creates the same notice
    kind: NoticeKind
    department: str
    at_s: float
    concerns: str  # event id of the commitment, order, objection or application
    due_s: float | None = None
    #: Each reason's code (``fact``) and its explanation (``says``, ``about``), worded
    #: in Chinese and English by pipeline/alert_titles.py.
    reasons: tuple[Fact, ...] = ()
    earliest_s: float | None = None
    person: str | None = None  # the pseudonym of the person it is about, if any


@dataclass(frozen=True, slots=True)
class WorkflowAlert:
    hit: RuleHit
    event_id: str  # that caused it (a record, or a derived id for a deadline)
    at_s: float


@dataclass(frozen=True, slots=True)
class DerivedRecord:
    """A credit record the workflows made themselves (a breach by deadline, a repair)."""

    event_id: str
    signal: str
    at_s: float
    department: str


@dataclass(frozen=True, slots=True)
class PublicationMove:
    """A credit record entered publication or its standing changed (seed 十五)."""

    record: CreditRecord  # a copy, as it stands after the move
    reason: PublicationReason
    at_s: float  # event time of the move
    cause: str | None = None  # event id of the record that moved it; None: time did


@dataclass(slots=True)
class Effects:
    notices: list[Notice] = field(default_factory=list)
    list_moves: list[ListMove] = field(default_factory=list)
    alerts: list[WorkflowAlert] = field(default_factory=list)
    derived: list[DerivedRecord] = field(default_factory=list)  # add to the score
    withdrawn: list[CreditRecord] = field(default_factory=list)  # take out of the score
    restored: list[CreditRecord] = field(default_factory=list)  # put back into the score
    retracted: list[DerivedRecord] = field(default_factory=list)  # derived, now void
    publications: list[PublicationMove] = field(default_factory=list)  # what the public sees

    def __bool__(self) -> bool:
        """Whether there is anything to apply or publish."""
        return any(getattr(self, f.name) for f in fields(self))


# ------------------------------------------------------------------ records


def _credit_record(
    event_id: str,
    signal: str,
    at_s: float,
    department: str,
    sector: str,
    rules: SupervisionPolicy,
    major_loss: bool = False,
) -> CreditRecord | None:
    period = rules.publication_of(signal)
    if period is None:
        return None
    calendar = rules.calendar
    return CreditRecord(
        event_id=event_id,
        signal=signal,
        at_s=at_s,
        department=department,
        sector=sector,
        publish_until_s=calendar.days_after_s(at_s, period.max_days),
        repairable_from_s=calendar.days_after_s(at_s, period.min_days),
        major_loss=major_loss,
    )


def _published(
    effects: Effects,
    record: CreditRecord,
    reason: PublicationReason,
    at_s: float,
    cause: str | None = None,
) -> None:
    """Note a change of ``record``'s publication (after it is made), with a new version."""
    record.version += 1
    effects.publications.append(PublicationMove(replace(record), reason, at_s, cause))


LIST_ALERTS = {
    "joint_punishment": AlertRule.JOINT_PUNISHMENT_LIST,
    "key_attention": AlertRule.KEY_ATTENTION_LIST,
    "market_ban": AlertRule.MARKET_BAN_LIST,
}


def _list_alerts(
    moves: list[ListMove], event_id: str, at_s: float, rules: SupervisionPolicy
) -> list[WorkflowAlert]:
    alerts = []
    for move in moves:
        listing = move.listing
        if not move.fresh or listing.kind not in LIST_ALERTS:  # an entry, not an extension
            continue
        rule = LIST_ALERTS[listing.kind]
        hit = RuleHit(
            rule,
            f"list:{listing.kind}:v{listing.version}",
            AlertKind.LIST,
            rules.alert_severity.of(rule),
            move.basis,
            cooldown=False,
        )
        alerts.append(WorkflowAlert(hit, event_id, at_s))
    return alerts


# ------------------------------------------------------------------ filings


def on_filing(case: CaseFile, filing: Filing, policy: Policy) -> Effects:
    """Apply one enforcement record (already de-duplicated) to the case file."""
    rules = policy.supervision
    if not case.file_once(filing.event_id):
        return Effects()  # filed before a crash, replayed now
    case.region, case.sector = filing.region, filing.sector
    if filing.legal_rep_id:
        case.legal_rep_id = filing.legal_rep_id
    effects = Effects()
    # Asked before the handler closes the commitment: was this breach on the record already?
    counted = filing.kind is _K.COMMITMENT_BREACHED and _already_breached(case, filing)
    handler = _HANDLERS.get(filing.kind)
    if handler is not None:
        handler(case, filing, rules, effects)
    if filing.signal is not None:
        _add_record(case, filing, rules, effects, counted)
    case.prune(rules.max_closed_items)
    return effects


def _add_record(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects, counted: bool
) -> None:
    """Put the filing's credit record on file and in publication; ``counted``: a
    breach the deadline already put there, which the score must not count twice."""
    assert filing.signal is not None
    record = _credit_record(
        filing.event_id,
        filing.signal,
        filing.at_s,
        filing.department,
        filing.sector,
        rules,
        filing.major_loss,
    )
    if record is None:
        return
    if counted:
        effects.withdrawn.append(record)  # the deadline already recorded this breach
        return
    case.records.append(record)
    _published(effects, record, PublicationReason.FILED, filing.at_s, filing.event_id)
    _reevaluate(case, filing.at_s, rules, effects, None, None, filing.event_id)


def _reevaluate(
    case: CaseFile,
    at_s: float,
    rules: SupervisionPolicy,
    effects: Effects,
    cause: str | None,
    cause_fact: Fact | None,
    event_id: str,
) -> None:
    moves = evaluate_lists(case, at_s, rules, cause, cause_fact)
    effects.list_moves += moves
    effects.alerts += _list_alerts(moves, event_id, at_s, rules)
    _decisions_due(moves, at_s, rules, effects)


def _decisions_due(
    moves: list[ListMove], at_s: float, rules: SupervisionPolicy, effects: Effects
) -> None:
    for move in moves:  # seed 八 (谁认定): a new proposal is the identifying department's task
        listing = move.listing
        if listing.stage == PROPOSED and listing.proposal == f"{listing.kind}|v{listing.version}":
            assert listing.decided_by is not None
            kind = NoticeKind.LIST_DECISION_DUE
            notice_id = f"{listing.proposal}:{kind.value}"
            about = {
                "list": listing.kind,
                "department": listing.decided_by,
                "day": rules.calendar.iso_date(at_s),
            }
            effects.notices.append(
                Notice(
                    notice_id,
                    kind,
                    listing.decided_by,
                    at_s,
                    listing.proposal,
                    listing.decide_by_s,
                    (reason(kind.value, "list_proposed", about),),
                )
            )


def _oldest(items: list[T], match: Callable[[T], bool]) -> T | None:
    return next((item for item in items if match(item)), None)


def _commitment_for(case: CaseFile, filing: Filing) -> Commitment | None:
    if filing.concerns is not None:
        return _oldest(case.commitments, lambda c: c.event_id == filing.concerns)
    return _oldest(
        case.commitments,
        lambda c: c.status is ItemStatus.OPEN and c.kind == filing.commitment_kind,
    )


def _already_breached(case: CaseFile, filing: Filing) -> bool:
    commitment = _commitment_for(case, filing)
    return commitment is not None and commitment.status is ItemStatus.BREACHED


def _commitment_made(case: CaseFile, filing: Filing, rules: SupervisionPolicy, _: Effects) -> None:
    assert filing.deadline_s is not None and filing.commitment_kind is not None
    case.commitments.append(
        Commitment(
            event_id=filing.event_id,
            kind=filing.commitment_kind,
            department=filing.department,
            made_at_s=filing.at_s,
            due_s=rules.calendar.due_s(filing.deadline_s),
        )
    )


def _commitment_closed(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    commitment = _commitment_for(case, filing)
    kept = filing.kind is _K.COMMITMENT_FULFILLED
    if commitment is None:
        if not kept:  # a breach of a commitment made before this file: its kind still counts
            assert filing.commitment_kind is not None
            unknown = Commitment(
                filing.concerns or filing.event_id,
                filing.commitment_kind,
                filing.department,
                filing.at_s,
                filing.at_s,
                ItemStatus.BREACHED,
                filing.at_s,
            )
            _breach_consequences(case, unknown, filing.at_s, filing.event_id, rules, effects)
        return
    if commitment.status is not ItemStatus.OPEN:
        return  # already closed (a breach by the deadline stands)
    commitment.status = ItemStatus.FULFILLED if kept else ItemStatus.BREACHED
    commitment.closed_at_s = filing.at_s
    if not kept:
        _breach_consequences(case, commitment, filing.at_s, filing.event_id, rules, effects)


def _breach_consequences(
    case: CaseFile,
    commitment: Commitment,
    at_s: float,
    cause: str,
    rules: SupervisionPolicy,
    effects: Effects,
) -> None:
    """Seed 一: what breaking a commitment of its kind sets off (``[commitments.<kind>]``).

    The breach record itself (its kind's signal, published, counting towards the
    lists) is added by the caller; here are the kind's consequences.
    """
    consequences = rules.commitments.of(commitment.kind)
    broken = {
        "commitment_kind": commitment.kind,
        "commitment": commitment.event_id,
        "day": rules.calendar.iso_date(at_s),
    }
    if Consequence.REVOKE_APPROVAL in consequences:
        why = reason("revoke_approval", "revoke_approval", broken)
        effects.notices.append(_consequence(NoticeKind.APPROVAL_REVOCATION, commitment, at_s, why))
    if Consequence.NOTIFY_ASSOCIATION in consequences:
        why = reason("self_discipline", "self_discipline_breached", broken)
        notice = _consequence(NoticeKind.SELF_DISCIPLINE_BREACHED, commitment, at_s, why)
        effects.notices.append(replace(notice, department=ASSOCIATION))
    if Consequence.VOID_REPAIR in consequences:
        _void_repairs(case, commitment, at_s, cause, rules, effects)


#: Who hears of a broken self-discipline commitment (seed 十八).
ASSOCIATION = "industry_association"


def _consequence(kind: NoticeKind, commitment: Commitment, at_s: float, why: Fact) -> Notice:
    return Notice(
        notice_id=f"{commitment.event_id}:{kind.value}",
        kind=kind,
        department=commitment.department,
        at_s=at_s,
        concerns=commitment.event_id,
        reasons=(why,),
    )


def _void_repairs(
    case: CaseFile,
    commitment: Commitment,
    at_s: float,
    cause: str,
    rules: SupervisionPolicy,
    effects: Effects,
) -> None:
    """Seed 一/十三: the repairs approved on a broken credit-repair commitment are void.

    The repaired record is published again (until its own period's end) and
    counts again, the repair's own credit is taken back, and the lists are
    re-evaluated, so a listing the repair ended comes back.
    """
    voided = False
    for decision in case.repairs:
        if (
            not decision.approved
            or decision.voided
            or decision.commitment_id != commitment.event_id
        ):
            continue
        decision.voided = True
        voided = True
        effects.retracted.append(
            DerivedRecord(
                f"{decision.event_id}:completed",
                "repair_completed",
                decision.applied_at_s,
                commitment.department,
            )
        )
        about = {
            "record": decision.record_id,
            "commitment": commitment.event_id,
            "day": rules.calendar.iso_date(at_s),
        }
        effects.notices.append(
            Notice(
                notice_id=f"{decision.event_id}:{NoticeKind.REPAIR_VOIDED.value}",
                kind=NoticeKind.REPAIR_VOIDED,
                department=commitment.department,
                at_s=at_s,
                concerns=decision.event_id,
                reasons=(reason("commitment_breached", "repair_voided", about),),
            )
        )
        record = case.record(decision.record_id)
        if record is None or record.status is not RecordStatus.REPAIRED:
            continue
        record.status = RecordStatus.PUBLISHED
        _published(effects, record, PublicationReason.REPAIR_VOIDED, at_s, cause)
        if counts(record, rules):
            effects.restored.append(record)
    if voided:
        _reevaluate(case, at_s, rules, effects, None, None, cause)


def _rectification_ordered(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, _: Effects
) -> None:
    assert filing.deadline_s is not None
    case.rectifications.append(
        Rectification(
            event_id=filing.event_id,
            department=filing.department,
            ordered_at_s=filing.at_s,
            due_s=rules.calendar.due_s(filing.deadline_s),
        )
    )


def _rectification_for(case: CaseFile, filing: Filing, status: ItemStatus) -> Rectification | None:
    if filing.concerns is not None:
        return _oldest(case.rectifications, lambda r: r.event_id == filing.concerns)
    return _oldest(
        case.rectifications,
        lambda r: r.status is status and r.department == filing.department,
    ) or _oldest(case.rectifications, lambda r: r.status is status)


def _rectification_completed(
    case: CaseFile, filing: Filing, _: SupervisionPolicy, __: Effects
) -> None:
    order = _rectification_for(case, filing, ItemStatus.OPEN) or _rectification_for(
        case, filing, ItemStatus.OVERDUE
    )
    if order is None or order.status.closed:
        return
    if order.status is ItemStatus.OPEN:  # a late completion keeps the interview due
        order.status = ItemStatus.COMPLETED
        order.closed_at_s = filing.at_s


def _interview(case: CaseFile, filing: Filing, _: SupervisionPolicy, __: Effects) -> None:
    order = _rectification_for(case, filing, ItemStatus.OVERDUE)
    if order is not None and order.status is ItemStatus.OVERDUE:
        order.status = ItemStatus.INTERVIEWED
        order.closed_at_s = filing.at_s


def _objection_filed(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    assert filing.concerns is not None
    record = case.record(filing.concerns)
    if record is not None and record.published and not record.disputed:
        record.disputed = True
        _published(effects, record, PublicationReason.OBJECTION_FILED, filing.at_s, filing.event_id)
        if not rules.counts_while_disputed:
            effects.withdrawn.append(record)
    case.objections.append(
        Objection(
            event_id=filing.event_id,
            record_id=filing.concerns,
            department=record.department if record is not None else filing.department,
            filed_at_s=filing.at_s,
            due_s=rules.calendar.due_after_working_days(
                filing.at_s, rules.objection_within_working_days
            ),
        )
    )


def _objection_decided(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    assert filing.concerns is not None
    upheld = filing.outcome == "upheld"
    objection = _oldest(
        case.objections, lambda o: o.record_id == filing.concerns and not o.status.closed
    )
    if objection is not None:
        objection.status = ItemStatus.UPHELD if upheld else ItemStatus.REJECTED
        objection.closed_at_s = filing.at_s
    record = case.record(filing.concerns)
    if record is None or not record.published:
        return
    was_counting = counts(record, rules)
    was_disputed, record.disputed = record.disputed, False
    if upheld:
        record.status = RecordStatus.CORRECTED
        _published(
            effects, record, PublicationReason.OBJECTION_UPHELD, filing.at_s, filing.event_id
        )
        if was_counting:
            effects.withdrawn.append(record)
        fact = Fact(
            "objection_upheld",
            1.0,
            says="event_on",
            about={"event": filing.event_id, "record": record.event_id},
        )
        _reevaluate(case, filing.at_s, rules, effects, "objection_upheld", fact, filing.event_id)
    else:
        if was_disputed:
            reason = PublicationReason.OBJECTION_REJECTED
            _published(effects, record, reason, filing.at_s, filing.event_id)
        if not was_counting:
            effects.restored.append(record)


def _repair_applied(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    assert filing.concerns is not None
    reasons, earliest_s = assess_repair(case, filing.concerns, filing.at_s, rules)
    approved = not reasons
    commitment = repair_commitment(case, filing.at_s, rules) if approved else None
    case.repairs.append(
        RepairDecision(
            filing.event_id,
            filing.concerns,
            filing.at_s,
            approved,
            [r.fact for r in reasons],
            earliest_s,
            commitment.event_id if commitment is not None else None,
        )
    )
    effects.notices.append(
        Notice(
            notice_id=f"{filing.event_id}:decision",
            kind=NoticeKind.REPAIR_APPROVED if approved else NoticeKind.REPAIR_REJECTED,
            department=filing.department,
            at_s=filing.at_s,
            concerns=filing.event_id,
            reasons=tuple(reasons),
            earliest_s=earliest_s,
        )
    )
    if approved:
        _repair(case, filing, rules, effects)


def _repair(case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects) -> None:
    """Seed 十三: stop publishing the record, end its measures, recompute the tier."""
    assert filing.concerns is not None
    record = case.record(filing.concerns)
    if record is None or not record.published:
        return
    if counts(record, rules):
        effects.withdrawn.append(record)
    record.status = RecordStatus.REPAIRED
    record.disputed = False
    _published(effects, record, PublicationReason.REPAIRED, filing.at_s, filing.event_id)
    if filing.kind is _K.REPAIR_APPLIED:  # approved here: the repair is completed
        effects.derived.append(
            DerivedRecord(
                f"{filing.event_id}:completed", "repair_completed", filing.at_s, filing.department
            )
        )
    fact = Fact(
        "repair_completed",
        1.0,
        says="event_on",
        about={"event": filing.event_id, "record": record.event_id},
    )
    _reevaluate(case, filing.at_s, rules, effects, "repaired", fact, filing.event_id)


def _repair_completed(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    """A repair decided by the credit agency itself: applied without our assessment."""
    _repair(case, filing, rules, effects)


def _list_proposed(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    """Seed 八: an official proposes an entry on a record on file; its department decides."""
    assert filing.concerns is not None and filing.reference is not None
    move = propose_entry(
        case, filing.reference, filing.concerns, filing.department, filing.at_s, rules
    )
    if move is not None:
        effects.list_moves.append(move)
        _decisions_due([move], filing.at_s, rules, effects)


def _list_decided(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    """Seed 八 (谁认定): the identifying department decides a proposed entry. For it: the
    subject gets its notice (告知) with the last day to state its case (陈述申辩); against
    it (also after a statement, while the window is open): the entry is dismissed."""
    assert filing.concerns is not None
    found = pending(case, filing.concerns, rules)
    if found is None:
        return  # decided already, withdrawn, or never proposed: nothing to decide
    listing, spec = found
    upheld = filing.outcome == "upheld"
    if upheld and listing.stage == DECIDED:
        return  # decided for it already: its window runs
    move = decide(case, listing, spec, upheld, filing.department, filing.at_s, rules)
    effects.list_moves.append(move)
    if listing.stage == DECIDED:
        about = {
            "list": listing.kind,
            "department": filing.department,
            "day": rules.calendar.iso_date(filing.at_s),
        }
        effects.notices.append(
            Notice(
                notice_id=f"{filing.concerns}:{NoticeKind.LIST_NOTICE.value}",
                kind=NoticeKind.LIST_NOTICE,
                department=filing.department,
                at_s=filing.at_s,
                concerns=filing.concerns,
                due_s=listing.statement_until_s,
                reasons=(reason("list_decided", "list_notice", about),),
            )
        )


def _list_statement(
    case: CaseFile, filing: Filing, rules: SupervisionPolicy, effects: Effects
) -> None:
    """Seed 八 (陈述申辩): the subject's statement on a proposed or decided entry, kept
    with it and sent to the deciding department, who may still decide against it."""
    assert filing.concerns is not None
    found = pending(case, filing.concerns, rules)
    if found is None:
        return
    listing, _ = found
    if listing.stage == DECIDED and listing.statement_until_s is not None:
        if filing.at_s >= listing.statement_until_s:
            return  # after the window: the entry is published (time fired first)
    listing.statements.append([filing.event_id, filing.at_s, (filing.text or "")[:MAX_STATEMENT]])
    del listing.statements[:-MAX_STATEMENTS]
    about = {"event": filing.event_id, "department": listing.decided_by or filing.department}
    effects.notices.append(
        Notice(
            notice_id=f"{filing.event_id}:{NoticeKind.LIST_STATEMENT_RECEIVED.value}",
            kind=NoticeKind.LIST_STATEMENT_RECEIVED,
            department=listing.decided_by or filing.department,
            at_s=filing.at_s,
            concerns=filing.concerns,
            reasons=(reason("list_statement", "event_department", about),),
        )
    )


#: A statement kept with its listing: its first characters, and the latest statements.
MAX_STATEMENT, MAX_STATEMENTS = 2_000, 10


_HANDLERS: dict[EnforcementKind, Callable[[CaseFile, Filing, SupervisionPolicy, Effects], None]] = {
    _K.COMMITMENT_MADE: _commitment_made,
    _K.COMMITMENT_FULFILLED: _commitment_closed,
    _K.COMMITMENT_BREACHED: _commitment_closed,
    _K.RECTIFICATION_ORDERED: _rectification_ordered,
    _K.RECTIFICATION_COMPLETED: _rectification_completed,
    _K.INTERVIEW: _interview,
    _K.OBJECTION_FILED: _objection_filed,
    _K.OBJECTION_DECIDED: _objection_decided,
    _K.REPAIR_APPLIED: _repair_applied,
    _K.REPAIR_COMPLETED: _repair_completed,
    _K.LIST_PROPOSED: _list_proposed,
    _K.LIST_DECIDED: _list_decided,
    _K.LIST_STATEMENT: _list_statement,
}

#: The enforcement kinds the workflows act on, besides credit records.
WORKFLOW_KINDS = frozenset(_HANDLERS)


# ------------------------------------------------------------------ time


def on_time(case: CaseFile, now_s: float, policy: Policy) -> Effects:
    """Fire everything due at or before event time ``now_s``, oldest first."""
    rules = policy.supervision
    effects = Effects()
    while (due := case.next_due_s()) is not None and due <= now_s:
        _fire_one(case, due, rules, effects)
    case.prune(rules.max_closed_items)
    return effects


def _fire_one(case: CaseFile, due: float, rules: SupervisionPolicy, effects: Effects) -> None:
    """Fire the items due exactly at ``due`` (each changes state, so none fires twice)."""
    for commitment in case.commitments:
        if commitment.status is ItemStatus.OPEN and commitment.due_s == due:
            _deadline_missed(case, commitment, rules, effects)
    for order in case.rectifications:
        if order.status is ItemStatus.OPEN and order.due_s == due:
            order.status = ItemStatus.OVERDUE
            order.interview_due_s = rules.calendar.due_working_days_after_due(
                due, rules.interview_within_working_days
            )
            _task(
                effects,
                NoticeKind.INTERVIEW_DUE,
                order.event_id,
                order.department,
                due,
                order.interview_due_s,
                rules,
            )
    for objection in case.objections:
        if objection.status is ItemStatus.OPEN and objection.due_s == due:
            objection.status = ItemStatus.ESCALATED
            _task(
                effects,
                NoticeKind.OBJECTION_OVERDUE,
                objection.event_id,
                objection.department,
                due,
                None,
                rules,
            )
    for record in case.records:
        if record.published and record.publish_until_s == due:
            record.status = RecordStatus.EXPIRED
            record.disputed = False
            _published(effects, record, PublicationReason.EXPIRED, due)
            fact = Fact("publication_ended", 1.0, says="event", about={"event": record.event_id})
            _reevaluate(case, due, rules, effects, "expired", fact, f"{record.event_id}:expired")
    for listing in case.listings.values():
        _procedure_due(case, listing, due, rules, effects)
    for listing in case.listings.values():
        if listing.active and listing.stage == "published" and listing.expires_at_s == due:
            spec = rules.list_policy(listing.kind)
            fact = Fact(
                "list_period_ended",
                1.0,
                says="entered",
                about={"day": rules.calendar.iso_date(listing.entered_at_s)},
            )
            effects.list_moves.append(exit_listing(case, listing, spec, due, "expired", (fact,)))


def _procedure_due(
    case: CaseFile, listing: Listing, due: float, rules: SupervisionPolicy, effects: Effects
) -> None:
    """Seed 八: a decision not made in time is escalated (once); an entry whose statement
    window ended is published, with its alerts and everything a new entry sets off."""
    assert listing.proposal is not None or listing.stage not in (PROPOSED, DECIDED)
    if listing.stage == PROPOSED and not listing.escalated and listing.decide_by_s == due:
        listing.escalated = True
        assert listing.proposal is not None and listing.decided_by is not None
        kind = NoticeKind.LIST_DECISION_OVERDUE
        _task(effects, kind, listing.proposal, listing.decided_by, due, None, rules)
    elif listing.stage == DECIDED and listing.statement_until_s == due:
        move = publish(case, listing, rules.list_policy(listing.kind), due, rules)
        effects.list_moves.append(move)
        effects.alerts += _list_alerts([move], f"{listing.proposal}:published", due, rules)


def _deadline_missed(
    case: CaseFile, commitment: Commitment, rules: SupervisionPolicy, effects: Effects
) -> None:
    """Seed 一/四: a commitment not fulfilled by its deadline is a breach on the record,
    with its kind's consequences."""
    commitment.status = ItemStatus.BREACHED
    commitment.closed_at_s = commitment.due_s
    breach_id = f"{commitment.event_id}:breach"
    signal = breach_signal(commitment.kind)
    record = _credit_record(
        breach_id,
        signal,
        commitment.due_s,
        commitment.department,
        case.sector,
        rules,
    )
    _task(
        effects,
        NoticeKind.COMMITMENT_BREACHED,
        commitment.event_id,
        commitment.department,
        commitment.due_s,
        None,
        rules,
    )
    _breach_consequences(case, commitment, commitment.due_s, breach_id, rules, effects)
    effects.derived.append(
        DerivedRecord(breach_id, signal, commitment.due_s, commitment.department)
    )
    if record is not None:  # published under its class, so it counts towards the lists
        case.records.append(record)
        reason = PublicationReason.DEADLINE_MISSED
        _published(effects, record, reason, commitment.due_s, commitment.event_id)
        _reevaluate(case, commitment.due_s, rules, effects, None, None, breach_id)


def _task(
    effects: Effects,
    kind: NoticeKind,
    concerns: str,
    department: str,
    at_s: float,
    due_s: float | None,
    rules: SupervisionPolicy,
) -> None:
    notice_id = f"{concerns}:{kind.value}"
    effects.notices.append(Notice(notice_id, kind, department, at_s, concerns, due_s))
    about = {"event": concerns, "department": department}
    facts = (Fact(kind.value, 1.0, says="event_department", about=about),)
    rule = AlertRule(kind.value)  # a missed deadline's rule is named after its notice
    severity = rules.alert_severity.of(rule)
    # One key per subject and kind: the next missed deadline folds into an open alert.
    hit = RuleHit(rule, kind.value, AlertKind.DEADLINE, severity, facts, False)
    effects.alerts.append(WorkflowAlert(hit, notice_id, at_s))
