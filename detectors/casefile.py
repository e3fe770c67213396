"""A subject's supervision case file: its published adverse records, commitments,
rectification orders, objections, list memberships and repair decisions.

Only subjects with workflow records have one, so it may be richer than the
per-event risk state (``detectors.state``). Closed items are kept, newest
last, up to the policy's ``max_closed_items`` per kind, for the profile.
Stored as JSON: it is read per enforcement record, not per reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from topics.vocabulary import DEFAULT_SUBJECT_TYPE

CASE_FORMAT = 1
#: Event ids remembered per case file (a replayed batch is at most this long per subject).
FILED_MEMORY = 64
#: Roles remembered per subject: every current one, and the latest ended ones up to this.
MAX_ROLES = 32


class RecordStatus(StrEnum):
    PUBLISHED = "published"
    EXPIRED = "expired"  # its publication period ended
    REPAIRED = "repaired"  # seed 十三: publication stopped after credit repair
    CORRECTED = "corrected"  # seed 十七: withdrawn after an upheld objection


class ItemStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"  # a commitment kept
    BREACHED = "breached"  # a commitment broken, or its deadline missed
    COMPLETED = "completed"  # a rectification done
    OVERDUE = "overdue"  # a rectification missed: an interview is due
    INTERVIEWED = "interviewed"  # the interview for a missed rectification was held
    ESCALATED = "escalated"  # an objection past its time limit
    UPHELD = "upheld"
    REJECTED = "rejected"

    @property
    def closed(self) -> bool:
        return self not in (ItemStatus.OPEN, ItemStatus.OVERDUE, ItemStatus.ESCALATED)


@dataclass(slots=True)
class CreditRecord:
    """An adverse record under a publication period (``detectors.supervision_policy``)."""

    event_id: str
    signal: str
    at_s: float
    department: str
    sector: str
    publish_until_s: float
    repairable_from_s: float
    status: RecordStatus = RecordStatus.PUBLISHED
    disputed: bool = False
    #: Rises by one on each change of its publication (``risk.publications``).
    version: int = 0
    #: The decision found major losses or serious consequences (a ground for a ban).
    major_loss: bool = False

    @property
    def published(self) -> bool:
        return self.status is RecordStatus.PUBLISHED


@dataclass(slots=True)
class Commitment:
    event_id: str
    kind: str  # CommitmentKind value
    department: str  # that accepted it
    made_at_s: float
    due_s: float
    status: ItemStatus = ItemStatus.OPEN
    closed_at_s: float | None = None


@dataclass(slots=True)
class Rectification:
    event_id: str
    department: str  # that ordered it, and interviews if it is missed
    ordered_at_s: float
    due_s: float
    status: ItemStatus = ItemStatus.OPEN
    interview_due_s: float | None = None
    closed_at_s: float | None = None


@dataclass(slots=True)
class Objection:
    event_id: str
    record_id: str  # the disputed record
    department: str  # that decides it: the one that made the record
    filed_at_s: float
    due_s: float
    status: ItemStatus = ItemStatus.OPEN
    closed_at_s: float | None = None


@dataclass(slots=True)
class Listing:
    """Membership of one list; kept after the exit so versions keep rising."""

    kind: str  # ListKind value
    version: int
    active: bool
    entered_at_s: float
    expires_at_s: float | None  # None: no end (a permanent market ban)
    basis: list[str]  # record event ids
    exited_at_s: float | None = None
    exit_reason: str | None = None  # ExitReason value
    # Seed 八 (按程序, issue 17), for a list with a procedure: where the entry stands
    # (detectors.listing.Stage), the proposal's id, who decides it by when (谁认定),
    # when the decision came, when the subject's statement window (陈述申辩) ends, and
    # its statements: [event id, time, text]. ``active`` says whether its measures apply.
    stage: str = "published"
    proposal: str | None = None
    decided_by: str | None = None
    decide_by_s: float | None = None
    escalated: bool = False
    decided_at_s: float | None = None
    statement_until_s: float | None = None
    statements: list[list[Any]] = field(default_factory=list)
    applied: bool = True  # its measures applied at some point (its people were reached)


@dataclass(slots=True)
class RepairDecision:
    event_id: str  # of the application
    record_id: str
    applied_at_s: float
    approved: bool
    reasons: list[str]
    earliest_s: float | None  # when the period-bound conditions will hold
    # The credit-repair commitment an approval rested on: breaking it voids the repair.
    commitment_id: str | None = None
    voided: bool = False


@dataclass(slots=True)
class RoleSpan:
    """Seed 十一: a person held ``role`` in the subject from ``from_s`` until ``until_s``."""

    person: str  # the keyed pseudonym of the person's id (never the id itself)
    role: str  # PersonRole value
    from_s: float
    until_s: float | None  # None: still held
    event_id: str  # of the latest registry.roles record about it

    def covers(self, at_s: float) -> bool:
        return self.from_s <= at_s and (self.until_s is None or at_s < self.until_s)


@dataclass(slots=True)
class CaseFile:
    region: str = ""
    sector: str = ""
    legal_rep_id: str | None = None
    subject_type: str = DEFAULT_SUBJECT_TYPE.value
    records: list[CreditRecord] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)
    rectifications: list[Rectification] = field(default_factory=list)
    objections: list[Objection] = field(default_factory=list)
    listings: dict[str, Listing] = field(default_factory=dict)
    repairs: list[RepairDecision] = field(default_factory=list)
    roles: list[RoleSpan] = field(default_factory=list)
    # The last records filed, so a batch replayed after a crash is not filed twice.
    filed: list[str] = field(default_factory=list)

    def file_once(self, event_id: str) -> bool:
        """Remember ``event_id``; False if it was filed already."""
        if event_id in self.filed:
            return False
        self.filed.append(event_id)
        del self.filed[:-FILED_MEMORY]
        return True

    def record(self, event_id: str) -> CreditRecord | None:
        return next((r for r in self.records if r.event_id == event_id), None)

    def next_due_s(self) -> float | None:
        """The earliest event time at which something here falls due."""
        due = [c.due_s for c in self.commitments if c.status is ItemStatus.OPEN]
        due += [r.due_s for r in self.rectifications if r.status is ItemStatus.OPEN]
        due += [o.due_s for o in self.objections if o.status is ItemStatus.OPEN]
        due += [r.publish_until_s for r in self.records if r.published]
        due += [
            m.expires_at_s
            for m in self.listings.values()
            if m.active and m.stage == "published" and m.expires_at_s is not None
        ]
        for m in self.listings.values():  # seed 八: a decision due, a statement window ending
            if m.stage == "proposed" and not m.escalated and m.decide_by_s is not None:
                due.append(m.decide_by_s)
            elif m.stage == "decided" and m.statement_until_s is not None:
                due.append(m.statement_until_s)
        return min(due, default=None)

    def holders(self, at_s: float, roles: frozenset[str]) -> list[RoleSpan]:
        """The roles of ``roles`` held at ``at_s``, one per person and role."""
        return [span for span in self.roles if span.role in roles and span.covers(at_s)]

    def hold(self, span: RoleSpan) -> None:
        """Remember a role (replacing the same person's same role from the same day),
        bounded: every current role and the latest ended ones up to :data:`MAX_ROLES`."""
        self.roles = [
            r
            for r in self.roles
            if (r.person, r.role, r.from_s) != (span.person, span.role, span.from_s)
        ]
        self.roles.append(span)
        ended = [r for r in self.roles if r.until_s is not None]
        ended.sort(key=lambda r: r.until_s or 0.0)
        dropped = {id(r) for r in ended[: max(0, len(self.roles) - MAX_ROLES)]}
        self.roles = [r for r in self.roles if id(r) not in dropped]

    def prune(self, max_closed: int) -> None:
        """Bound the file: keep every open item and the newest ``max_closed`` closed ones."""
        self.records = _bounded(self.records, lambda r: r.published or r.disputed, max_closed)
        for name in ("commitments", "rectifications", "objections"):
            items = getattr(self, name)
            setattr(self, name, _bounded(items, lambda i: not i.status.closed, max_closed))
        self.repairs = self.repairs[-max_closed:]

    def to_bytes(self) -> bytes:
        # orjson encodes dataclasses itself, ~10x faster than dataclasses.asdict.
        return orjson.dumps({"format": CASE_FORMAT, "case": self})

    @classmethod
    def from_bytes(cls, data: bytes) -> CaseFile:
        document = orjson.loads(data)
        if document.get("format") != CASE_FORMAT:
            raise ValueError("unknown case file format")
        raw = document["case"]
        return cls(
            region=raw["region"],
            sector=raw["sector"],
            legal_rep_id=raw["legal_rep_id"],
            subject_type=raw.get("subject_type", DEFAULT_SUBJECT_TYPE.value),
            records=[_load(CreditRecord, item) for item in raw["records"]],
            commitments=[_load(Commitment, item) for item in raw["commitments"]],
            rectifications=[_load(Rectification, item) for item in raw["rectifications"]],
            objections=[_load(Objection, item) for item in raw["objections"]],
            listings={k: Listing(**v) for k, v in raw["listings"].items()},
            repairs=[RepairDecision(**item) for item in raw["repairs"]],
            roles=[RoleSpan(**item) for item in raw.get("roles", [])],
            filed=raw["filed"],
        )


T = TypeVar("T")


def _bounded(items: list[T], keep: Any, max_closed: int) -> list[T]:
    closed = [item for item in items if not keep(item)]
    dropped = {id(item) for item in closed[: max(0, len(closed) - max_closed)]}
    return [item for item in items if id(item) not in dropped]


def _load(cls: type[T], item: dict[str, Any]) -> T:
    """Rebuild a dataclass whose ``status`` is an enumeration (stored as its value)."""
    status_type = RecordStatus if cls is CreditRecord else ItemStatus
    return cls(**{**item, "status": status_type(item["status"])})
