"""The row mapping: every contract field reaches a column or the body, nothing invented."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from detectors.casefile import CaseFile
from detectors.policy import load_policy
from detectors.workflow import on_filing
from pipeline.context import StepContext
from pipeline.subject import process
from pipeline.supervision import apply_effects, filing_of
from streams.archive import tables as t
from streams.archive.rows import DERIVED, INPUT_TOPICS, Skipped, Unreadable, rows_of
from tests.factories import (
    COMPLAINTS_TOPIC,
    ENFORCEMENT_TOPIC,
    IOT_TOPIC,
    SUBJECT,
    T0,
    complaint_data,
    encode,
    enforcement,
    enforcement_data,
    evaluation_data,
    iot_data,
    pseudonym_key,
    role_data,
)
from topics.catalogue import ALL_TOPICS
from topics.catalogue import INPUT_TOPICS as CATALOGUE_INPUTS
from topics.risk import to_json_dict

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
KEY = SUBJECT.encode()


def only_row(topic: str, data: dict[str, object]) -> tuple[t.Table, dict[str, object]]:
    mapped = rows_of(topic, KEY, encode(data))
    assert isinstance(mapped, list) and len(mapped) == 1
    return mapped[0]


def test_an_enforcement_record_keeps_every_field_typed_and_whole() -> None:
    data = enforcement_data(
        kind="penalty",
        severity="serious",
        amount=125000.5,
        reference="石市监罚〔2026〕17号",
        description="销售过期食品",
        legal_rep_id="rep-9",
    )
    table, row = only_row(ENFORCEMENT_TOPIC, data)
    assert table is t.ENFORCEMENT_EVENTS
    assert set(row) == set(table.column_names)
    assert (row["subject"], row["event_id"], row["kind"], row["severity"]) == (
        SUBJECT,
        data["event_id"],
        "penalty",
        "serious",
    )
    assert row["occurred_at"] == T0 and row["amount"] == 125000.5
    assert (row["reference"], row["description"]) == ("石市监罚〔2026〕17号", "销售过期食品")
    body = orjson.loads(str(row["body"]))
    assert {k: body[k] for k in data if k != "occurred_at"} == {
        k: v for k, v in data.items() if k != "occurred_at"
    }
    assert body["occurred_at"].startswith("2026-03-02T08:00:00")


@pytest.mark.parametrize(
    ("topic", "build", "table", "time_column"),
    [
        (COMPLAINTS_TOPIC, complaint_data, t.COMPLAINTS, "received_at"),
        (IOT_TOPIC, iot_data, t.IOT_READINGS, "measured_at"),
    ],
)
def test_complaints_and_readings_fill_every_column(topic, build, table, time_column) -> None:
    data = build(amount=300.0) if topic == COMPLAINTS_TOPIC else build(limit=8.0)
    mapped_table, row = only_row(topic, data)
    assert mapped_table is table and set(row) == set(table.column_names)
    assert row[time_column] == T0
    non_null = {name for name, value in row.items() if value is not None}
    required = {c.name for c in table.columns if not c.nullable}
    assert required <= non_null
    if topic == IOT_TOPIC:
        assert row["limit_value"] == 8.0 and row["value"] == data["value"]


def test_an_input_that_breaks_its_contract_is_skipped_not_stored() -> None:
    # The worker dead-letters it already; the sink must not do it a second time.
    assert rows_of(ENFORCEMENT_TOPIC, KEY, b"{not json") == Skipped("not_json")
    assert rows_of(ENFORCEMENT_TOPIC, b"other", encode(enforcement_data())) == Skipped(
        "key_mismatch"
    )


def test_a_tier_change_is_a_history_row_and_the_subject_standing() -> None:
    state, outputs = process(None, enforcement(severity="serious"), CONTEXT)
    assert outputs.tier_change is not None
    value = outputs.tier_change.dumps()
    mapped = rows_of("risk.tier-changes", KEY, value)
    assert isinstance(mapped, list)
    assert [table for table, _ in mapped] == [t.TIER_CHANGES, t.TIER_STATE]
    row = mapped[0][1]
    assert (row["subject"], row["version"], row["tier"]) == (SUBJECT, 1, outputs.tier_change.tier)
    assert orjson.loads(row["body"]) == orjson.loads(value)


def test_publications_and_list_changes_from_the_pipeline_map_to_their_tables() -> None:
    case = CaseFile()
    event = enforcement(kind="court_dishonest_debtor", department="court")
    state, _ = process(None, event, CONTEXT)
    effects = on_filing(case, filing_of(event), POLICY)
    outputs = apply_effects(SUBJECT, state, case, effects, CONTEXT)
    [publication] = outputs.publications
    mapped = rows_of("risk.publications", KEY, publication.dumps())
    assert isinstance(mapped, list)
    assert [table for table, _ in mapped] == [t.PUBLICATIONS, t.PUBLICATION_STATE]
    row = mapped[0][1]
    assert (row["event_id"], row["status"], row["severity"], row["version"]) == (
        event.event_id,
        "published",
        "serious",
        1,
    )
    assert row["published_until"] - row["published_from"] > timedelta(days=365)
    assert set(row) == set(t.PUBLICATIONS.column_names)
    entry = next(c for c in outputs.list_changes if c.list == "joint_punishment")
    mapped = rows_of("risk.list-changes", KEY, entry.dumps())
    assert isinstance(mapped, list)
    list_row = mapped[0][1]
    assert list_row["active"] is True and list_row["list"] == "joint_punishment"
    assert orjson.loads(list_row["body"])["measures"] == to_json_dict(entry)["measures"]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (b"[1]", "value is JSON list, not an object"),
        (b'{"subject": "x"}', "missing field 'version'"),
        (b"\xff", "not JSON"),
    ],
)
def test_a_derived_record_the_store_cannot_read_is_unreadable(value: bytes, detail: str) -> None:
    mapped = rows_of("risk.tier-changes", KEY, value)
    assert isinstance(mapped, Unreadable) and detail in mapped.detail


def test_a_derived_time_without_a_zone_is_unreadable() -> None:
    state, outputs = process(None, enforcement(), CONTEXT)
    assert outputs.tier_change is not None
    data = to_json_dict(outputs.tier_change)
    data["effective_at"] = "2026-03-02T08:00:00"
    assert rows_of("risk.tier-changes", KEY, orjson.dumps(data)) == Unreadable(
        "'effective_at' has no time zone"
    )


def test_every_archived_topic_is_in_the_catalogue_and_every_table_is_written() -> None:
    names = {spec.name for spec in ALL_TOPICS}
    assert set(INPUT_TOPICS) | set(DERIVED) <= names
    written = {t.ENFORCEMENT_EVENTS, t.COMPLAINTS, t.IOT_READINGS, t.PERSON_ROLES}
    written |= {t.SECTOR_EVALUATIONS}
    written |= {table for topic in DERIVED.values() for table in topic.tables}
    assert written == set(t.ALL_TABLES)


def test_a_role_record_keeps_the_person_and_the_dates() -> None:
    data = role_data(person_name="张三", subject_type="state_owned", held_until=T0)
    table, row = only_row("registry.roles", data)
    assert table is t.PERSON_ROLES
    assert set(row) == set(table.column_names)
    assert (row["person_id"], row["person_name"], row["role"], row["subject_type"]) == (
        "LR000000001",
        "张三",
        "legal_representative",
        "state_owned",
    )
    assert row["held_until"] == T0 and row["held_from"] == T0 - timedelta(days=365)


def test_a_sector_evaluation_keeps_its_level_evaluator_and_grade() -> None:
    data = evaluation_data(level="state", evaluator="国家税务总局", grade="A", reference="E-1")
    table, row = only_row("evaluations.sector", data)
    assert table is t.SECTOR_EVALUATIONS
    assert set(row) == set(table.column_names)
    assert (row["sector"], row["level"], row["evaluator"], row["grade"], row["reference"]) == (
        "food_drug", "state", "国家税务总局", "A", "E-1")  # fmt: skip
    assert row["evaluated_at"] == T0 and row["valid_until"] is None


def test_a_person_record_is_a_history_row_and_the_latest_state() -> None:
    record = {
        "person": "0" * 32,
        "person_id": "LR000000001",
        "person_name": None,
        "roles": [],
        "entries": [{"active": True}, {"active": False}],
        "version": 3,
        "changed_at": "2026-03-02T08:00:00+00:00",
        "policy_version": "2026.12-1",
    }
    mapped = rows_of("risk.person-records", b"0" * 32, orjson.dumps(record))
    assert isinstance(mapped, list)
    assert [table for table, _ in mapped] == [t.PERSON_RECORDS, t.PERSON_STATE]
    _, row = mapped[0]
    assert (row["person"], row["version"], row["active_entries"]) == ("0" * 32, 3, 1)


def test_every_input_feed_is_archived() -> None:
    """A new feed in the catalogue's inputs is kept in the store too (seed 四: every
    record searchable for years): it needs its table, until then this fails."""
    assert set(INPUT_TOPICS) == {spec.name for spec in CATALOGUE_INPUTS}


def test_a_spot_check_plan_is_one_row_per_round() -> None:
    plan = {
        "region": "130102",
        "date": "2026-03-02",
        "seed": 7,
        "policy_version": "2026.1",
        "counts": {"A": {"subjects": 3, "eligible": 3, "drawn": 1, "ratio": 0.05}},
        "tasks": [
            {"uscc": SUBJECT, "sector": "food_drug", "tier": "A", "reason": "random",
             "inspectors": ["i-1", "i-2"]},
        ],
    }  # fmt: skip
    [(table, row)] = rows_of("risk.spotcheck-plans", b"130102|2026-03-02", orjson.dumps(plan))
    assert table is t.SPOTCHECK_PLANS and table.latest == "source_offset"
    assert (row["region"], row["plan_date"].isoformat(), row["seed"], row["task_count"]) == (
        "130102",
        "2026-03-02",
        7,
        1,
    )
    assert orjson.loads(row["body"])["tasks"][0]["inspectors"] == ["i-1", "i-2"]


def test_a_case_is_a_history_row_and_the_latest_state() -> None:
    """Issue 17: a case as the case agent publishes it, an incident's too (no subject)."""
    from tests.pipeline.test_cases import open_case, opened

    _, case = open_case({**opened(), "subject": None, "dedup_key": "cross-region:k1"})
    mapped = rows_of("risk.cases", case.key.encode(), orjson.dumps(case.to_json()))
    assert isinstance(mapped, list)
    assert [table for table, _ in mapped] == [t.CASE_VERSIONS, t.CASE_STATE]
    _, row = mapped[0]
    assert (row["case_id"], row["revision"], row["case_key"], row["subject"]) == (
        "cross-region:k1~1", 1, "cross-region:k1", None
    )  # fmt: skip
    # Its evidence names no county, so no county route matches: the centre assigns it.
    assert (row["owner"], row["queue"], row["escalated_at"]) == (None, "general", None)
    assert row["due_at"].isoformat() == "2026-03-09T16:00:00+00:00"
