"""Seed 十/十一: responsible people, from the subject's side and from their own.

Where the state lives. A subject's roles (who held which role in it, when)
are the subject's facts: they come on ``registry.roles``, keyed by the
subject, and are kept in its case file beside its listings, so the subject's
step (the one owner of its state) decides who a listing reaches: the people
who held one of the list's ``person_roles`` *when the subject was listed*. A
person's record gathers what reaches them from every subject they answer for,
and subjects live on different partitions; so it has a home of its own, keyed
by the person's pseudonym (as the cross-sector agent keys linkage groups),
and the subject's step sends it facts on ``risk.internal.person-facts``:

* :func:`on_role` (subject side): a role record: remember the role and tell
  the person, with every listing of the subject the role covers (a role
  registered late still brings the person the listing);
* :func:`listing_facts` (subject side): a listing's entry, extension or exit,
  to each person it reaches;
* :func:`step` (person side, the person-record agent): fold a fact into the
  :class:`~detectors.persons.PersonFile` and publish the person's record
  (``risk.person-records``) when it changed.

People are named by the keyed pseudonym of their id only
(:func:`~detectors.cross_sector.person_pseudonym`); the id and the name go to
the person's record alone, where the API masks them for all but the centre.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.casefile import CaseFile, Listing, RoleSpan
from detectors.cross_sector import person_pseudonym
from detectors.listing import ListMove, record_fact
from detectors.persons import Entry, PersonFile
from detectors.policy import Policy
from detectors.supervision_policy import SupervisionPolicy
from pipeline.alerts import basis_fact, carried_basis, evidence_of
from pipeline.context import StepContext
from pipeline.measures import measure_record
from topics.internal import BasisFact, ListingFact, PersonFact, RoleFact
from topics.lists import ExitReason, ListKind
from topics.persons import HeldRole, PersonCreditRecord, PersonEntry
from topics.roles import RoleAssignment
from topics.vocabulary import DEFAULT_SUBJECT_TYPE, PersonRole, Sector, SubjectType
from topics.wire_time import utc

# ------------------------------------------------------------------ the subject's side


def representative(record: RoleAssignment) -> str | None:
    """The legal representative a role record names, if still in office when recorded:
    whom the subject's linkage group is keyed by (seed 十一), as a record's own
    ``legal_rep_id`` does."""
    at_s = record.recorded_at.timestamp()
    current = record.held_until is None or record.held_until.timestamp() > at_s
    return record.person_id if record.role is PersonRole.LEGAL_REPRESENTATIVE and current else None


def on_role(
    subject: str, case: CaseFile, record: RoleAssignment, context: StepContext
) -> list[tuple[str, PersonFact]]:
    """A ``registry.roles`` record: the subject's case file remembers the role; the
    person hears of it, and of each listing of the subject that reaches them now."""
    person = person_pseudonym(record.person_id, context.pseudonym_key)
    until = record.held_until.timestamp() if record.held_until is not None else None
    span = RoleSpan(person, record.role.value, record.held_from.timestamp(), until, record.event_id)
    case.hold(span)
    case.region, case.sector = record.region, record.sector.value
    # The representative's other subjects hear of a listing (pipeline/supervision.py).
    case.legal_rep_id = representative(record) or case.legal_rep_id
    at_s = record.recorded_at.timestamp()
    facts: list[tuple[str, PersonFact]] = [
        (
            person,
            RoleFact(
                person=person,
                subject=subject,
                role=span.role,
                held_from_s=span.from_s,
                held_until_s=span.until_s,
                subject_type=case.subject_type,
                region=case.region,
                sector=case.sector,
                person_id=record.person_id,
                person_name=record.person_name,
                at_s=at_s,
                event_id=record.event_id,
            ),
        )
    ]
    rules = context.policy.supervision
    for listing in case.listings.values():
        if span.role not in _reach(rules, listing.kind):
            continue
        held = any(
            s.person == person for s in case.holders(listing.entered_at_s, frozenset({span.role}))
        )
        records = (case.record(event_id) for event_id in listing.basis)
        basis = carried_basis(tuple(record_fact(r, rules) for r in records if r is not None))
        facts.append((person, _listing_fact(subject, case, span, listing, basis, at_s, held)))
    return facts


def listing_facts(
    subject: str, case: CaseFile, moves: Iterable[ListMove], rules: SupervisionPolicy
) -> list[tuple[str, PersonFact]]:
    """Seed 十/十一: each listing move, to every person it reaches: those who held one
    of the list's ``person_roles`` in the subject when it was entered."""
    facts: list[tuple[str, PersonFact]] = []
    for move in moves:
        listing = move.listing
        reach = _reach(rules, listing.kind)
        if not reach or not listing.applied:  # seed 八: an entry whose measures never applied
            continue
        basis = carried_basis(move.basis)
        at_s = listing.exited_at_s if listing.exited_at_s is not None else listing.entered_at_s
        seen: set[tuple[str, str]] = set()
        for span in case.holders(listing.entered_at_s, reach):
            if (span.person, span.role) in seen:
                continue
            seen.add((span.person, span.role))
            facts.append(
                (span.person, _listing_fact(subject, case, span, listing, basis, at_s, True))
            )
    return facts


