"""What the public may see of a subject at a given moment (seed 十五 双公示、一公开; 四 投诉公示).

The record store (``streams/archive``) hands over plain rows: a subject's
enforcement records, the publication state of its adverse records (from
``risk.publications``), the latest change of each of its lists, and its
complaint counts. :func:`disclose` decides, for a moment ``now``, what of
that is public. The public site's pages and the credit report
(:mod:`pipeline.credit_report`) are both built from its answer, so one rule
decides both.

The rules, each failing closed:

* An adverse record (a penalty, a licence suspended or revoked, a tax
  violation, a court ruling, an abnormal-operation listing, a breached
  commitment, an interview, a spot check that found problems) is shown only
  while its publication says ``published`` *and* ``now`` lies within
  ``[published_from, published_until)``. The time is checked here, not only
  the stored status: a period that ended a second ago is over, whether or not
  the worker has emitted the expiry yet. A record with no publication row
  (the sink has not written it yet) is not shown.
* A repaired record and one corrected after an upheld objection are not
  shown at all; a credit report notes that a repair or correction took place,
  with its date and department, never what the record was
  (:func:`pipeline.credit_report.build_report`).
* Licences, passed spot checks, commitments and honours have no publication
  period: they are shown for the windows of ``pipeline/disclosure.toml``.
* A list membership is shown while its latest change is an entry whose
  period has not ended at ``now``.
* Complaints are counted by category and status; nothing about a complainant
  is in the contracts, and nothing but the counts is shown.
* Personal data: the legal representative's id is never shown; identity-card
  and mobile numbers inside free text are masked (:func:`mask_personal_text`).
  Names of natural persons cannot be recognised reliably in free text: the
  department that publishes a record publishes its text redacted, as the
  双公示 rules require of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from stdnum.cn import ric

from pipeline.disclosure_policy import DisclosurePolicy

#: 双公示's penalty half: administrative penalty decisions (行政处罚决定).
ADMINISTRATIVE_PENALTY_KINDS = frozenset(
    {"penalty", "licence_suspended", "licence_revoked", "tax_violation"}
)
PUBLISHED = "published"
REPAIRED = "repaired"
CORRECTED = "corrected"
MASK = "*****"
#: 18 characters that may be a resident identity number; checked with its check digit.
_IDENTITY_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One enforcement record as stored, every field of the contract."""

    event_id: str
    kind: str
    occurred_at: datetime
    department: str
    region: str
    sector: str
    severity: str | None = None
    result: str | None = None
    commitment_kind: str | None = None
    deadline: datetime | None = None
    concerns_event_id: str | None = None
    outcome: str | None = None
    amount: float | None = None
    reference: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Publication:
    """The publication standing of one adverse record (``risk.publications``' latest version).

    A breach the workflows found by a missed deadline has no input record: its
    standing carries what the public sees of it (kind, department, time).
    """

    event_id: str
    kind: str
    department: str
    region: str
    sector: str
    status: str  # published / expired / repaired / corrected
    published_from: datetime
    published_until: datetime
    disputed: bool = False
    changed_at: datetime | None = None  # when it last changed (a repair, a correction)

    def visible_at(self, now: datetime) -> bool:
        """Published, and ``now`` within its period."""
        return self.status == PUBLISHED and self.published_from <= now < self.published_until


@dataclass(frozen=True, slots=True)
class BasisFact:
    """One fact a list change cites: a credit signal and its detail."""

    signal: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class MeasureRow:
    code: str
    category: str
    description: str


@dataclass(frozen=True, slots=True)
class ListRow:
    """The latest change of one of the subject's lists (``risk.list-changes``)."""

    list: str
    action: str  # entered / exited
    entered_at: datetime
    expires_at: datetime | None
    basis: tuple[BasisFact, ...] = ()
    measures: tuple[MeasureRow, ...] = ()
    exited_at: datetime | None = None
    exit_reason: str | None = None

    def in_force_at(self, now: datetime) -> bool:
        return (
            self.action == "entered"
            and self.entered_at <= now
            and (self.expires_at is None or now < self.expires_at)
        )


