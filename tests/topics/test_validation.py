"""Input contracts: what a department system sees when it publishes a bad record.

Every :class:`Reason` must be reachable through :func:`decode_input`, on every
input topic where the field exists, with the offending field named.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from stdnum.cn.uscc import calc_check_digit

from creditwatch.simulation.traffic import Simulator, SteppingClock
from tests.factories import (
    COMPLAINTS_TOPIC,
    DATA_OF_TOPIC,
    DAY,
    ENFORCEMENT_TOPIC,
    IOT_TOPIC,
    OTHER_SUBJECT,
    ROLES_TOPIC,
    SUBJECT,
    T0,
    TIME_FIELD,
    complaint_data,
    encode,
    enforcement_data,
    iot_data,
    make_uscc,
    role_data,
)
from topics.complaints import Complaint
from topics.decode import Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.iot import IotReading
from topics.risk import Alert, DeadLetter, Evidence, TierChange, to_json_dict
from topics.validation import MAX_ID_LENGTH, MAX_TEXT_LENGTH, Reason
from topics.vocabulary import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ComplaintCategory,
    ComplaintKind,
    Department,
    EnforcementKind,
    Metric,
    PersonRole,
    Sector,
    Severity,
    SubjectType,
    Tier,
)

TOPICS = [ENFORCEMENT_TOPIC, COMPLAINTS_TOPIC, IOT_TOPIC, ROLES_TOPIC]
#: Characters of the USCC alphabet (GB 32100-2015 leaves out I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def decode(topic: str, data: dict[str, Any], key: bytes | None = None) -> Any:
    if key is None:
        key = str(data.get("subject", SUBJECT)).encode()
    return decode_input(topic, key, encode(data))


def rejected(topic: str, data: dict[str, Any], key: bytes | None = None) -> Rejected:
    result = decode(topic, data, key)
    assert isinstance(result, Rejected), f"expected a rejection, got {result!r}"
    return result


def with_bad_check_digit(code: str) -> str:
    wrong = next(c for c in USCC_ALPHABET if c != code[-1])
    return code[:-1] + wrong


# --- USCC -------------------------------------------------------------------


@pytest.mark.parametrize("body", ["91130100MA0CXXXX1", "12130000000123456", "93130104X12345678"])
def test_codes_with_a_correct_check_digit_are_accepted(body: str) -> None:
    code = body + calc_check_digit(body)
    record = decode(ENFORCEMENT_TOPIC, enforcement_data(subject=code))
    assert isinstance(record, EnforcementEvent)
    assert record.subject == code


def test_lowercase_code_and_key_are_normalised_to_uppercase() -> None:
    code = make_uscc(42)
    assert code != code.lower()  # the factory's codes contain letters
    data = enforcement_data(subject=code.lower())
    record = decode_input(ENFORCEMENT_TOPIC, code.lower().encode(), encode(data))
    assert isinstance(record, EnforcementEvent)
    assert record.subject == code


@pytest.mark.parametrize("topic", TOPICS)
def test_wrong_check_digit_is_bad_uscc(topic: str) -> None:
    code = with_bad_check_digit(SUBJECT)
    result = rejected(topic, DATA_OF_TOPIC[topic](subject=code))
    assert (result.reason, result.field) == ("bad_uscc", "subject")
    assert code in result.detail


@pytest.mark.parametrize("code", [SUBJECT[:-1], SUBJECT + "1", "9113", "ABCDEFGH" + SUBJECT[8:]])
def test_wrong_length_or_format_is_bad_uscc(code: str) -> None:
    result = rejected(ENFORCEMENT_TOPIC, enforcement_data(subject=code))
    assert (result.reason, result.field) == ("bad_uscc", "subject")


# --- not_json / not_object ----------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", [b"{not json", b"\xff\xfe\x00", b"", None])
def test_unparseable_values_are_not_json(topic: str, value: bytes | None) -> None:
    result = decode_input(topic, SUBJECT.encode(), value)
    assert isinstance(result, Rejected) and result.reason == "not_json"


def test_an_overflowing_number_cannot_smuggle_infinity_in() -> None:
    # JSON has no NaN or Infinity; a literal too big for a double is not JSON either.
    raw = encode(iot_data()).replace(b'"value":4.0', b'"value":1e400')
    assert b"1e400" in raw
    result = decode_input(IOT_TOPIC, SUBJECT.encode(), raw)
    assert isinstance(result, Rejected) and result.reason == "not_json"


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", [b"[1, 2]", b'"penalty"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_not_object(topic: str, value: bytes) -> None:
    result = decode_input(topic, SUBJECT.encode(), value)
    assert isinstance(result, Rejected) and result.reason == "not_object"
    assert "not an object" in result.detail


# --- missing_field ------------------------------------------------------------

REQUIRED = {
    ENFORCEMENT_TOPIC: [
        "event_id", "subject", "kind", "occurred_at", "department", "sector", "region",
    ],
    COMPLAINTS_TOPIC: [
        "event_id", "subject", "kind", "category", "channel", "region", "sector",
        "received_at", "status",
    ],
    IOT_TOPIC: [
        "event_id", "device_id", "subject", "sector", "region", "metric", "value", "unit",
        "measured_at",
    ],
    ROLES_TOPIC: [
        "event_id", "subject", "person_id", "role", "held_from", "recorded_at", "region",
        "sector",
    ],
}  # fmt: skip
REQUIRED_CASES = [(topic, field) for topic, fields in REQUIRED.items() for field in fields]


@pytest.mark.parametrize(("topic", "field"), REQUIRED_CASES)
def test_absent_required_field_is_missing_field(topic: str, field: str) -> None:
    data = DATA_OF_TOPIC[topic]()
    del data[field]
    result = rejected(topic, data)
    assert (result.reason, result.field) == ("missing_field", field)
    assert field in result.detail


@pytest.mark.parametrize(("topic", "field"), REQUIRED_CASES)
def test_null_required_field_is_missing_field(topic: str, field: str) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: None}))
    assert (result.reason, result.field) == ("missing_field", field)


@pytest.mark.parametrize("topic", TOPICS)
def test_blank_identifier_is_missing_field(topic: str) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](event_id="   "))
    assert (result.reason, result.field) == ("missing_field", "event_id")


# --- required by kind ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("penalty", "severity"),
        ("commitment_made", "commitment_kind"),
        ("commitment_fulfilled", "commitment_kind"),
        ("commitment_breached", "commitment_kind"),
        ("spot_check", "result"),
        ("rectification_ordered", "deadline"),
    ],
)
def test_kind_specific_field_is_required(kind: str, field: str) -> None:
    complete = {
        "severity": "general",
        "commitment_kind": "voluntary",
        "result": "passed",
        "deadline": T0 + timedelta(days=30),
    }
    data = enforcement_data(kind=kind, **complete)
    assert isinstance(decode(ENFORCEMENT_TOPIC, data), EnforcementEvent)
    del data[field]
    result = rejected(ENFORCEMENT_TOPIC, data)
    assert (result.reason, result.field) == ("missing_field", field)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("list_proposed", "concerns_event_id"),
        ("list_proposed", "reference"),
        ("list_decided", "concerns_event_id"),
        ("list_decided", "outcome"),
        ("list_statement", "concerns_event_id"),
    ],
)
def test_a_list_procedure_record_names_what_it_acts_on(kind: str, field: str) -> None:
    """Seed 八 (issue 17): a proposal names its list and record, a decision its proposal
    and outcome, a statement its proposal."""
    complete = {
        "concerns_event_id": "joint_punishment|v1",
        "reference": "joint_punishment",
        "outcome": "upheld",
    }
    data = enforcement_data(kind=kind, **complete)
    assert isinstance(decode(ENFORCEMENT_TOPIC, data), EnforcementEvent)
    del data[field]
    result = rejected(ENFORCEMENT_TOPIC, data)
    assert (result.reason, result.field) == ("missing_field", field)
    if field == "reference":  # the list is one of the lists
        result = rejected(ENFORCEMENT_TOPIC, {**data, field: "no_such_list"})
        assert (result.reason, result.field) == ("bad_enum", "reference")


@pytest.mark.parametrize("kind", ["honour", "interview", "tax_violation", "licence_revoked"])
def test_kinds_without_extra_fields_need_none(kind: str) -> None:
    data = enforcement_data(kind=kind)
    del data["severity"]
    record = decode(ENFORCEMENT_TOPIC, data)
    assert isinstance(record, EnforcementEvent)
    assert record.kind == kind and record.severity is None


def test_deadline_in_the_future_is_fine() -> None:
    now = datetime.now(UTC)
    deadline = now + timedelta(days=365)
    data = enforcement_data(kind="rectification_ordered", occurred_at=now, deadline=deadline)
    record = decode(ENFORCEMENT_TOPIC, data)
    assert isinstance(record, EnforcementEvent)
    assert record.deadline == deadline


# --- wrong_type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "field", "value"),
    [
        (ENFORCEMENT_TOPIC, "event_id", 12345),
        (ENFORCEMENT_TOPIC, "subject", 911301001234),
        (ENFORCEMENT_TOPIC, "amount", "5000"),
        (ENFORCEMENT_TOPIC, "amount", True),  # bool is an int in Python, not a number here
        (ENFORCEMENT_TOPIC, "occurred_at", 1772438400),  # epoch seconds: not ISO 8601
        (ENFORCEMENT_TOPIC, "description", ["a", "b"]),
        (COMPLAINTS_TOPIC, "amount", False),
        (COMPLAINTS_TOPIC, "received_at", {"date": "2026-03-02"}),
        (COMPLAINTS_TOPIC, "product", 7),
        (IOT_TOPIC, "value", True),
        (IOT_TOPIC, "value", "4.0"),
        (IOT_TOPIC, "limit", [8.0]),
        (IOT_TOPIC, "device_id", 7),
        (ENFORCEMENT_TOPIC, "major_loss", "yes"),
        (ENFORCEMENT_TOPIC, "major_loss", 1),
        (ROLES_TOPIC, "person_id", 4271358),
        (ROLES_TOPIC, "person_name", ["张", "三"]),
    ],
)
def test_wrong_json_type_is_wrong_type(topic: str, field: str, value: Any) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: value}))
    assert (result.reason, result.field) == ("wrong_type", field)


# --- bad_enum -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "field", "enum"),
    [
        (ENFORCEMENT_TOPIC, "kind", EnforcementKind),
        (ENFORCEMENT_TOPIC, "severity", Severity),
        (ENFORCEMENT_TOPIC, "department", Department),
        (ENFORCEMENT_TOPIC, "sector", Sector),
        (COMPLAINTS_TOPIC, "category", ComplaintCategory),
        (COMPLAINTS_TOPIC, "kind", None),
        (COMPLAINTS_TOPIC, "channel", None),
        (COMPLAINTS_TOPIC, "status", None),
        (IOT_TOPIC, "metric", Metric),
        (IOT_TOPIC, "sector", Sector),
        (ENFORCEMENT_TOPIC, "subject_type", SubjectType),
        (ROLES_TOPIC, "role", PersonRole),
        (ROLES_TOPIC, "subject_type", SubjectType),
    ],
)
def test_unknown_code_is_bad_enum_listing_allowed_values(topic: str, field: str, enum: Any) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: "no-such-code"}))
    assert (result.reason, result.field) == ("bad_enum", field)
    assert "no-such-code" in result.detail
    for member in enum or ():
        assert member.value in result.detail


def test_enum_codes_are_case_sensitive() -> None:
    result = rejected(ENFORCEMENT_TOPIC, enforcement_data(kind="PENALTY"))
    assert result.reason == "bad_enum"


def test_non_string_enum_value_is_bad_enum() -> None:
    result = rejected(COMPLAINTS_TOPIC, complaint_data(channel=["phone"]))
    assert (result.reason, result.field) == ("bad_enum", "channel")


# --- timestamps -----------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", ["2026-03-02T08:00:00", "2026-03-02"])
def test_time_without_offset_is_naive_timestamp(topic: str, value: str) -> None:
    field = TIME_FIELD[topic]
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: value}))
    assert (result.reason, result.field) == ("naive_timestamp", field)
    assert "+08:00" in result.detail  # tells the publisher how to fix it


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00+00:00", "02/03/2026 08:00"])
def test_unparseable_time_is_bad_timestamp(topic: str, value: str) -> None:
    field = TIME_FIELD[topic]
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: value}))
    assert (result.reason, result.field) == ("bad_timestamp", field)


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_time_past_the_calendar_s_ends_in_utc_is_out_of_range(topic: str, value: str) -> None:
    field = TIME_FIELD[topic]
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: value}))
    assert (result.reason, result.field) == ("out_of_range", field)


def test_a_deadline_past_the_calendar_s_end_is_out_of_range() -> None:
    data = enforcement_data(kind="rectification_ordered", deadline="9999-12-31T23:59:00-12:00")
    result = rejected(ENFORCEMENT_TOPIC, data)
    assert (result.reason, result.field) == ("out_of_range", "deadline")


def test_bad_deadline_is_reported_on_the_deadline() -> None:
    data = enforcement_data(kind="rectification_ordered", deadline="2026-04-01")
    result = rejected(ENFORCEMENT_TOPIC, data)
    assert (result.reason, result.field) == ("naive_timestamp", "deadline")


@pytest.mark.parametrize("topic", TOPICS)
def test_offset_times_are_normalised_to_utc(topic: str) -> None:
    field = TIME_FIELD[topic]
    beijing = "2026-03-02T16:00:00+08:00"  # the same instant as T0 (08:00 UTC)
    record = decode(topic, DATA_OF_TOPIC[topic](**{field: beijing}))
    assert not isinstance(record, Rejected)
    at = getattr(record, field)
    assert at == T0
    assert at.utcoffset() == timedelta(0) and at.hour == 8


def test_z_suffix_means_utc() -> None:
    record = decode(COMPLAINTS_TOPIC, complaint_data(received_at="2026-03-02T08:00:00Z"))
    assert isinstance(record, Complaint) and record.received_at == T0


# --- out_of_range ---------------------------------------------------------------


@pytest.mark.parametrize("topic", [ENFORCEMENT_TOPIC, COMPLAINTS_TOPIC])
def test_negative_amount_is_out_of_range(topic: str) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](amount=-0.01))
    assert (result.reason, result.field) == ("out_of_range", "amount")


def test_absurd_amount_is_out_of_range() -> None:
    result = rejected(COMPLAINTS_TOPIC, complaint_data(amount=1e15))
    assert (result.reason, result.field) == ("out_of_range", "amount")


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("region", ["13010", "1301020", "13O102", "130 02"])
def test_region_must_be_six_digits(topic: str, region: str) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](region=region))
    assert (result.reason, result.field) == ("out_of_range", "region")


@pytest.mark.parametrize("region", ["１３０１０２", "¹³⁰¹⁰²", "١٣٠١٠٢"])
def test_region_must_be_ascii_digits(region: str) -> None:
    result = rejected(ENFORCEMENT_TOPIC, enforcement_data(region=region))
    assert (result.reason, result.field) == ("out_of_range", "region")


def test_region_outside_shijiazhuang_is_accepted() -> None:
    # Contracts check a code's format, not membership: other cities use the system too.
    record = decode(ENFORCEMENT_TOPIC, enforcement_data(region="110101"))
    assert isinstance(record, EnforcementEvent) and record.region == "110101"


@pytest.mark.parametrize("topic", TOPICS)
def test_event_time_far_in_the_future_is_out_of_range(topic: str) -> None:
    field = TIME_FIELD[topic]
    future = datetime.now(UTC) + timedelta(days=3)
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: future}))
    assert (result.reason, result.field) == ("out_of_range", field)


@pytest.mark.parametrize("topic", TOPICS)
def test_event_time_slightly_ahead_is_tolerated_as_clock_skew(topic: str) -> None:
    field = TIME_FIELD[topic]
    ahead = datetime.now(UTC) + timedelta(hours=1)
    assert not isinstance(decode(topic, DATA_OF_TOPIC[topic](**{field: ahead})), Rejected)


@pytest.mark.parametrize("topic", TOPICS)
def test_event_time_before_2000_is_out_of_range(topic: str) -> None:
    field = TIME_FIELD[topic]
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: "1999-12-31T23:00:00+00:00"}))
    assert (result.reason, result.field) == ("out_of_range", field)


@pytest.mark.parametrize("field", ["value", "limit"])
def test_iot_value_beyond_plausible_range_is_out_of_range(field: str) -> None:
    result = rejected(IOT_TOPIC, iot_data(**{field: -2e6}))
    assert (result.reason, result.field) == ("out_of_range", field)


def test_negative_iot_values_are_real_readings() -> None:
    record = decode(IOT_TOPIC, iot_data(value=-18.5, limit=-15.0))  # a freezer
    assert isinstance(record, IotReading) and record.value == -18.5


# --- too_long -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "field", "limit"),
    [
        (ENFORCEMENT_TOPIC, "event_id", MAX_ID_LENGTH),
        (ENFORCEMENT_TOPIC, "description", MAX_TEXT_LENGTH),
        (ENFORCEMENT_TOPIC, "reference", MAX_ID_LENGTH),
        (COMPLAINTS_TOPIC, "product", MAX_ID_LENGTH),
        (IOT_TOPIC, "device_id", MAX_ID_LENGTH),
    ],
)
def test_text_over_its_limit_is_too_long(topic: str, field: str, limit: int) -> None:
    at_limit = decode(topic, DATA_OF_TOPIC[topic](**{field: "字" * limit}))
    assert not isinstance(at_limit, Rejected)
    result = rejected(topic, DATA_OF_TOPIC[topic](**{field: "字" * (limit + 1)}))
    assert (result.reason, result.field) == ("too_long", field)
    assert str(limit) in result.detail


# --- inconsistent -------------------------------------------------------------


def test_deadline_before_the_event_is_inconsistent() -> None:
    data = enforcement_data(kind="rectification_ordered", deadline=T0 - timedelta(minutes=1))
    result = rejected(ENFORCEMENT_TOPIC, data)
    assert (result.reason, result.field) == ("inconsistent", "deadline")


def test_deadline_at_the_event_time_is_consistent() -> None:
    data = enforcement_data(kind="rectification_ordered", deadline=T0)
    assert isinstance(decode(ENFORCEMENT_TOPIC, data), EnforcementEvent)


@pytest.mark.parametrize(
    ("metric", "unit"),
    [("cold_chain_temperature", "fahrenheit"), ("cod", "mg/m3"), ("gas_concentration", "PPM")],
)
def test_iot_unit_other_than_the_metrics_unit_is_inconsistent(metric: str, unit: str) -> None:
    result = rejected(IOT_TOPIC, iot_data(metric=metric, unit=unit))
    assert (result.reason, result.field) == ("inconsistent", "unit")


# --- key_mismatch -------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
def test_message_without_key_is_key_mismatch(topic: str) -> None:
    result = decode_input(topic, None, encode(DATA_OF_TOPIC[topic]()))
    assert isinstance(result, Rejected) and result.reason == "key_mismatch"


@pytest.mark.parametrize("topic", TOPICS)
def test_message_keyed_by_another_subject_is_key_mismatch(topic: str) -> None:
    result = rejected(topic, DATA_OF_TOPIC[topic](), key=OTHER_SUBJECT.encode())
    assert result.reason == "key_mismatch"
    assert SUBJECT in result.detail


def test_key_padding_and_case_do_not_matter() -> None:
    key = f" {SUBJECT.lower()}\n".encode()
    assert isinstance(decode(ENFORCEMENT_TOPIC, enforcement_data(), key=key), EnforcementEvent)


def test_every_reason_is_reachable() -> None:
    """Guards the list above: a new Reason needs a test that produces it."""
    produced = {
        decode_input(ENFORCEMENT_TOPIC, SUBJECT.encode(), b"x").reason,
        decode_input(ENFORCEMENT_TOPIC, SUBJECT.encode(), b"[]").reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(region=None)).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(amount=True)).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(subject="91130100MA0000001X")).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(kind="fine")).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(occurred_at="2026-03-02T08:00")).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(occurred_at="soon")).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(amount=-1)).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(reference="r" * 200)).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(description="d" * 100_000)).reason,
        rejected(IOT_TOPIC, iot_data(unit="kelvin")).reason,
        rejected(ENFORCEMENT_TOPIC, enforcement_data(), key=b"nobody").reason,
    }
    assert produced == {reason.value for reason in Reason}


# --- valid records ------------------------------------------------------------


def test_unknown_extra_fields_are_ignored() -> None:
    data = enforcement_data(internal_note="ignore me", version=3, nested={"a": [1]})
    record = decode(ENFORCEMENT_TOPIC, data)
    assert isinstance(record, EnforcementEvent)
    assert "internal_note" not in to_json_dict(record)


def test_valid_enforcement_event_decodes_with_types() -> None:
    data = enforcement_data(
        event_id="  enf-001 ",
        amount=5000,
        legal_rep_id="130102198001011234",
        reference="石市监罚〔2026〕12号",
        description="销售过期食品",
    )
    record = decode(ENFORCEMENT_TOPIC, data)
    assert isinstance(record, EnforcementEvent)
    assert record.event_id == "enf-001"  # surrounding whitespace is not part of an id
    assert record.kind is EnforcementKind.PENALTY and record.severity is Severity.GENERAL
    assert record.department is Department.MARKET_REGULATION
    assert record.sector is Sector.FOOD_DRUG
    assert record.occurred_at == T0 and record.occurred_at.tzinfo is not None
    assert type(record.amount) is float and record.amount == 5000.0
    assert record.deadline is None and record.commitment_kind is None
    assert record.reference == "石市监罚〔2026〕12号"


def test_valid_complaint_decodes_with_types() -> None:
    record = decode(COMPLAINTS_TOPIC, complaint_data(kind="report", amount=99, product="月饼"))
    assert isinstance(record, Complaint)
    assert record.kind == "report" and record.category is ComplaintCategory.FOOD_SAFETY
    assert record.received_at == T0
    assert type(record.amount) is float and record.amount == 99.0


def test_valid_iot_reading_decodes_with_types() -> None:
    record = decode(IOT_TOPIC, iot_data(value=9, limit=8))
    assert isinstance(record, IotReading)
    assert record.metric is Metric.COLD_CHAIN_TEMPERATURE and record.unit == "celsius"
    assert type(record.value) is float and type(record.limit) is float
    assert record.measured_at == T0


def test_iot_reading_without_limit_decodes() -> None:
    data = iot_data()
    del data["limit"]
    record = decode(IOT_TOPIC, data)
    assert isinstance(record, IotReading) and record.limit is None


# --- output records: plain JSON for any Kafka client ----------------------------


def _no_faust_metadata(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not k.startswith("__faust") and _no_faust_metadata(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_no_faust_metadata(v) for v in value)
    return True


def _alert() -> Alert:
    return Alert(
        alert_id="a1",
        dedup_key=f"{SUBJECT}:penalty_serious:e1",
        subject=SUBJECT,
        kind=AlertKind.RULE,
        severity=AlertSeverity.HIGH,
        score=58.0,
        tier=Tier.C,
        region="130102",
        sector=Sector.FOOD_DRUG,
        title="Serious administrative penalty",
        evidence=[Evidence(fact="penalty_serious", value=1.0, detail="event e1")],
        source_event_ids=["e1"],
        created_at=T0,
        status=AlertStatus.OPEN,
        policy_version="2026.11-1",
    )


def _tier_change() -> TierChange:
    return TierChange(
        subject=SUBJECT,
        previous_tier=None,
        tier=Tier.B,
        score=40.0,
        reasons=[Evidence(fact="penalty_general", value=10.0)],
        effective_at=T0,
        version=1,
        policy_version="2026.11-1",
        region="130102",
        sector=Sector.FOOD_DRUG,
    )


def _dead_letter() -> DeadLetter:
    return DeadLetter(
        source_topic=ENFORCEMENT_TOPIC,
        partition=2,
        offset=17,
        key_b64=None,
        value_b64="e30=",
        reason="missing_field",
        detail="'kind' is required",
        field="kind",
        received_at=T0,
    )


@pytest.mark.parametrize("build", [_alert, _tier_change, _dead_letter])
def test_output_records_are_plain_json(build: Any) -> None:
    wire = orjson.loads(build().dumps())
    assert _no_faust_metadata(wire)
    assert wire == to_json_dict(build())


def test_alert_wire_format_uses_codes_and_iso_times() -> None:
    wire = orjson.loads(_alert().dumps())
    assert wire["kind"] == "rule" and wire["severity"] == "high" and wire["tier"] == "C"
    assert wire["status"] == "open" and wire["sector"] == "food_drug"
    assert datetime.fromisoformat(wire["created_at"]) == T0
    assert wire["evidence"] == [
        {"fact": "penalty_serious", "value": 1.0, "threshold": None, "detail": "event e1",
         "detail_zh": None, "label": None, "label_zh": None}
    ]  # fmt: skip
    assert (wire["disposition"], wire["rule"], wire["digest_key"]) == ("board", None, None)


def test_tier_change_wire_format() -> None:
    wire = orjson.loads(_tier_change().dumps())
    assert wire["previous_tier"] is None and wire["tier"] == "B" and wire["version"] == 1
    assert datetime.fromisoformat(wire["effective_at"]) == T0
    assert wire["reasons"][0]["fact"] == "penalty_general"


# --- registry.roles and the fields issue 18 added ------------------------------


def test_a_role_ending_before_it_began_is_inconsistent() -> None:
    result = rejected(ROLES_TOPIC, role_data(held_until=T0 - 400 * DAY))
    assert (result.reason, result.field) == ("inconsistent", "held_until")


def test_a_role_may_end_in_the_future_and_an_untyped_subject_is_an_enterprise() -> None:
    record = decode_input(
        ROLES_TOPIC, SUBJECT.encode(), encode(role_data(held_until=T0 + 900 * DAY))
    )
    assert not isinstance(record, Rejected)
    assert record.subject_type is None and record.held_until == T0 + 900 * DAY


def test_older_enforcement_records_without_the_new_fields_stay_valid() -> None:
    data = enforcement_data()
    assert "subject_type" not in data and "major_loss" not in data
    record = decode_input(ENFORCEMENT_TOPIC, SUBJECT.encode(), encode(data))
    assert isinstance(record, EnforcementEvent)
    assert (record.subject_type, record.major_loss) == (None, None)
    typed = enforcement_data(subject_type="public_institution", major_loss=True)
    record = decode_input(ENFORCEMENT_TOPIC, SUBJECT.encode(), encode(typed))
    assert isinstance(record, EnforcementEvent)
    assert (record.subject_type, record.major_loss) == ("public_institution", True)


def test_a_parsed_record_is_exactly_what_its_constructor_makes() -> None:
    """The parsers fill records without Faust's per-field descriptors
    (``validation.record``); every record of simulated traffic, of each topic and
    enforcement kind, must equal, field for field and byte for byte, the one the
    constructor makes of the same values."""
    clock = SteppingClock(T0 - 30 * DAY, timedelta(minutes=10))
    simulator = Simulator(3, 200, clock=clock, bad_ratio=0.0, duplicate_ratio=0.0)
    kinds: set[str] = set()
    for outbound in simulator.take(4_000):
        record = decode_input(outbound.topic, outbound.key, outbound.value)
        assert not isinstance(record, Rejected), record
        made = type(record)(**record.asdict())
        assert made.__dict__ == record.__dict__
        assert made.dumps() == record.dumps() and made == record
        kinds.add(getattr(record, "kind", type(record).__name__))
    assert {"IotReading", *ComplaintKind, EnforcementKind.PENALTY} <= kinds