def _reach(rules: SupervisionPolicy, kind: str) -> frozenset[str]:
    return next((spec.person_roles for spec in rules.lists if spec.kind == kind), frozenset())


def _listing_fact(
    subject: str,
    case: CaseFile,
    span: RoleSpan,
    listing: Listing,
    basis: tuple[BasisFact, ...],
    at_s: float,
    held: bool,
) -> ListingFact:
    return ListingFact(
        person=span.person,
        subject=subject,
        role=span.role,
        list=listing.kind,
        version=listing.version,
        active=listing.active,
        entered_at_s=listing.entered_at_s,
        expires_at_s=listing.expires_at_s,
        exited_at_s=listing.exited_at_s,
        exit_reason=listing.exit_reason,
        basis=basis,
        region=case.region,
        sector=case.sector,
        at_s=at_s,
        held=held,
    )


# ------------------------------------------------------------------ the person's side


def step(
    file: PersonFile | None, fact: PersonFact, context: StepContext
) -> tuple[PersonFile, list[PersonCreditRecord]]:
    """The person-record agent's step: fold one fact into the person's file; the
    person's record if it changed (a redelivered or older fact changes nothing)."""
    file = file if file is not None else PersonFile()
    changed = file.learn_role(fact) if isinstance(fact, RoleFact) else file.learn_listing(fact)
    if not changed:
        return file, []
    file.version += 1
    file.changed_at_s = max(file.changed_at_s, fact.at_s)
    return file, [person_record(fact.person, file, context.policy)]


def person_record(person: str, file: PersonFile, policy: Policy) -> PersonCreditRecord:
    """The person's record as ``risk.person-records`` carries it: roles, and the
    listings that reached them (one per subject and list, with every role it came
    through) with the measures on the person."""
    changed_at = utc(file.changed_at_s)
    assert changed_at is not None
    grouped: dict[tuple[str, str], list[Entry]] = {}
    for entry in file.entries.values():
        grouped.setdefault((entry.subject, entry.list), []).append(entry)
    entries = [
        _entry(sorted(group, key=lambda e: e.version)[-1], group, policy)
        for group in grouped.values()
    ]
    entries.sort(key=lambda e: (e.entered_at, e.subject, e.list))
    roles = [
        HeldRole(
            subject=r.subject,
            role=PersonRole(r.role),
            held_from=utc(r.from_s),
            held_until=utc(r.until_s),
            subject_type=SubjectType(r.subject_type or DEFAULT_SUBJECT_TYPE),
            region=r.region,
            sector=Sector(r.sector),
        )
        for r in sorted(file.roles.values(), key=lambda r: (r.from_s, r.subject, r.role))
    ]
    return PersonCreditRecord(
        person=person,
        person_id=file.person_id,
        person_name=file.person_name,
        roles=roles,
        entries=entries,
        version=file.version,
        changed_at=changed_at,
        policy_version=policy.version,
    )


def _entry(latest: Entry, group: list[Entry], policy: Policy) -> PersonEntry:
    spec = next((s for s in policy.supervision.lists if s.kind == latest.list), None)
    measures = (
        [] if spec is None else [m for m in spec.person_measures if m.applies_to(latest.sector)]
    )
    return PersonEntry(
        subject=latest.subject,
        roles=sorted({PersonRole(e.role) for e in group}),
        list=ListKind(latest.list),
        version=latest.version,
        active=latest.active,
        entered_at=utc(latest.entered_at_s),
        expires_at=utc(latest.expires_at_s),
        exited_at=utc(latest.exited_at_s),
        exit_reason=ExitReason(latest.exit_reason) if latest.exit_reason else None,
        basis=evidence_of(tuple(basis_fact(f) for f in latest.basis)),
        measures=[measure_record(m) for m in measures],
        region=latest.region,
        sector=Sector(latest.sector),
    )
