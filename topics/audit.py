"""``risk.audit`` and ``risk.internal.audit-requests``: who changed what, and when.

Seed 十七 asks that supervision records cannot be tampered with. Anything
that changes state (acknowledging or resolving an alert, silences, tokens,
policy) sends an :class:`AuditRequest`; the single chaining agent
(streams/agents/audit.py) numbers it and links it to the previous record by hash,
giving an :class:`AuditRecord` on ``risk.audit`` (one partition, kept
forever). The hashing and its check are in :mod:`topics.audit_chain`.

Records are decoded here exactly, without normalising anything, so that a
record read back re-encodes to the very values its hash was computed over.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import faust
import orjson

from topics import validation as v

MAX_ACTOR_LENGTH = 128
MAX_TARGET_LENGTH = 256


class AuditAction(StrEnum):
    """The actions audited today; the record's ``action`` is a plain string so a
    newer writer's action never makes the trail unreadable to an older reader."""

    ALERT_ACK = "alert.ack"
    ALERT_RESOLVE = "alert.resolve"
    SILENCE_CREATE = "silence.create"
    SILENCE_DELETE = "silence.delete"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    POLICY_CHANGE = "policy.change"  # a worker put a policy in force
    POLICY_PROPOSE = "policy.propose"  # an official proposed a policy version (issue 17)
    POLICY_APPROVE = "policy.approve"  # a second official approved it
    RECORDS_READ = "records.read"  # an official read a subject's records (personal data)
    REPORT_ISSUE = "report.issue"  # a credit report was issued
    PERSONS_READ = "persons.read"  # an official read a person's record or measures (seed 十一)
    # Issue 18: what subjects and associations file through the API.
    SELF_SERVICE_FILE = "self_service.file"  # a subject's objection or repair application
    REGISTRATION_FILE = "registration.file"  # a subject's voluntary registration (seed 五)
    REGISTRATION_DECIDE = "registration.decide"  # an official verified or rejected one
    ASSOCIATION_REPORT = "association.report"  # an association reported a member's record
    # Issue 17: cases. Opening and escalation are the system's; the others people's.
    CASE_OPEN = "case.open"
    CASE_ASSIGN = "case.assign"
    CASE_STATUS = "case.status"
    CASE_NOTE = "case.note"
    CASE_VERDICT = "case.verdict"
    CASE_ATTACH = "case.attach"
    CASE_ESCALATE = "case.escalate"


class AuditRequest(faust.Record, serializer="json", include_metadata=False):
    """An action to append to the trail; ``at`` is when it was taken.

    ``request_id`` lets the chaining agent drop a request it already appended
    (a redelivery after a crash).
    """

    request_id: str
    at: datetime
    actor: str  # a token name, or "cli:<user>"
    action: str
    target: str
    details: dict[str, Any]


class AuditRecord(faust.Record, serializer="json", include_metadata=False):
    """One link of the chain: ``hash`` covers every other field, ``prev_hash`` included.

    ``seq`` counts from 1 with no gaps; ``at`` is when the record was chained,
    ``requested_at`` when the action was taken.
    """

    seq: int
    at: datetime
    requested_at: datetime
    request_id: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def new_request(
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRequest:
    """An audit request for an action taken now (or at ``at``), with a fresh id."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return AuditRequest(
        request_id=uuid.uuid4().hex,
        at=when,
        actor=actor,
        action=action,
        target=target,
        details=dict(details or {}),
    )


def request_document(request: AuditRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "at": request.at.isoformat(),
        "actor": request.actor,
        "action": request.action,
        "target": request.target,
        "details": request.details,
    }


def record_document(record: AuditRecord, *, with_hash: bool = True) -> dict[str, Any]:
    """The record as JSON values, exactly as on the wire."""
    document = {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "requested_at": record.requested_at.isoformat(),
        "request_id": record.request_id,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "details": record.details,
        "prev_hash": record.prev_hash,
    }
    if with_hash:
        document["hash"] = record.hash
    return document


def encode_request(request: AuditRequest) -> bytes:
    """The request as it goes on ``risk.internal.audit-requests``."""
    return orjson.dumps(request_document(request))


def encode_record(record: AuditRecord) -> bytes:
    """The record as it goes on ``risk.audit``."""
    return orjson.dumps(record_document(record))


def parse_audit_request(raw: bytes | None) -> AuditRequest:
    """Decode a request from ``risk.internal.audit-requests``; raises InvalidRecord."""
    data = v.load_object(raw)
    at = _time(data, "at")
    return AuditRequest(
        request_id=_string(data, "request_id", v.MAX_ID_LENGTH),
        at=at.astimezone(UTC),
        actor=_string(data, "actor", MAX_ACTOR_LENGTH),
        action=_string(data, "action", v.MAX_ID_LENGTH),
        target=_string(data, "target", MAX_TARGET_LENGTH),
        details=_details(data),
    )


def parse_audit_record(raw: bytes | None) -> AuditRecord:
    """Decode a record from ``risk.audit`` exactly; raises InvalidRecord.

    A time is accepted only in the form this code writes (``isoformat()``), so
    a record that decodes re-encodes to the same values: hashing the decoded
    record is hashing what was read.
    """
    data = v.load_object(raw)
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise v.InvalidRecord(v.Reason.WRONG_TYPE, "'seq' must be a positive integer", "seq")
    extra = set(data) - set(AuditRecord._options.fields)
    if extra:
        raise v.InvalidRecord(
            v.Reason.INCONSISTENT, f"unexpected field(s) {', '.join(sorted(extra))}"
        )
    return AuditRecord(
        seq=seq,
        at=_time(data, "at", exact=True),
        requested_at=_time(data, "requested_at", exact=True),
        request_id=_string(data, "request_id", v.MAX_ID_LENGTH),
        actor=_string(data, "actor", MAX_ACTOR_LENGTH),
        action=_string(data, "action", v.MAX_ID_LENGTH),
        target=_string(data, "target", MAX_TARGET_LENGTH),
        details=_details(data),
        prev_hash=_string(data, "prev_hash", 64),
        hash=_string(data, "hash", 64),
    )


def _string(data: Mapping[str, Any], field: str, max_length: int) -> str:
    value = v.require(data, field)
    if not isinstance(value, str) or not value:
        raise v.InvalidRecord(v.Reason.WRONG_TYPE, f"'{field}' must be a non-empty string", field)
    if len(value) > max_length:
        raise v.InvalidRecord(v.Reason.TOO_LONG, f"'{field}' is over {max_length} long", field)
    return value


def _time(data: Mapping[str, Any], field: str, *, exact: bool = False) -> datetime:
    parsed = v.timestamp(data, field, future_ok=True)
    assert parsed is not None  # required
    if exact and parsed.isoformat() != data[field]:
        raise v.InvalidRecord(
            v.Reason.BAD_TIMESTAMP, f"'{field}' {data[field]!r} is not in canonical form", field
        )
    return parsed


def _details(data: Mapping[str, Any]) -> dict[str, Any]:
    details = data.get("details", {})
    if not isinstance(details, dict):
        raise v.InvalidRecord(v.Reason.WRONG_TYPE, "'details' must be an object", "details")
    return details