@dataclass(frozen=True, slots=True)
class ComplaintCount:
    category: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class SubjectRows:
    """What the store holds about one subject, as plain rows.

    ``complaints`` are the counts of the complaint window (the query applies it);
    ``name`` comes from the subject register when there is one.
    """

    subject: str
    records: tuple[RecordRow, ...] = ()
    publications: Mapping[str, Publication] = field(default_factory=dict)
    lists: tuple[ListRow, ...] = ()
    complaints: tuple[ComplaintCount, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Shown:
    """A record as the public sees it: no legal representative, free text masked.

    ``published_until`` is the end of its publication period (adverse records);
    ``objection`` says whether an objection against it is pending or was rejected.
    """

    event_id: str
    kind: str
    occurred_at: datetime
    department: str
    region: str
    sector: str
    severity: str | None
    result: str | None
    amount: float | None
    reference: str | None
    description: str | None
    published_until: datetime | None = None
    objection: str | None = None  # "pending" / "rejected"
    objection_at: datetime | None = None  # when it was filed, or decided


@dataclass(frozen=True, slots=True)
class CommitmentShown:
    event_id: str
    commitment_kind: str | None
    department: str
    made_at: datetime
    deadline: datetime | None
    status: str  # open / fulfilled / breached
    description: str | None


@dataclass(frozen=True, slots=True)
class Note:
    """A repair or correction: when and by whom, never what the record was."""

    kind: str  # repaired / corrected
    at: datetime
    department: str


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Everything public about one subject at ``as_of``."""

    subject: str
    name: str | None
    region: str | None
    sector: str | None
    as_of: datetime
    licences: tuple[Shown, ...] = ()
    penalties: tuple[Shown, ...] = ()
    other_adverse: tuple[Shown, ...] = ()
    spot_checks: tuple[Shown, ...] = ()
    lists: tuple[ListRow, ...] = ()
    commitments: tuple[CommitmentShown, ...] = ()
    honours: tuple[Shown, ...] = ()
    complaints: tuple[ComplaintCount, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def on_record(self) -> bool:
        """Whether anything at all is public about the subject."""
        return any(
            (
                self.licences,
                self.penalties,
                self.other_adverse,
                self.spot_checks,
                self.lists,
                self.commitments,
                self.honours,
                self.complaints,
            )
        )


def mask_personal_text(text: str | None) -> str | None:
    """Free text with resident identity numbers and mobile numbers masked.

    An 18-character run counts as an identity number only if its check digit
    holds, so a subject's unified social credit code is left alone.

    >>> mask_personal_text("当事人身份证 11010519491231002X，电话 13912345678")
    '当事人身份证 1*****X，电话 1*****8'
    >>> mask_personal_text("主体 91130102MA0EXAMPL1")
    '主体 91130102MA0EXAMPL1'
    """
    if text is None:
        return None

    def identity(match: re.Match[str]) -> str:
        value = match.group(0)
        return _masked(value) if ric.is_valid(value) else value

    return _MOBILE.sub(lambda m: _masked(m.group(0)), _IDENTITY_CANDIDATE.sub(identity, text))


def _masked(value: str) -> str:
    return f"{value[:1]}{MASK}{value[-1:]}"


def shown_without_period(record: RecordRow, now: datetime, policy: DisclosurePolicy) -> bool:
    """Whether a record that has no publication period (a licence, an honour, a passed
    spot check) is on show at ``now``: within its window of ``pipeline/disclosure.toml``."""
    if record.kind == "licence_granted":
        window = policy.licence_window
    elif record.kind == "honour":
        window = policy.honour_window
    elif record.kind == "spot_check" and record.result == "passed":
        window = policy.spot_check_window
    else:
        return False
    return record.occurred_at <= now and now - record.occurred_at < window


def listed(
    record: RecordRow | None,
    publication: Publication | None,
    now: datetime,
    policy: DisclosurePolicy,
) -> Shown | None:
    """One row of a city-wide list as the public sees it, or None if it is not public.

    A record under a publication period is public only while the publication
    shows it, whatever else is known of it; one without a period, within its window.
    """
    if publication is not None:
        return _published(publication, record, {}) if publication.visible_at(now) else None
    if record is not None and shown_without_period(record, now, policy):
        return _shown(record)
    return None


def disclose(rows: SubjectRows, now: datetime, policy: DisclosurePolicy) -> Disclosure:
    """What of ``rows`` is public at ``now`` (the module's docstring has the rules)."""
    past = [r for r in rows.records if r.occurred_at <= now]
    by_id = {r.event_id: r for r in past}
    objections = _objections(past)
    penalties: list[Shown] = []
    other: list[Shown] = []
    spot_checks: list[Shown] = []
    for publication in rows.publications.values():
        if not publication.visible_at(now):
            continue
        shown = _published(publication, by_id.get(publication.event_id), objections)
        if publication.kind == "spot_check":
            spot_checks.append(shown)
        elif publication.kind in ADMINISTRATIVE_PENALTY_KINDS:
            penalties.append(shown)
        else:
            other.append(shown)
    spot_checks += [
        _shown(r) for r in past if r.kind == "spot_check" and shown_without_period(r, now, policy)
    ]
    latest = max(past, key=lambda r: r.occurred_at, default=None)
    return Disclosure(
        subject=rows.subject,
        name=rows.name,
        region=latest.region if latest else None,
        sector=latest.sector if latest else None,
        as_of=now,
        licences=_newest(
            _shown(r)
            for r in past
            if r.kind == "licence_granted" and shown_without_period(r, now, policy)
        ),
        penalties=_newest(penalties),
        other_adverse=_newest(other),
        spot_checks=_newest(spot_checks),
        lists=tuple(sorted((x for x in rows.lists if x.in_force_at(now)), key=lambda x: x.list)),
        commitments=_commitments(past, now, policy),
        honours=_newest(
            _shown(r) for r in past if r.kind == "honour" and shown_without_period(r, now, policy)
        ),
        complaints=tuple(
            sorted(
                (c for c in rows.complaints if c.count > 0), key=lambda c: (c.category, c.status)
            )
        ),
        notes=_notes(rows.publications, now, policy),
    )


def _shown(
    record: RecordRow,
    published_until: datetime | None = None,
    objection: tuple[str, datetime | None] | None = None,
) -> Shown:
    return Shown(
        event_id=record.event_id,
        kind=record.kind,
        occurred_at=record.occurred_at,
        department=record.department,
        region=record.region,
        sector=record.sector,
        severity=record.severity,
        result=record.result,
        amount=record.amount,
        reference=mask_personal_text(record.reference),
        description=mask_personal_text(record.description),
        published_until=published_until,
        objection=objection[0] if objection else None,
        objection_at=objection[1] if objection else None,
    )


def _newest(items: Iterable[Shown]) -> tuple[Shown, ...]:
    return tuple(sorted(items, key=lambda s: (s.occurred_at, s.event_id), reverse=True))


def _published(
    publication: Publication,
    record: RecordRow | None,
    objections: dict[str, tuple[str, datetime | None]],
) -> Shown:
    """An adverse record in publication: its details from the input record when there is
    one (a breach found by a missed deadline has none), its standing from the publication.

    The publication says whether an objection is open (``disputed``); the records
    say when it was filed, and whether an earlier one was rejected.
    """
    found = objections.get(publication.event_id)
    objection: tuple[str, datetime | None] | None
    if publication.disputed:
        objection = ("pending", found[1] if found and found[0] == "pending" else None)
    elif found is not None and found[0] == "rejected":
        objection = found
    else:
        objection = None
    if record is None:
        record = RecordRow(
            event_id=publication.event_id,
            kind=publication.kind,
            occurred_at=publication.published_from,
            department=publication.department,
            region=publication.region,
            sector=publication.sector,
        )
    return _shown(record, publication.published_until, objection)


def _objections(records: Iterable[RecordRow]) -> dict[str, tuple[str, datetime | None]]:
    """Per disputed record, its latest objection: ``pending`` (when filed), or the
    decision (``rejected``/``upheld``, when decided)."""
    state: dict[str, tuple[str, datetime | None]] = {}
    for record in sorted(records, key=lambda r: r.occurred_at):
        target = record.concerns_event_id
        if target is None:
            continue
        if record.kind == "objection_filed":
            state[target] = ("pending", record.occurred_at)
        elif record.kind == "objection_decided" and record.outcome is not None:
            state[target] = (record.outcome, record.occurred_at)
    return state


def _commitments(
    records: list[RecordRow], now: datetime, policy: DisclosurePolicy
) -> tuple[CommitmentShown, ...]:
    """The commitments register: each commitment made in the window, and whether it was kept.

    A fulfilment or breach names its commitment in ``concerns_event_id``; one
    that names none closes the oldest open commitment of the same kind and
    department (the contract's rule). A commitment whose deadline passed
    unfulfilled is breached, as the workflow decides at the deadline.
    """
    made = sorted((r for r in records if r.kind == "commitment_made"), key=lambda r: r.occurred_at)
    status = {c.event_id: "open" for c in made}
    closers = sorted(
        (r for r in records if r.kind in ("commitment_fulfilled", "commitment_breached")),
        key=lambda r: r.occurred_at,
    )
    for closer in closers:
        target = closer.concerns_event_id
        if target is None:
            target = next(
                (
                    c.event_id
                    for c in made
                    if status[c.event_id] == "open"
                    and c.department == closer.department
                    and c.commitment_kind == closer.commitment_kind
                    and c.occurred_at <= closer.occurred_at
                ),
                None,
            )
        if target in status and status[target] == "open":
            status[target] = "fulfilled" if closer.kind == "commitment_fulfilled" else "breached"
    shown = []
    for c in made:
        if now - c.occurred_at >= policy.commitment_window:
            continue
        current = status[c.event_id]
        if current == "open" and c.deadline is not None and c.deadline < now:
            current = "breached"
        shown.append(
            CommitmentShown(
                event_id=c.event_id,
                commitment_kind=c.commitment_kind,
                department=c.department,
                made_at=c.occurred_at,
                deadline=c.deadline,
                status=current,
                description=mask_personal_text(c.description),
            )
        )
    return tuple(reversed(shown))


def _notes(
    publications: Mapping[str, Publication], now: datetime, policy: DisclosurePolicy
) -> tuple[Note, ...]:
    """Repairs and corrections within the notes window: when the publication ended that
    way and the department whose record it was; never what the record said."""
    notes = [
        Note(p.status, p.changed_at, p.department)
        for p in publications.values()
        if p.status in (REPAIRED, CORRECTED)
        and p.changed_at is not None
        and p.changed_at <= now
        and now - p.changed_at < policy.notes_window
    ]
    return tuple(sorted(notes, key=lambda n: n.at, reverse=True))
