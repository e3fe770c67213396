"""What the public sees of a subject (pipeline/disclosure.py): published, in period, masked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from detectors.policy import load_policy
from pipeline import disclosure_labels as zh
from pipeline.disclosure import (
    BasisFact,
    ComplaintCount,
    ListRow,
    Publication,
    RecordRow,
    SubjectRows,
    disclose,
    listed,
    mask_personal_text,
)
from pipeline.disclosure_policy import DisclosureError, load_disclosure, parse_disclosure
from topics.lists import ListKind, MeasureCategory
from topics.vocabulary import (
    CommitmentKind,
    ComplaintCategory,
    ComplaintStatus,
    Department,
    EnforcementKind,
    ObjectionOutcome,
    Sector,
    Severity,
    SpotCheckResult,
)

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = load_disclosure()
SUBJECT = "91130100MA00000113"


def record(
    event_id: str, kind: str = "penalty", days_ago: float = 10, **fields: object
) -> RecordRow:
    values: dict[str, object] = {
        "event_id": event_id,
        "kind": kind,
        "occurred_at": NOW - days_ago * DAY,
        "department": "market_regulation",
        "region": "130102",
        "sector": "food_drug",
        **fields,
    }
    if kind == "penalty":
        values.setdefault("severity", "general")
    return RecordRow(**values)  # type: ignore[arg-type]


def published(
    event_id: str, days_ago: float = 10, days: float = 365, kind: str = "penalty", **fields: object
) -> Publication:
    start = NOW - days_ago * DAY
    values: dict[str, object] = {
        "event_id": event_id,
        "kind": kind,
        "department": "market_regulation",
        "region": "130102",
        "sector": "food_drug",
        "status": "published",
        "published_from": start,
        "published_until": start + days * DAY,
        "changed_at": start,
        **fields,
    }
    return Publication(**values)  # type: ignore[arg-type]


def rows(
    *records: RecordRow, publications: tuple[Publication, ...] = (), **fields: object
) -> SubjectRows:
    return SubjectRows(
        SUBJECT,
        records=records,
        publications={p.event_id: p for p in publications},
        **fields,  # type: ignore[arg-type]
    )


def test_a_published_penalty_in_its_period_is_shown_with_its_details():
    shown = disclose(
        rows(
            record("p1", reference="石市监罚〔2026〕15号", amount=5e4),
            publications=(published("p1"),),
        ),
        NOW,
        POLICY,
    )
    assert [(s.event_id, s.reference, s.amount) for s in shown.penalties] == [
        ("p1", "石市监罚〔2026〕15号", 5e4)
    ]
    assert shown.penalties[0].published_until == NOW + 355 * DAY
    assert shown.on_record and shown.region == "130102"


@pytest.mark.parametrize(
    "standing",
    [
        published("p1", status="repaired"),
        published("p1", status="corrected"),
        published("p1", status="expired"),
        # Still "published" on file, but its period ended a second ago: the clock decides.
        published("p1", days_ago=30, days=30 - 1 / 86_400),
        # Not yet begun.
        published("p1", days_ago=-1),
    ],
    ids=["repaired", "corrected", "expired", "period-over", "not-yet"],
)
def test_a_record_out_of_publication_is_not_shown_anywhere(standing: Publication):
    shown = disclose(rows(record("p1", reference="GONE"), publications=(standing,)), NOW, POLICY)
    assert shown.penalties == () and not shown.on_record
    assert listed(record("p1"), standing, NOW, POLICY) is None


def test_an_adverse_record_with_no_publication_yet_is_not_shown():
    """The sink has the record but not (yet) its publication: fail closed."""
    shown = disclose(rows(record("p1"), record("c1", "court_dishonest_debtor")), NOW, POLICY)
    assert shown.penalties == () and shown.other_adverse == ()
    assert listed(record("p1"), None, NOW, POLICY) is None


def test_other_adverse_records_and_a_breach_found_by_deadline_are_shown_in_their_own_part():
    breach = published("m1:breach", kind="commitment_breached", department="taxation")
    shown = disclose(
        rows(
            record("c1", "court_dishonest_debtor", department="court"),
            publications=(published("c1", kind="court_dishonest_debtor"), breach),
        ),
        NOW,
        POLICY,
    )
    assert {s.event_id for s in shown.other_adverse} == {"c1", "m1:breach"}
    derived = next(s for s in shown.other_adverse if s.event_id == "m1:breach")
    assert (derived.kind, derived.department, derived.reference) == (
        "commitment_breached",
        "taxation",
        None,
    )


def test_objections_are_marked_pending_then_rejected_and_an_upheld_one_hides_the_record():
    filed = record("o1", "objection_filed", days_ago=5, concerns_event_id="p1")
    pending = disclose(
        rows(record("p1"), filed, publications=(published("p1", disputed=True),)), NOW, POLICY
    )
    assert pending.penalties[0].objection == "pending"
    assert pending.penalties[0].objection_at == NOW - 5 * DAY

    rejected = record(
        "o2", "objection_decided", days_ago=2, concerns_event_id="p1", outcome="rejected"
    )
    decided = disclose(
        rows(record("p1"), filed, rejected, publications=(published("p1"),)), NOW, POLICY
    )
    assert decided.penalties[0].objection == "rejected"

    corrected = disclose(
        rows(
            record("p1", reference="WITHDRAWN"),
            filed,
            publications=(published("p1", status="corrected", changed_at=NOW - DAY),),
        ),
        NOW,
        POLICY,
    )
    assert corrected.penalties == ()
    assert [(n.kind, n.at) for n in corrected.notes] == [("corrected", NOW - DAY)]


def test_a_repair_leaves_a_note_with_its_date_and_department_only():
    shown = disclose(
        rows(
            record("p1", reference="REPAIRED-REF", description="REPAIRED-TEXT"),
            publications=(published("p1", status="repaired", changed_at=NOW - 2 * DAY),),
        ),
        NOW,
        POLICY,
    )
    assert [(n.kind, n.at, n.department) for n in shown.notes] == [
        ("repaired", NOW - 2 * DAY, "market_regulation")
    ]
    assert "REPAIRED" not in repr(shown.notes)


def test_spot_checks_passed_are_shown_for_their_window_and_problems_only_while_published():
    passed = record("s1", "spot_check", days_ago=30, result="passed")
    old = record("s2", "spot_check", days_ago=POLICY.spot_check_window.days + 1, result="passed")
    problems = record("s3", "spot_check", days_ago=5, result="problems_found")
    hidden = record("s4", "spot_check", days_ago=5, result="not_found_at_address")
    shown = disclose(
        rows(
            passed,
            old,
            problems,
            hidden,
            publications=(published("s3", days_ago=5, days=90, kind="spot_check"),),
        ),
        NOW,
        POLICY,
    )
    assert [s.event_id for s in shown.spot_checks] == ["s3", "s1"]


def test_licences_and_honours_are_shown_for_their_windows():
    fresh = record("l1", "licence_granted", days_ago=100, reference="JY1")
    stale = record("l2", "licence_granted", days_ago=POLICY.licence_window.days + 1)
    honour = record("h1", "honour", days_ago=10, description="守合同重信用企业")
    shown = disclose(rows(fresh, stale, honour), NOW, POLICY)
    assert [s.event_id for s in shown.licences] == ["l1"]
    assert [s.event_id for s in shown.honours] == ["h1"]
    assert listed(fresh, None, NOW, POLICY) is not None
    assert listed(stale, None, NOW, POLICY) is None


def test_a_record_dated_after_now_is_not_shown_yet():
    shown = disclose(rows(record("l1", "licence_granted", days_ago=-0.5)), NOW, POLICY)
    assert shown.licences == ()


def test_list_memberships_are_shown_while_in_force():
    entered = ListRow(
        "joint_punishment",
        "entered",
        NOW - 10 * DAY,
        NOW + 10 * DAY,
        basis=(BasisFact("court_dishonest_debtor", "event c1 on 2026-11-27 by court"),),
    )
    expired = replace(entered, list="key_attention", expires_at=NOW - DAY)
    exited = replace(entered, list="key_attention", action="exited", exit_reason="repaired")
    shown = disclose(rows(lists=(entered, expired)), NOW, POLICY)
    assert [x.list for x in shown.lists] == ["joint_punishment"]
    assert disclose(rows(lists=(exited,)), NOW, POLICY).lists == ()


def test_an_entry_on_its_way_is_not_published_before_its_statement_window_ends():
    """Seed 八 (issue 17): proposed, or decided with the subject's window open, is not
    published; a decision against it never is (docs/workflows.md, due procedure)."""
    decided = ListRow("joint_punishment", "decided", NOW - 2 * DAY, NOW + 1000 * DAY)
    for action in ("proposed", "decided", "dismissed"):
        assert disclose(rows(lists=(replace(decided, action=action),)), NOW, POLICY).lists == ()
    published = replace(decided, action="entered", entered_at=NOW - DAY)
    assert [x.list for x in disclose(rows(lists=(published,)), NOW, POLICY).lists] == [
        "joint_punishment"
    ]


def test_the_commitments_register_says_whether_each_was_kept():
    made = dict(commitment_kind="credit_repair", description="按期整改")
    kept = record("m1", "commitment_made", days_ago=40, deadline=NOW + 5 * DAY, **made)
    kept_by = record(
        "f1",
        "commitment_fulfilled",
        days_ago=3,
        concerns_event_id="m1",
        commitment_kind="credit_repair",
    )
    missed = record("m2", "commitment_made", days_ago=40, deadline=NOW - DAY, **made)
    open_ = record("m3", "commitment_made", days_ago=5, deadline=NOW + 30 * DAY, **made)
    # No concerns_event_id: closes the oldest open one of its kind and department.
    unnamed = record(
        "m4", "commitment_made", days_ago=20, deadline=NOW + 30 * DAY, commitment_kind="voluntary"
    )
    closes_unnamed = record("f2", "commitment_fulfilled", days_ago=1, commitment_kind="voluntary")
    shown = disclose(rows(kept, kept_by, missed, open_, unnamed, closes_unnamed), NOW, POLICY)
    assert {c.event_id: c.status for c in shown.commitments} == {
        "m1": "fulfilled",
        "m2": "breached",
        "m3": "open",
        "m4": "fulfilled",
    }


def test_complaints_are_counts_by_category_and_status_only():
    counts = (ComplaintCount("food_safety", "accepted", 3), ComplaintCount("price", "closed", 0))
    shown = disclose(rows(complaints=counts), NOW, POLICY)
    assert shown.complaints == (ComplaintCount("food_safety", "accepted", 3),)
    assert shown.on_record


def test_identity_and_mobile_numbers_in_free_text_are_masked():
    text = "负责人身份证号 11010519491231002X 手机 13912345678，主体 91130100MA00000113"
    shown = disclose(
        rows(record("p1", description=text), publications=(published("p1"),)), NOW, POLICY
    )
    description = shown.penalties[0].description
    assert "11010519491231002X" not in description and "13912345678" not in description
    assert "91130100MA00000113" in description  # a credit code is not a person's
    assert mask_personal_text("110105194912310021") == "110105194912310021"  # bad check digit


def test_nothing_about_a_subject_with_only_unpublished_records_is_shown():
    shown = disclose(
        rows(record("p1"), publications=(published("p1", status="repaired"),)), NOW, POLICY
    )
    assert not shown.on_record


@pytest.mark.parametrize(
    ("table", "enumeration"),
    [
        (zh.SECTOR, Sector),
        (zh.DEPARTMENT, Department),
        (zh.ENFORCEMENT_KIND, EnforcementKind),
        (zh.SEVERITY, Severity),
        (zh.SPOT_CHECK_RESULT, SpotCheckResult),
        (zh.COMMITMENT_KIND, CommitmentKind),
        (zh.OBJECTION_OUTCOME, ObjectionOutcome),
        (zh.COMPLAINT_CATEGORY, ComplaintCategory),
        (zh.COMPLAINT_STATUS, ComplaintStatus),
        (zh.LIST_KIND, ListKind),
        (zh.MEASURE_CATEGORY, MeasureCategory),
    ],
)
def test_every_code_of_the_contracts_has_a_chinese_name(table, enumeration):
    assert set(table) == {value.value for value in enumeration}


def test_every_credit_signal_of_the_policy_has_a_chinese_name():
    assert set(load_policy().signals) <= set(zh.SIGNAL)


def test_a_bad_disclosure_file_names_the_key():
    document = {"version": "x", "report": {"valid_days": 30}, "windows": {"licence_days": 1}}
    with pytest.raises(DisclosureError, match="windows.spot_check_days"):
        parse_disclosure(document)
