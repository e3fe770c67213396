"""Field parsers shared by every input topic.

Parsers raise :class:`InvalidRecord` with a stable *reason* code (bounded, so
it can label a metric) and a human-readable detail. Decoders catch it at the
edge and turn it into a dead-letter record; nothing inside the pipeline
raises it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, TypeVar

import orjson
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

E = TypeVar("E", bound=StrEnum)
R = TypeVar("R")

#: How far in the future an event time may lie before it is rejected (clock skew).
FUTURE_TOLERANCE = timedelta(days=1)
#: Event times before this are certainly wrong (the USCC system began in 2015).
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TEXT_LENGTH = 512
MAX_ID_LENGTH = 128


class Reason(StrEnum):
    """Why a record went to the dead-letter topic. Stable codes: consumers match on them."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_USCC = "bad_uscc"
    BAD_ENUM = "bad_enum"
    NAIVE_TIMESTAMP = "naive_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    OUT_OF_RANGE = "out_of_range"
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"
    INCONSISTENT = "inconsistent"
    KEY_MISMATCH = "key_mismatch"


class InvalidRecord(Exception):
    """A record that breaks its topic contract."""

    def __init__(self, reason: Reason, detail: str, field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field


def record(kind: type[R], fields: dict[str, Any]) -> R:
    """``kind(**fields)`` for a record whose every field is in ``fields``, already checked.

    Faust's ``__init__`` passes each field through its descriptor, which for our
    input records (no coercion, tags, validation or ``__post_init__``) stores the
    value as given, at about a microsecond a field. This stores them directly and
    leaves the instance as that ``__init__`` would (tests/topics/test_validation.py
    builds every input record both ways and compares them).
    """
    made = kind.__new__(kind)
    made.__dict__.update(fields)
    made.__dict__["__evaluated_fields__"] = set()
    return made


def load_object(raw: bytes | None) -> dict[str, Any]:
    """Parse a JSON object from raw message bytes."""
    if raw is None:
        raise InvalidRecord(Reason.NOT_JSON, "message has no value")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(Reason.NOT_JSON, f"value is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidRecord(
            Reason.NOT_OBJECT, f"value is a JSON {type(data).__name__}, not an object"
        )
    return data


def require(data: Mapping[str, Any], field: str) -> Any:
    value = data.get(field)
    if value is None:
        raise missing(field)
    return value


def missing(field: str) -> InvalidRecord:
    """The rejection of a record without a required ``field``."""
    return InvalidRecord(Reason.MISSING_FIELD, f"'{field}' is required", field)


def text(
    data: Mapping[str, Any], field: str, *, required: bool = True, max_length: int = MAX_TEXT_LENGTH
) -> str | None:
    value = data.get(field)
    if value is None:
        if required:
            raise missing(field)
        return None
    if not isinstance(value, str):
        raise InvalidRecord(Reason.WRONG_TYPE, f"'{field}' must be a string", field)
    value = value.strip()
    if not value:
        if required:
            raise InvalidRecord(Reason.MISSING_FIELD, f"'{field}' is empty", field)
        return None
    if len(value) > max_length:
        raise InvalidRecord(
            Reason.TOO_LONG, f"'{field}' has {len(value)} characters, limit {max_length}", field
        )
    return value


def identifier(data: Mapping[str, Any], field: str) -> str:
    value = text(data, field, max_length=MAX_ID_LENGTH)
    assert value is not None  # required=True
    return value


def uscc(data: Mapping[str, Any], field: str = "subject") -> str:
    """A unified social credit code (GB 32100-2015), check digit verified."""
    value = identifier(data, field).upper()
    try:
        return _valid_uscc(value)
    except StdnumError as exc:
        raise InvalidRecord(
            Reason.BAD_USCC, f"'{field}' is not a valid USCC ({value!r}: {exc})", field
        ) from None


@lru_cache(maxsize=100_000)
def _valid_uscc(value: str) -> str:
    """Check digit verified once per code: a city's subjects send records again and again."""
    return str(stdnum_uscc.validate(value))


def region_code(data: Mapping[str, Any], field: str = "region") -> str:
    """A six-digit county-level administrative division code (GB/T 2260)."""
    value = identifier(data, field)
    if len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise InvalidRecord(
            Reason.OUT_OF_RANGE, f"'{field}' must be a 6-digit county code, got {value!r}", field
        )
    return value


def choice(
    data: Mapping[str, Any], field: str, enum: type[E], *, required: bool = True
) -> E | None:
    value = data.get(field)
    if value is None:
        if required:
            raise missing(field)
        return None
    member = _members(enum).get(value) if isinstance(value, str) else None
    if member is not None:
        return member
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidRecord(
            Reason.BAD_ENUM, f"'{field}' is {value!r}; expected one of: {allowed}", field
        ) from None


@cache
def _members(enum: type[E]) -> dict[str, E]:
    """The enumeration's members by value: one dict lookup per field, where ``enum(value)``
    costs a call through the enum machinery (anything not found still goes that way)."""
    return {member.value: member for member in enum}


def number(
    data: Mapping[str, Any],
    field: str,
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    value = require(data, field) if required else data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRecord(Reason.WRONG_TYPE, f"'{field}' must be a number", field)
    value = float(value)
    if not math.isfinite(value):
        raise InvalidRecord(Reason.OUT_OF_RANGE, f"'{field}' must be finite", field)
    if minimum is not None and value < minimum:
        raise InvalidRecord(Reason.OUT_OF_RANGE, f"'{field}' is {value}, below {minimum}", field)
    if maximum is not None and value > maximum:
        raise InvalidRecord(Reason.OUT_OF_RANGE, f"'{field}' is {value}, above {maximum}", field)
    return value


def flag(data: Mapping[str, Any], field: str) -> bool | None:
    """An optional JSON boolean (``1`` and ``"true"`` are not booleans)."""
    value = data.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidRecord(Reason.WRONG_TYPE, f"'{field}' must be true or false", field)


def timestamp(
    data: Mapping[str, Any],
    field: str,
    *,
    required: bool = True,
    future_ok: bool = False,
    now: datetime | None = None,
) -> datetime | None:
    """An ISO 8601 time with an explicit UTC offset, normalised to UTC.

    Event times may not lie in the future (beyond clock skew); deadlines may.
    """
    value = require(data, field) if required else data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(Reason.WRONG_TYPE, f"'{field}' must be an ISO 8601 string", field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(
            Reason.BAD_TIMESTAMP, f"'{field}' is not an ISO 8601 time: {value!r}", field
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidRecord(
            Reason.NAIVE_TIMESTAMP,
            f"'{field}' has no UTC offset ({value!r}); add one, e.g. +08:00",
            field,
        )
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the calendar's end in UTC
        raise InvalidRecord(
            Reason.OUT_OF_RANGE, f"'{field}' {value!r} is outside the plausible range", field
        ) from None
    too_late = not future_ok and parsed > (now or datetime.now(UTC)) + FUTURE_TOLERANCE
    if parsed < EARLIEST_EVENT_TIME or too_late:
        raise InvalidRecord(
            Reason.OUT_OF_RANGE, f"'{field}' {value!r} is outside the plausible range", field
        )
    return parsed


def period(
    data: Mapping[str, Any], start: str, end: str, *, future_start: bool = False
) -> tuple[datetime, datetime | None]:
    """A required ``start`` time and an optional ``end`` after it (a role held, a
    membership): the end may lie ahead, and is exclusive."""
    begins = timestamp(data, start, future_ok=future_start)
    ends = timestamp(data, end, required=False, future_ok=True)
    assert begins is not None  # required
    if ends is not None and ends <= begins:
        raise InvalidRecord(Reason.INCONSISTENT, f"'{end}' is not after '{start}'", end)
    return begins, ends


def key_matches(key: bytes | None, subject: str) -> None:
    """Input records are keyed by subject so one partition owns each subject's state."""
    if key is None:
        raise InvalidRecord(Reason.KEY_MISMATCH, "message has no key; key it by the subject USCC")
    if key == subject.encode():  # as every producer keys it; the rest are normalised
        return
    if key.decode("utf-8", "replace").strip().upper() != subject:
        raise InvalidRecord(
            Reason.KEY_MISMATCH,
            f"message key {key[:40]!r} differs from subject {subject}; key it by the subject USCC",
        )
