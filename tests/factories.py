"""Builders for valid input messages, typed records and observations.

Each builder returns a record that passes its contract; a test changes the one
field it is about. Times are fixed (``T0``), never the wall clock, except where
a test is about "the future".
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from stdnum.cn.uscc import calc_check_digit

from detectors.state import Observation
from streams.settings import Settings
from topics.complaints import Complaint, parse_complaint
from topics.enforcement import EnforcementEvent, parse_enforcement
from topics.evaluations import SectorEvaluation, parse_evaluation
from topics.iot import IotReading, parse_iot
from topics.roles import RoleAssignment, parse_role

#: A fixed event time safely in the past (inputs may not lie in the future).
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T0_S = T0.timestamp()
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
REGION = "130102"  # 长安区

ENFORCEMENT_TOPIC = "enforcement.events"
COMPLAINTS_TOPIC = "complaints.12315"
IOT_TOPIC = "iot.readings"
ROLES_TOPIC = "registry.roles"
EVALUATIONS_TOPIC = "evaluations.sector"


def pseudonym_key() -> bytes:
    """The test session's key for the pseudonyms of people: tests/conftest.py gives the
    same one to every worker the tests start."""
    return Settings.from_env().pseudonym_secret()


def make_uscc(serial: int = 1) -> str:
    """A valid unified social credit code (GB 32100-2015 check digit)."""
    body = f"91130100MA{serial:07d}"
    return body + calc_check_digit(body)


SUBJECT = make_uscc(1)
OTHER_SUBJECT = make_uscc(2)

_ids = itertools.count(1)


def new_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids)}"


def _wire(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = {**defaults, **overrides}
    return {k: _wire(v) for k, v in data.items()}


def enforcement_record(
    subject: str, event_id: str, kind: str, at: datetime | str, /, **fields: Any
) -> dict[str, Any]:
    """An ``enforcement.events`` record as a department system sends it: the fields every
    record has (market regulation, food and drug, 长安区 unless ``fields`` say otherwise)
    and ``fields``, nothing else; datetimes may be given as ``datetime``."""
    defaults = {
        "event_id": event_id,
        "subject": subject,
        "kind": kind,
        "occurred_at": at,
        "department": "market_regulation",
        "sector": "food_drug",
        "region": REGION,
    }
    return _build(defaults, fields)


def enforcement_data(**overrides: Any) -> dict[str, Any]:
    """A general administrative penalty; datetimes may be given as ``datetime``."""
    fields = {"severity": "general", **overrides}
    return enforcement_record(SUBJECT, new_id("enf"), "penalty", T0, **fields)


def complaint_data(**overrides: Any) -> dict[str, Any]:
    defaults = {
        "event_id": new_id("cmp"),
        "subject": SUBJECT,
        "kind": "complaint",
        "category": "food_safety",
        "channel": "phone",
        "region": REGION,
        "sector": "food_drug",
        "received_at": T0,
        "status": "received",
    }
    return _build(defaults, overrides)


def iot_data(**overrides: Any) -> dict[str, Any]:
    """A cold-chain temperature reading within its limit."""
    defaults = {
        "event_id": new_id("iot"),
        "device_id": "fridge-7",
        "subject": SUBJECT,
        "sector": "food_drug",
        "region": REGION,
        "metric": "cold_chain_temperature",
        "value": 4.0,
        "unit": "celsius",
        "limit": 8.0,
        "measured_at": T0,
    }
    return _build(defaults, overrides)


def role_data(**overrides: Any) -> dict[str, Any]:
    """A legal representative since a year before ``T0``, still in office, recorded at ``T0``."""
    defaults = {
        "event_id": new_id("role"),
        "subject": SUBJECT,
        "person_id": "LR000000001",
        "role": "legal_representative",
        "held_from": T0 - 365 * DAY,
        "recorded_at": T0,
        "region": REGION,
        "sector": "food_drug",
    }
    return _build(defaults, overrides)


def evaluation_data(**overrides: Any) -> dict[str, Any]:
    """A provincial food-and-drug evaluation graded C at ``T0``."""
    defaults = {
        "event_id": new_id("eval"),
        "subject": SUBJECT,
        "sector": "food_drug",
        "level": "provincial",
        "evaluator": "河北省药品监督管理局",
        "grade": "C",
        "evaluated_at": T0,
        "region": REGION,
    }
    return _build(defaults, overrides)


DATA_OF_TOPIC = {
    ENFORCEMENT_TOPIC: enforcement_data,
    COMPLAINTS_TOPIC: complaint_data,
    IOT_TOPIC: iot_data,
    ROLES_TOPIC: role_data,
    EVALUATIONS_TOPIC: evaluation_data,
}

#: The event-time field of each input topic.
TIME_FIELD = {
    ENFORCEMENT_TOPIC: "occurred_at",
    COMPLAINTS_TOPIC: "received_at",
    IOT_TOPIC: "measured_at",
    ROLES_TOPIC: "recorded_at",
    EVALUATIONS_TOPIC: "evaluated_at",
}


def encode(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data)


def enforcement(**overrides: Any) -> EnforcementEvent:
    return parse_enforcement(enforcement_data(**overrides))


def complaint(**overrides: Any) -> Complaint:
    return parse_complaint(complaint_data(**overrides))


def reading(**overrides: Any) -> IotReading:
    return parse_iot(iot_data(**overrides))


def role(**overrides: Any) -> RoleAssignment:
    return parse_role(role_data(**overrides))


def evaluation(**overrides: Any) -> SectorEvaluation:
    return parse_evaluation(evaluation_data(**overrides))


def observation(at_s: float = T0_S, **fields: Any) -> Observation:
    """An observation of ``SUBJECT``; pass ``signal=``, ``complaint_category=`` etc."""
    fields.setdefault("event_id", new_id("obs"))
    fields.setdefault("region", REGION)
    fields.setdefault("sector", "food_drug")
    return Observation(at_s=at_s, **fields)
