"""Credit lists (seed 一, 八–十一): entry by the policy's criteria, extension, and exits.

A subject enters the joint-punishment list (失信联合惩戒对象), the
key-attention list (重点关注对象), a market ban (市场和行业禁入, seed 十) or
strict licensing after a broken approval-substitution commitment when its
counting records meet one of the list's entry rules; a further qualifying
record extends the listing. An entry lasts the longest period of the rules it
meets (a ban may have no end). It leaves when the period ends, or when the
records it rests on no longer meet any rule because they were repaired,
corrected on objection, or expired, where the list lets those end it
(``exits_on``: a ban ends only when its basis is corrected). Each change
carries the measures (seed 九/十) that apply to the subject's sector.

Seed 八 (认定依据、标准、程序): a list whose policy has a procedure is not entered
at once. Its rules *propose* the entry; the identifying department (the one
that made the newest record of its basis, 谁认定) decides it within its working
days, or it is escalated; a decision for it gives the subject a notice (告知)
and a window of working days to state its case (陈述申辩); when the window ends
the entry is *published* and stands like any other. A decision against it, at
any step before publication, dismisses it. Its measures apply from the
proposal or from the decision, as the procedure says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from detectors.casefile import CaseFile, CreditRecord, Listing
from detectors.scoring import Fact
from detectors.supervision_policy import (
    EntryRule,
    ListPolicy,
    ListProcedure,
    MeasureSpec,
    SupervisionPolicy,
)

#: Where an entry stands (``Listing.stage``): waiting for its decision, decided (the
#: subject's statement window open), published, dismissed by its decision, exited.
PROPOSED, DECIDED, PUBLISHED, DISMISSED, EXITED = (
    "proposed", "decided", "published", "dismissed", "exited",
)  # fmt: skip
PENDING = frozenset({PROPOSED, DECIDED})


def standing(listing: Listing | None) -> bool:
    """Whether a listing stands: in force, or on its way (proposed or decided)."""
    return listing is not None and (listing.active or listing.stage in PENDING)


def counts(record: CreditRecord, rules: SupervisionPolicy) -> bool:
    """Whether a record counts towards the score and the lists now."""
    return record.published and (rules.counts_while_disputed or not record.disputed)


def latest_counting(case: CaseFile, signal: str, rules: SupervisionPolicy) -> float | None:
    """Event time of the newest counting record of ``signal`` (for tier floors)."""
    times = [r.at_s for r in case.records if r.signal == signal and counts(r, rules)]
    return max(times, default=None)


@dataclass(frozen=True, slots=True)
class ListMove:
    """A list entry (or its extension) or exit, with what the change record needs."""

    listing: Listing  # a snapshot after the change
    basis: tuple[Fact, ...]
    measures: tuple[MeasureSpec, ...]
    fresh: bool = False  # a new entry, not an extension or an exit


def _matches(rule: EntryRule, record: CreditRecord) -> bool:
    return rule.matches(record.signal, record.sector, record.major_loss)


def _rule_basis(
    spec: ListPolicy, records: list[CreditRecord], at_s: float
) -> tuple[list[CreditRecord], list[EntryRule]]:
    """The records that put a subject on the list at ``at_s``, and the rules they
    meet (both empty: none do)."""
    basis: dict[str, CreditRecord] = {}
    met = []
    for rule in spec.entry:
        matching = [r for r in records if _matches(rule, r) and 0 <= at_s - r.at_s <= rule.within_s]
        if len(matching) >= rule.count:
            basis.update((r.event_id, r) for r in matching)
            met.append(rule)
    return sorted(basis.values(), key=lambda r: (r.at_s, r.event_id)), met


def _still_holds(spec: ListPolicy, remaining: list[CreditRecord]) -> bool:
    return any(sum(_matches(rule, r) for r in remaining) >= rule.count for rule in spec.entry)


def _until(at_s: float, period_s: float | None) -> float | None:
    return None if period_s is None else at_s + period_s


def _later(a: float | None, b: float | None) -> float | None:
    """The later of two ends, None (no end) the latest of all."""
    return None if a is None or b is None else max(a, b)


def record_fact(record: CreditRecord, rules: SupervisionPolicy) -> Fact:
    day = rules.calendar.iso_date(record.at_s)
    about = {"event": record.event_id, "day": day, "department": record.department}
    return Fact(record.signal, 1.0, says="event_day_department", about=about)


def _measures(spec: ListPolicy, sector: str) -> tuple[MeasureSpec, ...]:
    return tuple(m for m in spec.measures if m.applies_to(sector))


def evaluate_lists(
    case: CaseFile,
    at_s: float,
    rules: SupervisionPolicy,
    cause: str | None,
    cause_fact: Fact | None,
) -> list[ListMove]:
    """Enter, extend or exit each list as the counting records now require.

    ``cause`` is the exit reason should a listing lose its basis (``repaired``,
    ``objection_upheld``, ``expired``), with ``cause_fact`` as the exit's basis;
    None when records were only added, which can enter or extend but not end one.
    """
    counting = [r for r in case.records if counts(r, rules)]
    moves: list[ListMove] = []
    for spec in rules.lists:
        current = case.listings.get(spec.kind)
        basis, met = _rule_basis(spec, counting, at_s)
        if current is not None and standing(current):
            remaining = [r for r in counting if r.event_id in current.basis]
            added = [r for r in basis if r.event_id not in current.basis]
            if added:
                current.basis = sorted({*current.basis, *(r.event_id for r in added)})
                until = _until(at_s, spec.entry_period_s(met))
                current.expires_at_s = _later(current.expires_at_s, until)
                moves.append(_entered(case, current, spec, basis, rules))
            elif cause in spec.exits_on and not _still_holds(spec, remaining):
                facts = (cause_fact,) if cause_fact else ()
                moves.append(exit_listing(case, current, spec, at_s, cause, facts))
        elif basis and not _barred(case, spec):
            moves.append(_open(case, spec, basis, spec.entry_period_s(met), at_s, rules))
    return moves


def _barred(case: CaseFile, spec: ListPolicy) -> bool:
    """Whether the subject is on (or on its way to) a list that keeps it off this one."""
    return any(standing(case.listings.get(kind)) for kind in spec.unless_listed)


def _open(
    case: CaseFile,
    spec: ListPolicy,
    basis: list[CreditRecord],
    period_s: float | None,
    at_s: float,
    rules: SupervisionPolicy,
    by: str | None = None,
) -> ListMove:
    """A new entry on ``basis``: entered at once, or proposed for the department ``by``
    (default: the one that made its newest record, 谁认定) where the list has a procedure."""
    current = case.listings.get(spec.kind)
    listing = Listing(
        kind=spec.kind,
        version=current.version if current is not None else 0,  # _entered bumps it
        active=True,
        entered_at_s=at_s,
        expires_at_s=_until(at_s, period_s),
        basis=[r.event_id for r in basis],
    )
    case.listings[spec.kind] = listing
    if spec.procedure is None:
        return replace(_entered(case, listing, spec, basis, rules), fresh=True)
    _propose(listing, spec.procedure, by or basis[-1].department, at_s, rules)
    return _entered(case, listing, spec, basis, rules)


def propose_entry(
    case: CaseFile, kind: str, record_id: str, by: str, at_s: float, rules: SupervisionPolicy
) -> ListMove | None:
    """An official's proposal of an entry the rules did not propose (seed 八): on one
    counting record on file, onto a list with a procedure, for the department ``by`` to
    decide. None when it cannot be: no such record or list, or already on its way."""
    spec = next((s for s in rules.lists if s.kind == kind), None)
    record = case.record(record_id)
    if spec is None or spec.procedure is None or record is None or not counts(record, rules):
        return None
    if standing(case.listings.get(kind)) or _barred(case, spec):
        return None
    return _open(case, spec, [record], spec.period_s, at_s, rules, by)


def _propose(
    listing: Listing, procedure: ListProcedure, by: str, at_s: float, rules: SupervisionPolicy
) -> None:
    listing.stage = PROPOSED
    listing.proposal = f"{listing.kind}|v{listing.version + 1}"
    listing.decided_by = by
    listing.decide_by_s = rules.calendar.due_after_working_days(
        at_s, procedure.decide_within_working_days
    )
    listing.active = listing.applied = procedure.measures_from == "proposal"


def pending(
    case: CaseFile, proposal: str, rules: SupervisionPolicy
) -> tuple[Listing, ListPolicy] | None:
    """The listing on its way that ``proposal`` names, with its list's policy (None: none,
    or no longer one with a procedure)."""
    for listing in case.listings.values():
        if listing.proposal == proposal and listing.stage in PENDING:
            spec = rules.list_policy(listing.kind)
            return (listing, spec) if spec.procedure is not None else None
    return None


def decide(
    case: CaseFile,
    listing: Listing,
    spec: ListPolicy,
    upheld: bool,
    by: str,
    at_s: float,
    rules: SupervisionPolicy,
) -> ListMove:
    """The identifying department's decision: for the entry, the subject's statement
    window opens and the measures apply; against it, the entry is dismissed."""
    assert spec.procedure is not None, "only a list with a procedure has decisions"
    listing.decided_by, listing.decided_at_s = by, at_s
    if upheld and listing.stage == PROPOSED:
        listing.stage = DECIDED
        listing.active = listing.applied = True
        listing.statement_until_s = rules.calendar.due_after_working_days(
            at_s, spec.procedure.statement_working_days
        )
    else:
        listing.stage = DISMISSED
        listing.active = False
        listing.exited_at_s = at_s
    return _moved(case, listing, spec, rules)


def publish(
    case: CaseFile, listing: Listing, spec: ListPolicy, at_s: float, rules: SupervisionPolicy
) -> ListMove:
    """The statement window ended: the entry is published and its period runs from now."""
    if listing.expires_at_s is not None:
        listing.expires_at_s += at_s - listing.entered_at_s
    listing.stage, listing.active, listing.entered_at_s = PUBLISHED, True, at_s
    return replace(_moved(case, listing, spec, rules), fresh=True)


def _moved(
    case: CaseFile, listing: Listing, spec: ListPolicy, rules: SupervisionPolicy
) -> ListMove:
    basis = [r for r in case.records if r.event_id in listing.basis]
    return _entered(case, listing, spec, basis, rules)


def _entered(
    case: CaseFile,
    listing: Listing,
    spec: ListPolicy,
    basis: list[CreditRecord],
    rules: SupervisionPolicy,
) -> ListMove:
    listing.version += 1
    facts = tuple(record_fact(r, rules) for r in basis)
    return ListMove(
        replace(listing, basis=list(listing.basis)), facts, _measures(spec, case.sector)
    )


def exit_listing(
    case: CaseFile,
    listing: Listing,
    spec: ListPolicy,
    at_s: float,
    reason: str,
    facts: tuple[Fact, ...],
) -> ListMove:
    listing.version += 1
    listing.active = False
    listing.stage = EXITED
    listing.exited_at_s = at_s
    listing.exit_reason = reason
    return ListMove(
        replace(listing, basis=list(listing.basis)), facts, _measures(spec, case.sector)
    )
