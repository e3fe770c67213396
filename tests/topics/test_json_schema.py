"""The published JSON Schemas: committed, generated from the records, and strict enough.

Department systems validate what they read against these files, so a real
record must pass and a broken one must fail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from creditwatch.cli import main
from topics.contract_schemas import PUBLIC_SCHEMAS, SCHEMA_DIR, generated_files
from topics.json_schema import record_schema, required_fields
from topics.lists import (
    ExitReason,
    ListAction,
    ListChange,
    ListKind,
    Measure,
    MeasureCategory,
    list_change_key,
)
from topics.memberships import Membership
from topics.publications import Publication
from topics.risk import Alert, Evidence, TierChange
from topics.vocabulary import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    Department,
    EnforcementKind,
    NoticeKind,
    PublicationReason,
    PublicationStatus,
    Sector,
    Tier,
)
from topics.workflow import NoticeReason, WorkflowNotice

T = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SUBJECT = "91130102MA0EXAMPL1"


def _date_time(value: object) -> bool:
    # jsonschema checks "date-time" only with an optional package; the contract
    # also demands a UTC offset, which is what matters to a consumer.
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value).tzinfo is not None


FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_date_time)


def validator(topic: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{topic}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def errors(topic: str, message: dict[str, Any]) -> list[str]:
    return [error.message for error in validator(topic).iter_errors(message)]


def wire(record: faust.Record) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(record.dumps())
    return value


def tier_change() -> TierChange:
    return TierChange(
        subject=SUBJECT,
        previous_tier=None,
        tier=Tier.B,
        score=28.0,
        reasons=[Evidence(fact="spot_check_passed", value=-2.0)],
        effective_at=T,
        version=1,
        policy_version="2026.11-1",
        region="130102",
        sector=Sector.FOOD_DRUG,
    )


def area_alert() -> Alert:
    return Alert(
        alert_id="a4faac7d1b743586c451",
        dedup_key="cross-region:price:2026-11-28",
        subject=None,
        kind=AlertKind.CROSS_REGION,
        severity=AlertSeverity.MEDIUM,
        score=0.0,
        tier=None,
        region="130100",
        sector=Sector.OTHER,
        title="Price complaints surging in 2 counties",
        evidence=[Evidence(fact="county 130102", value=31.0, threshold=9.5)],
        source_event_ids=["c-1", "c-2"],
        created_at=T,
        status=AlertStatus.OPEN,
        policy_version="2026.11-1",
    )


def list_exit() -> ListChange:
    return ListChange(
        subject=SUBJECT,
        list=ListKind.JOINT_PUNISHMENT,
        action=ListAction.EXITED,
        basis=[Evidence(fact="repair_completed", value=1.0, detail="event r-9")],
        entered_at=T - timedelta(days=400),
        expires_at=T + timedelta(days=695),
        exited_at=T,
        exit_reason=ExitReason.REPAIRED,
        measures=[
            Measure(
                code="bidding_restricted",
                category=MeasureCategory.ADMINISTRATIVE,
                description="barred from public-resource bidding",
                actions=["bidding", "public_procurement"],
            )
        ],
        legal_rep_id=None,
        version=2,
        policy_version="2026.11-1",
        region="130102",
        sector=Sector.CONSTRUCTION,
    )


def rejected_repair() -> WorkflowNotice:
    return WorkflowNotice(
        notice_id="r-9:decision",
        subject=SUBJECT,
        kind=NoticeKind.REPAIR_REJECTED,
        department=Department.GOVERNMENT_SERVICES,
        issued_at=T,
        concerns_event_id="r-9",
        due_at=None,
        reasons=[NoticeReason(code="minimum_period", detail="repairable from 2027-01-05")],
        earliest_eligible_at=T + timedelta(days=30),
        policy_version="2026.11-4",
        region="130102",
        sector=Sector.CONSTRUCTION,
    )


def repaired_publication() -> Publication:
    return Publication(
        event_id="e-12",
        subject=SUBJECT,
        kind=EnforcementKind.PENALTY,
        signal="penalty_general",
        severity="general",
        department=Department.MARKET_REGULATION,
        sector=Sector.FOOD_DRUG,
        region="130102",
        status=PublicationStatus.REPAIRED,
        published_from=T,
        published_until=T + timedelta(days=365),
        repairable_from=T + timedelta(days=90),
        disputed=False,
        reason=PublicationReason.REPAIRED,
        cause_event_id="e-40",
        changed_at=T + timedelta(days=100),
        version=2,
        policy_version="2026.11-4",
    )


def former_member() -> Membership:
    return Membership(
        event_id="m-1",
        association="food-assoc",
        subject=SUBJECT,
        member_from=T - timedelta(days=400),
        recorded_at=T,
        member_until=T,
    )


def test_committed_schema_files_are_what_the_records_generate() -> None:
    committed = {path.name: path.read_text("utf-8") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == generated_files()
    assert set(committed) == {
        "risk.tier-changes.schema.json",
        "risk.list-changes.schema.json",
        "risk.alerts.schema.json",
        "risk.workflow.schema.json",
        "risk.publications.schema.json",
        "risk.dlq.schema.json",
        "risk.person-records.schema.json",
        "registry.roles.schema.json",
        "registry.memberships.schema.json",
        "evaluations.sector.schema.json",
    }


@pytest.mark.parametrize(
    ("topic", "record"),
    [
        ("risk.tier-changes", tier_change()),
        ("risk.alerts", area_alert()),
        ("risk.list-changes", list_exit()),
        ("risk.workflow", rejected_repair()),
        ("risk.publications", repaired_publication()),
        ("registry.memberships", former_member()),
    ],
)
def test_real_records_validate(topic: str, record: faust.Record) -> None:
    assert errors(topic, wire(record)) == []


def test_a_subject_alert_validates_too() -> None:
    alert = area_alert().derive(subject=SUBJECT, tier=Tier.C, kind=AlertKind.RULE)
    assert errors("risk.alerts", wire(alert)) == []


def test_a_record_missing_a_required_field_is_rejected() -> None:
    change = wire(tier_change())
    del change["version"]
    assert errors("risk.tier-changes", change) == ["'version' is a required property"]


def test_a_nullable_field_must_still_be_present() -> None:
    # Area-wide alerts carry "subject": null; leaving the field out is not the same.
    alert = wire(area_alert())
    del alert["subject"]
    assert errors("risk.alerts", alert) == ["'subject' is a required property"]


@pytest.mark.parametrize(
    ("topic", "record", "path", "bad"),
    [
        ("risk.tier-changes", tier_change(), ("tier",), "E"),
        ("risk.alerts", area_alert(), ("kind",), "gossip"),
        ("risk.list-changes", list_exit(), ("exit_reason",), "forgiven"),
        ("risk.list-changes", list_exit(), ("measures", 0, "category"), "social"),
    ],
)
def test_a_bad_enum_value_is_rejected(
    topic: str, record: faust.Record, path: tuple[str | int, ...], bad: str
) -> None:
    message = wire(record)
    target: Any = message
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = bad
    assert [f"'{bad}' is not one of" in e for e in errors(topic, message)] == [True]


def test_wrong_types_and_naive_times_are_rejected() -> None:
    change = wire(tier_change())
    assert errors("risk.tier-changes", {**change, "version": "1"}) == [
        "'1' is not of type 'integer'"
    ]
    assert errors("risk.tier-changes", {**change, "effective_at": "2026-11-28T02:00:00"})
    assert errors("risk.tier-changes", {**change, "reasons": [{"value": 1.0}]}) == [
        "'fact' is a required property"
    ]


def test_fields_added_later_with_defaults_are_optional_for_old_messages() -> None:
    # Alert gained its lifecycle fields with defaults; messages written before
    # that are still valid alerts.
    alert = wire(area_alert())
    old = {k: v for k, v in alert.items() if k in required_fields(Alert)}
    assert "revision" not in old and errors("risk.alerts", old) == []


def test_unknown_fields_are_allowed_so_producers_can_add_them_first() -> None:
    assert errors("risk.tier-changes", {**wire(tier_change()), "new_field": 1}) == []


def test_list_changes_round_trip_on_the_wire_and_are_keyed_by_subject_and_list() -> None:
    change = list_exit()
    assert ListChange.loads(change.dumps()).dumps() == change.dumps()
    message = wire(change)
    assert (message["list"], message["action"], message["exit_reason"]) == (
        "joint_punishment",
        "exited",
        "repaired",
    )
    assert message["exited_at"] == "2026-11-28T02:00:00Z"
    assert message["measures"][0]["category"] == "administrative"
    assert list_change_key(change.subject, change.list) == f"{SUBJECT}|joint_punishment"


def test_schema_shapes_for_optional_nested_and_enum_fields() -> None:
    schema = record_schema(ListChange)
    props = schema["properties"]
    assert props["basis"] == {"type": "array", "items": {"$ref": "#/$defs/Evidence"}}
    assert props["expires_at"] == {"type": ["string", "null"], "format": "date-time"}
    assert props["exit_reason"]["enum"][-1] is None
    assert schema["$defs"]["Evidence"]["required"] == ["fact", "value"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_public_schema_names_its_topic_and_key() -> None:
    for contract in PUBLIC_SCHEMAS:
        schema = contract.schema()
        assert schema["title"] == contract.topic.name
        assert contract.topic.name in schema["description"] and "key" in schema["description"]


def test_schemas_check_fails_on_a_stale_file_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schemas", "--check"]) == 0  # the committed files

    assert main(["schemas", "--dir", str(tmp_path)]) == 0
    (tmp_path / "risk.alerts.schema.json").write_text("{}\n")
    (tmp_path / "risk.retired.schema.json").write_text("{}\n")
    capsys.readouterr()

    assert main(["schemas", "--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "risk.alerts.schema.json: out of date" in err
    assert "risk.retired.schema.json: not generated by any record" in err

    (tmp_path / "risk.retired.schema.json").unlink()
    assert main(["schemas", "--dir", str(tmp_path)]) == 0
    assert main(["schemas", "--check", "--dir", str(tmp_path)]) == 0
