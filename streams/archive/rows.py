"""Topic records -> table rows: a pure function of the contract records.

An input record is validated with the same parser the worker uses
(:func:`topics.decode.decode_input`); one that breaks its contract is not
stored (the worker has already put it in ``risk.dlq``) and is counted as
skipped. A derived fact is the JSON our worker wrote from its contract record
(``topics/risk.py``, ``lists.py``, ``workflow.py``, ``publications.py``); the
typed columns are read from it and the whole of it is kept as ``body``.
A derived record that cannot be read (a missing field, a bad time) is
:class:`Unreadable`: the sink dead-letters it with reason ``store_unreadable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from streams.archive import tables as t
from topics.catalogue import (
    COMPLAINTS_12315,
    ENFORCEMENT_EVENTS,
    IOT_READINGS,
    REGISTRY_ROLES,
    RISK_ALERTS,
    RISK_CASES,
    RISK_CREDIT_REPORTS,
    RISK_LIST_CHANGES,
    RISK_PERSON_RECORDS,
    RISK_PUBLICATIONS,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
    SECTOR_EVALUATIONS,
    SPOTCHECK_PLANS,
)
from topics.complaints import Complaint
from topics.decode import InputRecord, Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.evaluations import SectorEvaluation
from topics.iot import IotReading
from topics.roles import RoleAssignment

#: Reasons of the dead letters the sink writes (``risk.dlq``'s ``reason``).
STORE_UNREADABLE = "store_unreadable"  # a derived record the sink cannot map to rows
STORE_REJECTED = "store_rejected"  # PostgreSQL refused the row (the detail says why)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A derived record the store cannot read: why."""

    detail: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input record that breaks its contract: the worker dead-letters it, not the sink."""

    reason: str


Mapped = list[tuple[t.Table, Row]] | Unreadable | Skipped


# ------------------------------------------------------------------ input records


def input_row(record: InputRecord) -> tuple[t.Table, Row]:
    """The row of a validated input record: its typed columns and its whole JSON."""
    body = orjson.dumps(record.asdict()).decode()
    if isinstance(record, EnforcementEvent):
        return t.ENFORCEMENT_EVENTS, {
            "subject": record.subject,
            "event_id": record.event_id,
            "kind": record.kind.value,
            "occurred_at": record.occurred_at,
            "department": record.department.value,
            "sector": record.sector.value,
            "region": record.region,
            "severity": _value(record.severity),
            "commitment_kind": _value(record.commitment_kind),
            "result": _value(record.result),
            "deadline": record.deadline,
            "concerns_event_id": record.concerns_event_id,
            "outcome": _value(record.outcome),
            "amount": record.amount,
            "legal_rep_id": record.legal_rep_id,
            "reference": record.reference,
            "description": record.description,
            "body": body,
        }
    if isinstance(record, Complaint):
        return t.COMPLAINTS, {
            "subject": record.subject,
            "event_id": record.event_id,
            "kind": record.kind.value,
            "category": record.category.value,
            "channel": record.channel.value,
            "region": record.region,
            "sector": record.sector.value,
            "received_at": record.received_at,
            "status": record.status.value,
            "amount": record.amount,
            "product": record.product,
            "body": body,
        }
    if isinstance(record, IotReading):
        return t.IOT_READINGS, {
            "subject": record.subject,
            "event_id": record.event_id,
            "device_id": record.device_id,
            "sector": record.sector.value,
            "region": record.region,
            "metric": record.metric.value,
            "value": record.value,
            "unit": record.unit,
            "measured_at": record.measured_at,
            "limit_value": record.limit,
            "body": body,
        }
    if isinstance(record, RoleAssignment):
        return t.PERSON_ROLES, {
            "subject": record.subject,
            "event_id": record.event_id,
            "person_id": record.person_id,
            "person_name": record.person_name,
            "role": record.role.value,
            "held_from": record.held_from,
            "held_until": record.held_until,
            "recorded_at": record.recorded_at,
            "region": record.region,
            "sector": record.sector.value,
            "subject_type": _value(record.subject_type),
            "body": body,
        }
    if isinstance(record, SectorEvaluation):
        return t.SECTOR_EVALUATIONS, {
            "subject": record.subject,
            "event_id": record.event_id,
            "sector": record.sector.value,
            "level": record.level.value,
            "evaluator": record.evaluator,
            "grade": record.grade.value,
            "evaluated_at": record.evaluated_at,
            "valid_until": record.valid_until,
            "region": record.region,
            "reference": record.reference,
            "body": body,
        }
    raise TypeError(f"not an input record: {type(record).__name__}")


def _value(enum: Any) -> str | None:
    return None if enum is None else str(enum.value)


# ------------------------------------------------------------------ derived facts


def _time(data: Mapping[str, Any], field: str) -> datetime | None:
    text = data.get(field)
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"{field!r} is not a time")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{field!r} has no time zone")
    return parsed


def tier_change_row(data: Mapping[str, Any]) -> Row:
    return {
        "subject": data["subject"],
        "version": int(data["version"]),
        "previous_tier": data.get("previous_tier"),
        "tier": data["tier"],
        "score": float(data["score"]),
        "effective_at": _time(data, "effective_at"),
        "policy_version": data["policy_version"],
        "region": data["region"],
        "sector": data["sector"],
    }


def list_change_row(data: Mapping[str, Any]) -> Row:
    return {
        "subject": data["subject"],
        "list": data["list"],
        "version": int(data["version"]),
        "action": data["action"],
        "active": data["action"] == "entered",
        "entered_at": _time(data, "entered_at"),
        "expires_at": _time(data, "expires_at"),
        "exited_at": _time(data, "exited_at"),
        "exit_reason": data.get("exit_reason"),
        "legal_rep_id": data.get("legal_rep_id"),
        "policy_version": data["policy_version"],
        "region": data["region"],
        "sector": data["sector"],
    }


def notice_row(data: Mapping[str, Any]) -> Row:
    return {
        "notice_id": data["notice_id"],
        "subject": data["subject"],
        "kind": data["kind"],
        "department": data["department"],
        "issued_at": _time(data, "issued_at"),
        "concerns_event_id": data["concerns_event_id"],
        "due_at": _time(data, "due_at"),
        "earliest_eligible_at": _time(data, "earliest_eligible_at"),
        "policy_version": data["policy_version"],
        "region": data["region"],
        "sector": data["sector"],
    }


def alert_row(data: Mapping[str, Any]) -> Row:
    return {
        "alert_id": data["alert_id"],
        "revision": int(data.get("revision", 1)),
        "dedup_key": data["dedup_key"],
        "subject": data.get("subject"),
        "kind": data["kind"],
        "severity": data["severity"],
        "score": float(data["score"]),
        "tier": data.get("tier"),
        "region": data["region"],
        "sector": data["sector"],
        "status": data["status"],
        "event": data.get("event", "opened"),
        "title": data["title"],
        "created_at": _time(data, "created_at"),
        "updated_at": _time(data, "updated_at"),
        "policy_version": data["policy_version"],
    }


def publication_row(data: Mapping[str, Any]) -> Row:
    return {
        "subject": data["subject"],
        "event_id": data["event_id"],
        "version": int(data["version"]),
        "kind": data["kind"],
        "signal": data["signal"],
        "severity": data["severity"],
        "department": data["department"],
        "sector": data["sector"],
        "region": data["region"],
        "status": data["status"],
        "published_from": _time(data, "published_from"),
        "published_until": _time(data, "published_until"),
        "repairable_from": _time(data, "repairable_from"),
        "disputed": bool(data["disputed"]),
        "reason": data["reason"],
        "cause_event_id": data.get("cause_event_id"),
        "changed_at": _time(data, "changed_at"),
        "policy_version": data["policy_version"],
    }


def spotcheck_plan_row(data: Mapping[str, Any]) -> Row:
    return {
        "region": data["region"],
        "plan_date": date.fromisoformat(data["date"]),
        "seed": int(data["seed"]),
        "policy_version": data["policy_version"],
        "task_count": len(data["tasks"]),
    }


def credit_report_row(data: Mapping[str, Any]) -> Row:
    sha256 = data["sha256"]
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ValueError("'sha256' is not a SHA-256 hex digest")
    return {
        "number": data["number"],
        "subject": data["subject"],
        "issued_at": _time(data, "issued_at"),
        "valid_until": _time(data, "valid_until"),
        "sha256": sha256,
        "requested_by": data["requested_by"],
        "disclosure_version": data["disclosure_version"],
    }


def person_record_row(data: Mapping[str, Any]) -> Row:
    entries = data["entries"]
    if not isinstance(entries, list):
        raise ValueError("'entries' is not a list")
    return {
        "person": data["person"],
        "version": int(data["version"]),
        "person_id": data.get("person_id"),
        "person_name": data.get("person_name"),
        "changed_at": _time(data, "changed_at"),
        "active_entries": sum(1 for entry in entries if entry["active"]),
        "policy_version": data["policy_version"],
    }


def case_row(data: Mapping[str, Any]) -> Row:
    """A case as ``risk.cases`` carries it (issue 17, ``pipeline.cases.Case``)."""
    return {
        "case_id": data["case_id"],
        "revision": int(data["revision"]),
        "case_key": data["key"],
        "subject": data.get("subject"),
        "queue": data["queue"],
        "owner": data.get("owner"),
        "status": data["status"],
        "opened_at": _time(data, "opened_at"),
        "due_at": _time(data, "due_at"),
        "escalated_at": _time(data, "escalated_at"),
        "closed_at": _time(data, "closed_at"),
        "region": data["region"],
        "sector": data["sector"],
    }


@dataclass(frozen=True, slots=True)
class DerivedTopic:
    """How a derived topic's records become rows: the mapping and the tables they go to."""

    row: Callable[[Mapping[str, Any]], Row]
    tables: tuple[t.Table, ...]


