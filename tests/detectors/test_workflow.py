"""Supervision workflows on a case file: commitments, deadlines, objections, lists, repair."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from detectors.casefile import CaseFile, ItemStatus, RecordStatus
from detectors.policy import load_policy
from detectors.workflow import Effects, Filing, on_filing, on_time
from topics.vocabulary import AlertKind, EnforcementKind, NoticeKind

POLICY = load_policy()
RULES = POLICY.supervision
TZ = RULES.calendar.timezone
K = EnforcementKind
_ids = itertools.count(1)


def at(*args: int) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def day(when: float, days: float) -> float:
    return when + days * 86_400


def filing(kind: EnforcementKind, when: float, **fields: Any) -> Filing:
    fields.setdefault("department", "market_regulation")
    fields.setdefault("sector", "food_drug")
    fields.setdefault("region", "130102")
    return Filing(f"e{next(_ids)}", kind, when, **fields)


def penalty(when: float, severity: str, **fields: Any) -> Filing:
    return filing(K.PENALTY, when, signal=f"penalty_{severity}", **fields)


def file(case: CaseFile, record: Filing) -> Effects:
    return on_filing(case, record, POLICY)


def list_moves(effects: Effects) -> list[tuple[str, bool, str | None]]:
    return [(m.listing.kind, m.listing.active, m.listing.exit_reason) for m in effects.list_moves]


# --- commitments (seed 一) ------------------------------------------------------

T0 = at(2026, 3, 2, 10)  # a Monday


def test_a_commitment_kept_in_time_closes_without_a_breach() -> None:
    case = CaseFile()
    made = filing(
        K.COMMITMENT_MADE, T0, commitment_kind="voluntary", deadline_s=at(2026, 10, 1, 12)
    )
    file(case, made)
    # The deadline falls on National Day: the 8th, the next working day, is in time.
    file(case, filing(K.COMMITMENT_FULFILLED, at(2026, 10, 8, 17), concerns=made.event_id))
    assert on_time(case, at(2026, 12, 1), POLICY).notices == []
    assert case.commitments[0].status is ItemStatus.FULFILLED


def test_a_commitment_missed_by_its_deadline_is_a_breach_on_the_record() -> None:
    case = CaseFile()
    made = filing(
        K.COMMITMENT_MADE,
        T0,
        commitment_kind="approval_substitution",
        deadline_s=at(2026, 10, 1, 12),
        department="government_services",
    )
    file(case, made)
    assert not on_time(case, at(2026, 10, 8, 23, 59), POLICY)  # still the postponed day
    effects = on_time(case, at(2026, 10, 9, 0, 1), POLICY)
    # The accepting department hears of the breach, and (审批替代型) must revoke the approval.
    assert [(n.kind, n.department) for n in effects.notices] == [
        (NoticeKind.COMMITMENT_BREACHED, "government_services"),
        (NoticeKind.APPROVAL_REVOCATION, "government_services"),
    ]
    (record,) = effects.derived
    breach = "commitment_breached_approval_substitution"
    assert (record.signal, record.at_s) == (breach, at(2026, 10, 9))
    assert [a.hit.kind for a in effects.alerts] == [AlertKind.DEADLINE]
    # The department reports the same breach later: it is not counted twice.
    late = file(
        case,
        filing(
            K.COMMITMENT_BREACHED,
            at(2026, 10, 12, 9),
            signal=breach,
            commitment_kind="approval_substitution",
            concerns=made.event_id,
        ),
    )
    assert [r.signal for r in late.withdrawn] == [breach]
    assert late.notices == []  # nor are its consequences
    assert sum(r.signal == breach for r in case.records) == 1


# --- rectification and interviews (seed 十二) ---------------------------------------


def test_a_missed_rectification_gives_the_ordering_department_an_interview_task() -> None:
    case = CaseFile()
    order = filing(
        K.RECTIFICATION_ORDERED,
        at(2026, 9, 14, 9),
        deadline_s=at(2026, 9, 29, 18),
        department="ecology_environment",
    )
    file(case, order)
    effects = on_time(case, at(2026, 9, 30, 0, 5), POLICY)
    (notice,) = effects.notices
    assert (notice.kind, notice.department, notice.concerns) == (
        NoticeKind.INTERVIEW_DUE,
        "ecology_environment",
        order.event_id,
    )
    # 10 working days from 29 September, across the National Day holiday.
    assert notice.due_s == at(2026, 10, 20)
    # A completion after the deadline does not cancel the interview; the interview does.
    file(case, filing(K.RECTIFICATION_COMPLETED, at(2026, 10, 9, 10), concerns=order.event_id))
    assert case.rectifications[0].status is ItemStatus.OVERDUE
    file(
        case,
        filing(
            K.INTERVIEW, at(2026, 10, 13, 10), signal="interview", department="ecology_environment"
        ),
    )
    assert case.rectifications[0].status is ItemStatus.INTERVIEWED


def test_a_rectification_completed_on_the_deadline_day_needs_no_interview() -> None:
    case = CaseFile()
    order = filing(K.RECTIFICATION_ORDERED, at(2026, 9, 14, 9), deadline_s=at(2026, 9, 29, 9))
    file(case, order)
    file(case, filing(K.RECTIFICATION_COMPLETED, at(2026, 9, 29, 23)))  # matched by department
    assert not on_time(case, at(2026, 12, 31), POLICY).notices


# --- lists (seed 八–十一) -------------------------------------------------------------


def test_repeated_general_penalties_within_a_year_enter_the_key_attention_list() -> None:
    case = CaseFile()
    file(case, penalty(T0, "general"))
    file(case, penalty(day(T0, 200), "general"))
    effects = file(case, penalty(day(T0, 300), "general"))
    assert list_moves(effects) == [("key_attention", True, None)]
    (move,) = effects.list_moves
    assert len(move.basis) == 3 and {m.code for m in move.measures} >= {"more_spot_checks"}
    assert [a.hit.kind for a in effects.alerts] == [AlertKind.LIST]
    # A fourth extends the listing: a new version, a later expiry.
    first_expiry = case.listings["key_attention"].expires_at_s
    effects = file(case, penalty(day(T0, 330), "general"))
    assert list_moves(effects) == [("key_attention", True, None)]
    assert effects.list_moves[0].listing.version == 2
    assert case.listings["key_attention"].expires_at_s > first_expiry


def test_penalties_spread_beyond_the_window_do_not_list() -> None:
    case = CaseFile()
    for offset in (0, 200, 400):
        assert not file(case, penalty(day(T0, offset), "general")).list_moves


def test_a_serious_penalty_in_a_life_safety_field_lists_for_joint_punishment_not_a_ban() -> None:
    """Seed 十 keeps market bans for its own grounds (detectors/test_bans.py): one serious
    food penalty is joint punishment, not a ban."""
    case = CaseFile()
    effects = file(case, penalty(T0, "serious", sector="food_drug"))
    # Joint punishment takes precedence: not also on the key-attention list.
    assert list_moves(effects) == [("joint_punishment", True, None)]
    assert "market_ban" not in {m.code for m in effects.list_moves[0].measures}
    elsewhere = file(CaseFile(), penalty(T0, "serious", sector="finance"))
    assert list_moves(elsewhere) == [("key_attention", True, None)]


def test_a_listing_ends_with_its_period() -> None:
    case = CaseFile()
    file(
        case,
        filing(K.COURT_DISHONEST_DEBTOR, T0, signal="court_dishonest_debtor", department="court"),
    )
    expires = case.listings["joint_punishment"].expires_at_s
    effects = on_time(case, expires + 1, POLICY)
    assert ("joint_punishment", False, "expired") in list_moves(effects)
    assert not case.listings["joint_punishment"].active


# --- objections (seed 十七) ---------------------------------------------------------


def test_an_objection_upheld_after_a_list_entry_corrects_the_record_and_exits_the_list() -> None:
    case = CaseFile()
    serious = penalty(T0, "serious")
    file(case, serious)
    assert case.listings["joint_punishment"].active
    file(case, filing(K.OBJECTION_FILED, day(T0, 3), concerns=serious.event_id))
    record = case.record(serious.event_id)
    assert record is not None and record.disputed  # still counts (policy) while disputed
    effects = file(
        case,
        filing(K.OBJECTION_DECIDED, day(T0, 10), concerns=serious.event_id, outcome="upheld"),
    )
    assert list_moves(effects) == [("joint_punishment", False, "objection_upheld")]
    assert [r.event_id for r in effects.withdrawn] == [serious.event_id]
    assert record.status is RecordStatus.CORRECTED
    assert case.objections[0].status is ItemStatus.UPHELD


def test_a_rejected_objection_leaves_record_and_listing_standing() -> None:
    case = CaseFile()
    serious = penalty(T0, "serious")
    file(case, serious)
    file(case, filing(K.OBJECTION_FILED, day(T0, 3), concerns=serious.event_id))
    effects = file(
        case,
        filing(K.OBJECTION_DECIDED, day(T0, 10), concerns=serious.event_id, outcome="rejected"),
    )
    assert not effects.list_moves and not effects.withdrawn
    assert case.listings["joint_punishment"].active


def test_an_undecided_objection_is_escalated_after_its_working_days() -> None:
    case = CaseFile()
    serious = penalty(T0, "serious", department="taxation", sector="finance")
    file(case, serious)
    file(case, filing(K.OBJECTION_FILED, at(2026, 9, 28, 10), concerns=serious.event_id))
    # 15 working days from Monday 28 September, National Day included: due end of 23 October.
    assert not on_time(case, at(2026, 10, 23, 23), POLICY).notices
    (notice,) = on_time(case, at(2026, 10, 24, 0, 1), POLICY).notices
    assert (notice.kind, notice.department) == (NoticeKind.OBJECTION_OVERDUE, "taxation")


# --- credit repair (seed 十三) --------------------------------------------------------


def repairable_case(record: Filing, applying_at: float) -> CaseFile:
    """A case with ``record`` and a credit-repair commitment made shortly before applying."""
    case = CaseFile()
    file(case, record)
    commitment = filing(
        K.COMMITMENT_MADE,
        day(applying_at, -10),
        commitment_kind="credit_repair",
        deadline_s=day(applying_at, 60),
    )
    file(case, commitment)
    return case


def test_repair_one_day_before_the_minimum_period_is_refused_with_the_date() -> None:
    general = penalty(at(2026, 3, 2, 10), "general", sector="finance")
    case = repairable_case(general, at(2026, 5, 30, 16))
    # General records are published for at least 90 days: repairable from 31 May.
    effects = file(case, filing(K.REPAIR_APPLIED, at(2026, 5, 30, 16), concerns=general.event_id))
    (notice,) = effects.notices
    assert notice.kind is NoticeKind.REPAIR_REJECTED
    assert [r.fact for r in notice.reasons] == ["minimum_period"]
    assert notice.earliest_s == at(2026, 5, 31)
    assert not effects.withdrawn
    effects = file(case, filing(K.REPAIR_APPLIED, at(2026, 5, 31, 9), concerns=general.event_id))
    assert effects.notices[0].kind is NoticeKind.REPAIR_APPROVED
    assert [r.event_id for r in effects.withdrawn] == [general.event_id]
    assert case.record(general.event_id).status is RecordStatus.REPAIRED  # type: ignore[union-attr]


def test_repair_ends_the_listing_it_rested_on() -> None:
    serious = penalty(at(2026, 1, 5, 10), "serious", sector="food_drug")
    # Serious records are published for at least a year: repairable from 5 January 2027.
    application = filing(K.REPAIR_APPLIED, at(2027, 1, 5, 9), concerns=serious.event_id)
    case = repairable_case(serious, application.at_s)
    assert case.listings["joint_punishment"].active
    effects = file(case, application)
    assert list_moves(effects) == [("joint_punishment", False, "repaired")]
    assert effects.list_moves[0].basis[0].fact == "repair_completed"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("no_commitment", "no_repair_commitment"),
        ("open_rectification", "rectification_outstanding"),
        ("newer_record", "recent_record"),
        ("court_ruling", "not_repairable"),
        ("unknown_record", "no_published_record"),
    ],
)
def test_an_ineligible_repair_names_each_unmet_condition(setup: str, code: str) -> None:
    when = at(2026, 1, 5, 10)
    record = penalty(when, "general", sector="finance")
    if setup == "court_ruling":
        record = filing(K.COURT_DISHONEST_DEBTOR, when, signal="court_dishonest_debtor")
    applied = day(when, 200)
    case = CaseFile() if setup == "no_commitment" else repairable_case(record, applied)
    if setup == "no_commitment":
        file(case, record)
    if setup == "open_rectification":
        file(case, filing(K.RECTIFICATION_ORDERED, day(when, 150), deadline_s=day(when, 300)))
    if setup == "newer_record":
        file(case, penalty(day(when, 150), "general", sector="finance"))
    concerns = "nothing-like-it" if setup == "unknown_record" else record.event_id
    effects = file(case, filing(K.REPAIR_APPLIED, applied, concerns=concerns))
    (notice,) = effects.notices
    assert notice.kind is NoticeKind.REPAIR_REJECTED
    assert [r.fact for r in notice.reasons] == [code]
    if code == "recent_record":
        assert notice.earliest_s == RULES.calendar.days_after_s(day(when, 150), 90)


# --- the case file -----------------------------------------------------------------


def test_the_case_file_round_trips_and_stays_bounded() -> None:
    case = CaseFile()
    for n in range(60):
        made = filing(
            K.COMMITMENT_MADE, day(T0, n), commitment_kind="voluntary", deadline_s=day(T0, n + 5)
        )
        file(case, made)
        file(case, filing(K.COMMITMENT_FULFILLED, day(T0, n + 1), concerns=made.event_id))
    assert len(case.commitments) == RULES.max_closed_items
    assert CaseFile.from_bytes(case.to_bytes()) == case


def test_a_record_filed_again_after_a_crash_changes_nothing() -> None:
    case = CaseFile()
    serious = penalty(T0, "serious")
    assert file(case, serious).list_moves
    before = case.to_bytes()
    assert not file(case, serious)
    assert case.to_bytes() == before
