"""Decode raw input messages into typed records, or say exactly why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from topics.catalogue import (
    COMPLAINTS_12315,
    ENFORCEMENT_EVENTS,
    IOT_READINGS,
    REGISTRY_ROLES,
    SECTOR_EVALUATIONS,
)
from topics.complaints import Complaint, parse_complaint
from topics.enforcement import EnforcementEvent, parse_enforcement
from topics.evaluations import SectorEvaluation, parse_evaluation
from topics.iot import IotReading, parse_iot
from topics.roles import RoleAssignment, parse_role
from topics.validation import InvalidRecord, Reason, key_matches, load_object

#: The largest input value accepted, in bytes. A valid record is a few kilobytes at
#: most (texts are limited to 512 characters); a larger one is rejected before it
#: is parsed, whatever it holds.
MAX_RECORD_BYTES = 64 * 1024

InputRecord = EnforcementEvent | Complaint | IotReading | RoleAssignment | SectorEvaluation

PARSERS: dict[str, Callable[[dict[str, Any]], InputRecord]] = {
    ENFORCEMENT_EVENTS.name: parse_enforcement,
    COMPLAINTS_12315.name: parse_complaint,
    IOT_READINGS.name: parse_iot,
    REGISTRY_ROLES.name: parse_role,
    SECTOR_EVALUATIONS.name: parse_evaluation,
}


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a message breaks its contract; becomes a dead-letter record."""

    reason: str
    detail: str
    field: str | None = None


def decode_input(topic: str, key: bytes | None, value: bytes | None) -> InputRecord | Rejected:
    """Parse and validate one message of an input topic.

    >>> decode_input("iot.readings", None, b"[1, 2]")
    Rejected(reason='not_object', detail='value is a JSON list, not an object', field=None)
    """
    if value is not None and len(value) > MAX_RECORD_BYTES:
        detail = f"value is {len(value):,} bytes; a record may be {MAX_RECORD_BYTES:,} at most"
        return Rejected(Reason.TOO_LARGE.value, detail)
    try:
        record = PARSERS[topic](load_object(value))
        key_matches(key, record.subject)
    except InvalidRecord as exc:
        return Rejected(exc.reason.value, exc.detail, exc.field)
    return record
