"""Deliberately broken records, one kind per dead-letter :class:`Reason`.

Each corruption mimics a mistake a real department system or device makes:
truncated JSON, double-encoded JSON, a dropped field, a number sent as a
string, a mistyped check digit, a Chinese label where a code is expected, a
local time without offset, a device clock reset to 1970, a unit of the wrong
kind, a message keyed by the wrong subject. Only the one fault is introduced,
so the decoder must name exactly that reason (seed 十六's data quality: nothing
is silently dropped, every rejection says why).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from topics.catalogue import COMPLAINTS_12315, ENFORCEMENT_EVENTS, IOT_READINGS
from topics.decode import MAX_RECORD_BYTES
from topics.validation import MAX_ID_LENGTH, MAX_TEXT_LENGTH, Reason
from topics.vocabulary import Metric

Payload = dict[str, Any]

TIME_FIELD = {
    ENFORCEMENT_EVENTS.name: "occurred_at",
    COMPLAINTS_12315.name: "received_at",
    IOT_READINGS.name: "measured_at",
}
REQUIRED_FIELDS = {
    ENFORCEMENT_EVENTS.name: ("event_id", "subject", "kind", "department", "sector", "region"),
    COMPLAINTS_12315.name: ("event_id", "subject", "category", "channel", "status", "region"),
    IOT_READINGS.name: ("event_id", "subject", "device_id", "metric", "value", "unit", "region"),
}
# Free-text fields, where a blank value counts as missing (a blank enum is a bad enum).
BLANKABLE = frozenset({"event_id", "subject", "device_id", "unit", "region"})
# Plausible wrong labels: free text, Chinese names, another system's codes.
BAD_ENUMS = {
    ENFORCEMENT_EVENTS.name: (("kind", "行政处罚"), ("department", "market_supervision"),
                              ("sector", "food")),
    COMPLAINTS_12315.name: (("channel", "12345"), ("category", "食品安全"), ("kind", "投诉")),
    IOT_READINGS.name: (("metric", "temperature"), ("sector", "cold_chain")),
}  # fmt: skip
WRONG_UNITS = {
    Metric.COLD_CHAIN_TEMPERATURE: "°C",
    Metric.COD: "mg/m3",
    Metric.NOX: "ppm",
    Metric.GAS_CONCENTRATION: "%LEL",
    Metric.PM25: "mg/m3",
    Metric.CAMERA_AI_EVENT: "events",
}
# Complaints carry no cross-field rule, so they cannot be inconsistent.
REASONS_BY_TOPIC: dict[str, tuple[Reason, ...]] = {
    ENFORCEMENT_EVENTS.name: tuple(Reason),
    COMPLAINTS_12315.name: tuple(r for r in Reason if r is not Reason.INCONSISTENT),
    IOT_READINGS.name: tuple(Reason),
}


def corrupt(
    rng: random.Random,
    topic: str,
    key: bytes,
    payload: Payload,
    reason: Reason,
    other_key: bytes,
) -> tuple[bytes, bytes]:
    """Break a valid ``payload`` so that decoding fails with exactly ``reason``.

    Returns the message ``(key, value)``. ``other_key`` is another subject's
    key, used for :attr:`Reason.KEY_MISMATCH`.
    """
    if reason not in REASONS_BY_TOPIC[topic]:
        raise ValueError(f"{topic} records cannot be made {reason.value}")
    if reason is Reason.KEY_MISMATCH:
        return _mismatched_key(key, other_key, payload), orjson.dumps(payload)
    broken = dict(payload)
    if reason is Reason.NOT_JSON:
        return key, _not_json(rng, broken)
    if reason is Reason.NOT_OBJECT:
        # Double-encoded JSON: a string containing the object.
        return key, orjson.dumps(orjson.dumps(broken).decode())
    _FIELD_CORRUPTIONS[reason](rng, topic, broken)
    return key, orjson.dumps(broken)


def _mismatched_key(key: bytes, other_key: bytes, payload: Payload) -> bytes:
    if other_key.strip().upper() != key.strip().upper():
        return other_key
    return str(payload["event_id"]).encode()  # keyed by event id instead of subject


def _not_json(rng: random.Random, payload: Payload) -> bytes:
    raw = orjson.dumps(payload)
    if rng.random() < 0.5:
        return raw[: len(raw) // 2]  # truncated in transit
    return raw.replace(b'"', b"'")  # Python repr instead of JSON


def _missing_field(rng: random.Random, topic: str, payload: Payload) -> None:
    field = rng.choice(REQUIRED_FIELDS[topic] + (TIME_FIELD[topic],))
    if field in BLANKABLE and rng.random() < 0.3:
        payload[field] = "  "  # a blank text field counts as missing
    else:
        del payload[field]


def _wrong_type(rng: random.Random, topic: str, payload: Payload) -> None:
    time_field = TIME_FIELD[topic]
    if rng.random() < 0.5:
        # Epoch milliseconds instead of an ISO string.
        moment = datetime.fromisoformat(payload[time_field])
        payload[time_field] = int(moment.timestamp() * 1000)
    elif topic == IOT_READINGS.name:
        payload["value"] = str(payload["value"])
    else:
        payload["amount"] = f"{payload.get('amount', 100.0):.2f}"


def _bad_uscc(rng: random.Random, topic: str, payload: Payload) -> None:
    uscc: str = payload["subject"]
    if rng.random() < 0.5:
        wrong = rng.choice([c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != uscc[-1]])
        payload["subject"] = uscc[:-1] + wrong  # typo in the check digit
    else:
        payload["subject"] = uscc[:-1]  # one character short


def _bad_enum(rng: random.Random, topic: str, payload: Payload) -> None:
    field, value = rng.choice(BAD_ENUMS[topic])
    payload[field] = value


def _naive_timestamp(rng: random.Random, topic: str, payload: Payload) -> None:
    field = TIME_FIELD[topic]
    payload[field] = datetime.fromisoformat(payload[field]).replace(tzinfo=None).isoformat()


def _bad_timestamp(rng: random.Random, topic: str, payload: Payload) -> None:
    field = TIME_FIELD[topic]
    moment = datetime.fromisoformat(payload[field])
    payload[field] = rng.choice(
        (
            moment.strftime("%Y/%m/%d %H:%M:%S"),
            moment.strftime("%d-%m-%Y %H:%M"),
            moment.strftime("%Y年%m月%d日 %H:%M"),
        )
    )


def _out_of_range(rng: random.Random, topic: str, payload: Payload) -> None:
    choice = rng.randrange(3)
    if choice == 0:
        payload[TIME_FIELD[topic]] = "1970-01-01T08:00:00+08:00"  # device clock reset
    elif choice == 1:
        payload["region"] = payload["region"][:4]  # prefecture code, not a county
    elif topic == IOT_READINGS.name:
        payload["value"] = 9_999_999.0  # sensor saturation sentinel
    else:
        payload["amount"] = -abs(float(payload.get("amount", 100.0)))


def _too_long(rng: random.Random, topic: str, payload: Payload) -> None:
    if topic == IOT_READINGS.name:
        payload["device_id"] = payload["device_id"] + "-" + "0" * MAX_ID_LENGTH
    elif topic == COMPLAINTS_12315.name:
        payload["product"] = "进口冷冻带鱼段（净含量500克）" * 12  # > MAX_ID_LENGTH
    else:
        payload["description"] = "经查，当事人存在违法行为。" * (MAX_TEXT_LENGTH // 10)


def _too_large(rng: random.Random, topic: str, payload: Payload) -> None:
    # A scanned document pasted into a record, just past the size limit.
    payload["attachment"] = "A" * (MAX_RECORD_BYTES + rng.randint(1, 4096))


def _inconsistent(rng: random.Random, topic: str, payload: Payload) -> None:
    if topic == IOT_READINGS.name:
        payload["unit"] = WRONG_UNITS[Metric(payload["metric"])]
    else:
        occurred = datetime.fromisoformat(payload["occurred_at"])
        payload["deadline"] = (occurred - timedelta(days=rng.randint(1, 30))).isoformat()


_FIELD_CORRUPTIONS: dict[Reason, Callable[[random.Random, str, Payload], None]] = {
    Reason.MISSING_FIELD: _missing_field,
    Reason.WRONG_TYPE: _wrong_type,
    Reason.BAD_USCC: _bad_uscc,
    Reason.BAD_ENUM: _bad_enum,
    Reason.NAIVE_TIMESTAMP: _naive_timestamp,
    Reason.BAD_TIMESTAMP: _bad_timestamp,
    Reason.OUT_OF_RANGE: _out_of_range,
    Reason.TOO_LONG: _too_long,
    Reason.TOO_LARGE: _too_large,
    Reason.INCONSISTENT: _inconsistent,
}
