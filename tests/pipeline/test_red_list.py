"""The red list through a subject's step (seed 九): records in, list changes and incentives out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from detectors.casefile import CaseFile
from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.grading import GradedUnder
from pipeline.measures import measures_answer
from pipeline.red_list import red_list_view
from pipeline.subject import on_policy_change, on_time, step
from tests.factories import complaint, enforcement, make_uscc, pseudonym_key
from topics.decode import InputRecord
from topics.lists import ListChange

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
SUBJECT = make_uscc(811)
T0 = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)  # far enough back for a year and more of records


def run(
    records: list[InputRecord], state: SubjectState | None = None
) -> tuple[SubjectState, list[ListChange]]:
    case: CaseFile | None = None
    changes: list[ListChange] = []
    for record in records:
        state, case, out = step(state, case, record, CONTEXT)
        changes += [c for work in out.casework for c in work.list_changes]
    assert state is not None
    return state, changes


def honour(days: float, event_id: str) -> InputRecord:
    return enforcement(
        subject=SUBJECT, kind="honour", event_id=event_id, occurred_at=T0 + timedelta(days=days)
    )


def test_a_subject_a_year_in_tier_a_with_an_honour_enters_and_a_complaint_surge_ends_it() -> None:
    # Honoured on day 0 (its first record: tier A at once), honoured again on day 366.
    state, changes = run([honour(0, "h-0"), honour(366, "h-366")])
    (entered,) = changes
    assert (entered.list, entered.action, entered.version) == ("red_list", "entered", 1)
    assert entered.entered_at == T0 + timedelta(days=366)
    assert entered.expires_at == T0 + timedelta(days=366 + 730)  # the newest honour's window
    assert [e.fact for e in entered.basis] == [
        "red_list_tier",
        "honour",
        "honour",
        "red_list_clean",
    ]
    assert entered.basis[0].detail == "tier A since 2024-04-01"
    assert [m.category for m in entered.measures] == ["incentive"] * 3
    assert (entered.region, entered.sector) == ("130102", "food_drug")

    # Departments ask: a licence is eased (fast track, 容缺受理), nothing is restricted.
    profile = {"subject": SUBJECT, "supervision": None, "red_list": red_list_view(state, POLICY)}
    answer = measures_answer(profile, "licensing", T0 + timedelta(days=400))
    assert answer["restricted"] is False and answer["measures"] == []
    assert [m["code"] for m in answer["incentives"]] == ["fast_track", "accept_with_gaps"]

    # Twenty complaints in a day push the score past B: the tier moves, the listing ends.
    surge = [
        complaint(subject=SUBJECT, received_at=T0 + timedelta(days=400, minutes=i))
        for i in range(20)
    ]
    state, changes = run(surge, state)
    (left,) = changes
    assert (left.action, left.exit_reason, left.version) == ("exited", "no_longer_eligible", 2)
    assert left.basis[0].detail == "now tier B, A required"
    assert red_list_view(state, POLICY) is None


def test_an_adverse_record_ends_it_and_names_the_record() -> None:
    state, _ = run([honour(0, "h-0"), honour(366, "h-366")])
    penalty = enforcement(
        subject=SUBJECT, event_id="p-400", severity="minor", occurred_at=T0 + timedelta(days=400)
    )
    state, changes = run([penalty], state)
    (left,) = changes
    assert (left.action, left.exit_reason) == ("exited", "no_longer_eligible")
    assert (left.basis[0].fact, left.basis[0].detail) == (
        "penalty_minor", "event p-400 on 2025-05-06 by market regulation")  # fmt: skip


def test_a_wake_up_after_the_honours_lapsed_ends_it_on_the_day_they_did() -> None:
    state, changes = run([honour(0, "h-0"), honour(366, "h-366")])
    # The subject's case file falls due long after (its own deadline): the listing ended
    # when its newest honour left the window, and that is the date it says.
    now = T0 + timedelta(days=1200)
    _, _, out = on_time(SUBJECT, state, CaseFile(), now.timestamp(), CONTEXT)
    (left,) = [c for work in out.casework for c in work.list_changes]
    assert (left.exit_reason, left.exited_at) == ("expired", T0 + timedelta(days=366 + 730))


def test_a_policy_that_asks_more_takes_a_listed_subject_off_the_red_list_at_once() -> None:
    state, _ = run([honour(0, "h-0"), honour(366, "h-366")])
    assert state.red_list is not None and state.red_list.active
    stricter = dataclasses.replace(
        POLICY,
        red_list=dataclasses.replace(POLICY.red_list, tier_s=POLICY.red_list.tier_s * 3),
        digest="stricter",
    )
    put_in_force_s = (T0 + timedelta(days=400)).timestamp()
    changed, tier_change, list_changes = on_policy_change(
        SUBJECT, state, GradedUnder.of(POLICY), StepContext(stricter, pseudonym_key()),
        put_in_force_s,
    )  # fmt: skip
    (left,) = list_changes
    assert (left.list, left.action, left.version) == ("red_list", "exited", 2)
    assert changed and tier_change is None  # still tier A: only the list moved
    # Under the policy it was listed by, nothing changes.
    again, _ = run([honour(0, "h-0"), honour(366, "h-366")])
    assert (
        on_policy_change(SUBJECT, again, GradedUnder.of(POLICY), CONTEXT, put_in_force_s)[2] == []
    )
