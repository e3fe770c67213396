"""``enforcement.events``: what departments did about a subject, and what it did.

Penalties, licence actions, spot checks, court rulings, tax violations,
abnormal-operation listing, credit commitments (seed 一), rectification and
interviews (seed 十二), credit repair (seed 十三), voluntary registration
(seed 五), honours, and objections (seed 十七).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v
from topics.lists import ListKind
from topics.vocabulary import (
    CommitmentKind,
    Department,
    EnforcementKind,
    ObjectionOutcome,
    Sector,
    Severity,
    SpotCheckResult,
    SubjectType,
)

KINDS_NEEDING_SEVERITY = frozenset({EnforcementKind.PENALTY})
KINDS_NEEDING_COMMITMENT_KIND = frozenset(
    {
        EnforcementKind.COMMITMENT_MADE,
        EnforcementKind.COMMITMENT_FULFILLED,
        EnforcementKind.COMMITMENT_BREACHED,
    }
)
KINDS_NEEDING_DEADLINE = frozenset(
    {EnforcementKind.RECTIFICATION_ORDERED, EnforcementKind.COMMITMENT_MADE}
)
#: Kinds that act on an earlier record, named by its ``event_id`` in ``concerns_event_id``.
KINDS_NEEDING_CONCERNS = frozenset(
    {
        EnforcementKind.OBJECTION_FILED,
        EnforcementKind.OBJECTION_DECIDED,
        EnforcementKind.REPAIR_APPLIED,
        EnforcementKind.REPAIR_COMPLETED,
        EnforcementKind.LIST_PROPOSED,
        EnforcementKind.LIST_DECIDED,
        EnforcementKind.LIST_STATEMENT,
    }
)
#: Kinds decided upheld or rejected (``outcome``).
KINDS_NEEDING_OUTCOME = frozenset({EnforcementKind.OBJECTION_DECIDED, EnforcementKind.LIST_DECIDED})


class EnforcementEvent(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    subject: str
    kind: EnforcementKind
    occurred_at: datetime
    department: Department
    sector: Sector
    region: str
    severity: Severity | None = None
    commitment_kind: CommitmentKind | None = None
    result: SpotCheckResult | None = None
    deadline: datetime | None = None
    # The event_id of the record or item this one acts on: the disputed or repaired
    # record, or the commitment, rectification order or missed order it closes.
    concerns_event_id: str | None = None
    outcome: ObjectionOutcome | None = None  # of objection_decided
    amount: float | None = None
    legal_rep_id: str | None = None
    reference: str | None = None
    description: str | None = None
    # Added with issue 18 (older records lack them): the subject's type (None: an
    # enterprise), and on a penalty whether the decision finds the violation caused
    # major losses or serious consequences (造成重大损失, a ground for a market ban).
    subject_type: SubjectType | None = None
    major_loss: bool | None = None


MAX_AMOUNT = 1e12


def parse_enforcement(data: dict[str, Any]) -> EnforcementEvent:
    """Validate a decoded JSON object against the contract."""
    kind = v.choice(data, "kind", EnforcementKind)
    severity = v.choice(data, "severity", Severity, required=kind in KINDS_NEEDING_SEVERITY)
    commitment_kind = v.choice(
        data, "commitment_kind", CommitmentKind, required=kind in KINDS_NEEDING_COMMITMENT_KIND
    )
    result = v.choice(data, "result", SpotCheckResult, required=kind is EnforcementKind.SPOT_CHECK)
    outcome = v.choice(data, "outcome", ObjectionOutcome, required=kind in KINDS_NEEDING_OUTCOME)
    occurred_at = v.timestamp(data, "occurred_at")
    deadline = v.timestamp(
        data, "deadline", required=kind in KINDS_NEEDING_DEADLINE, future_ok=True
    )
    assert kind is not None and occurred_at is not None  # both required
    if kind is EnforcementKind.LIST_PROPOSED:
        v.choice(data, "reference", ListKind)  # the list an official proposes
    if deadline is not None and deadline < occurred_at:
        raise v.InvalidRecord(
            v.Reason.INCONSISTENT, "'deadline' is before 'occurred_at'", "deadline"
        )
    return v.record(
        EnforcementEvent,
        {
            "event_id": v.identifier(data, "event_id"),
            "subject": v.uscc(data),
            "kind": kind,
            "occurred_at": occurred_at,
            "department": v.choice(data, "department", Department),
            "sector": v.choice(data, "sector", Sector),
            "region": v.region_code(data),
            "severity": severity,
            "commitment_kind": commitment_kind,
            "result": result,
            "deadline": deadline,
            "concerns_event_id": v.text(
                data,
                "concerns_event_id",
                required=kind in KINDS_NEEDING_CONCERNS,
                max_length=v.MAX_ID_LENGTH,
            ),
            "outcome": outcome,
            "amount": v.number(data, "amount", required=False, minimum=0, maximum=MAX_AMOUNT),
            "legal_rep_id": v.text(
                data, "legal_rep_id", required=False, max_length=v.MAX_ID_LENGTH
            ),
            "reference": v.text(data, "reference", required=False, max_length=v.MAX_ID_LENGTH),
            "description": v.text(data, "description", required=False),
            "subject_type": v.choice(data, "subject_type", SubjectType, required=False),
            "major_loss": v.flag(data, "major_loss"),
        },
    )