DERIVED: dict[str, DerivedTopic] = {
    RISK_TIER_CHANGES.name: DerivedTopic(tier_change_row, (t.TIER_CHANGES, t.TIER_STATE)),
    RISK_LIST_CHANGES.name: DerivedTopic(list_change_row, (t.LIST_CHANGES, t.LIST_STATE)),
    RISK_WORKFLOW.name: DerivedTopic(notice_row, (t.WORKFLOW_NOTICES,)),
    RISK_ALERTS.name: DerivedTopic(alert_row, (t.ALERT_SNAPSHOTS,)),
    RISK_PUBLICATIONS.name: DerivedTopic(publication_row, (t.PUBLICATIONS, t.PUBLICATION_STATE)),
    SPOTCHECK_PLANS.name: DerivedTopic(spotcheck_plan_row, (t.SPOTCHECK_PLANS,)),
    RISK_CREDIT_REPORTS.name: DerivedTopic(credit_report_row, (t.CREDIT_REPORTS,)),
    RISK_PERSON_RECORDS.name: DerivedTopic(person_record_row, (t.PERSON_RECORDS, t.PERSON_STATE)),
    RISK_CASES.name: DerivedTopic(case_row, (t.CASE_VERSIONS, t.CASE_STATE)),
}
INPUT_TOPICS = (
    ENFORCEMENT_EVENTS.name,
    COMPLAINTS_12315.name,
    IOT_READINGS.name,
    REGISTRY_ROLES.name,
    SECTOR_EVALUATIONS.name,
)
#: Every topic the sink reads.
ARCHIVED_TOPICS: tuple[str, ...] = INPUT_TOPICS + tuple(DERIVED)


def rows_of(topic: str, key: bytes | None, value: bytes | None) -> Mapped:
    """The rows one message of ``topic`` is stored as, each with its table.

    >>> rows_of("risk.tier-changes", b"x", b"{}")
    Unreadable(detail="missing field 'subject'")
    """
    if topic in INPUT_TOPICS:
        record = decode_input(topic, key, value)
        if isinstance(record, Rejected):
            return Skipped(record.reason)
        return [input_row(record)]
    derived = DERIVED[topic]
    try:
        data = orjson.loads(value or b"")
        if not isinstance(data, dict):
            return Unreadable(f"value is JSON {type(data).__name__}, not an object")
        row = derived.row(data)
    except orjson.JSONDecodeError as exc:
        return Unreadable(f"not JSON: {exc}")
    except KeyError as exc:
        return Unreadable(f"missing field {exc}")
    except (TypeError, ValueError) as exc:
        return Unreadable(str(exc))
    row["body"] = value.decode() if value is not None else "null"
    return [(table, row) for table in derived.tables]
