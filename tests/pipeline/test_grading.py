"""Re-grading under a changed policy (issue 14, item 5): the one tier path, moved by a policy."""

from __future__ import annotations

import dataclasses

from detectors.policy import Policy, load_policy
from detectors.scoring import score_subject
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.grading import POLICY_CHANGED, GradedUnder, needs_regrade, regrade
from pipeline.subject import process
from tests.factories import DAY, T0, complaint, enforcement, make_uscc, pseudonym_key
from topics.decode import InputRecord
from topics.vocabulary import Tier

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
DEBTOR, QUIET = make_uscc(701), make_uscc(702)


def stricter(policy: Policy) -> Policy:
    """Policy "B": C starts at 35 instead of 50, so a general penalty (40 points) is C."""
    return dataclasses.replace(
        policy,
        tiers=dataclasses.replace(policy.tiers, c_from=35.0),
        version="test-stricter",
        digest="b" * 64,
    )


def graded(*records: InputRecord) -> SubjectState:
    """A subject's state after ``records``, graded under the bundled policy."""
    state = None
    for record in records:
        state, _ = process(state, record, CONTEXT)
    assert state is not None
    return state


def test_a_subject_whose_score_crosses_a_threshold_gets_a_tier_change_naming_the_policy() -> None:
    state = graded(enforcement(subject=DEBTOR, severity="general", occurred_at=T0))
    assert (state.tier, state.version) == ("B", 1)
    new = StepContext(stricter(POLICY), CONTEXT.pseudonym_key)
    at_s = (T0 + 10 * DAY).timestamp()

    changed, change = regrade(DEBTOR, state, GradedUnder.of(POLICY), new, at_s)

    assert changed and change is not None  # the same score, past the new bound
    assert (change.previous_tier, change.tier, change.version) == (Tier.B, Tier.C, 2)
    assert change.policy_version == "test-stricter" and state.tier == "C"
    cause, *contributions = change.reasons
    assert cause.fact == POLICY_CHANGED
    assert cause.detail is not None and cause.detail_zh is not None
    assert f"policy {POLICY.version}" in cause.detail and "policy test-stricter" in cause.detail
    assert f"策略 {POLICY.version}（" in cause.detail_zh
    assert "更换为策略 test-stricter（" in cause.detail_zh
    assert cause.value == round(state.score, 2)  # the score it had under the old policy
    assert [c.fact for c in contributions] == [
        c.fact for c in score_subject(state, stricter(POLICY)).contributions
    ]
    # In force from when the worker put the policy in force, after the subject's last event.
    assert change.effective_at.timestamp() == at_s


def test_a_subject_whose_tier_holds_gets_no_tier_change() -> None:
    state = graded(complaint(subject=QUIET, received_at=T0))
    before = (state.tier, state.version, state.score)
    new = StepContext(stricter(POLICY), CONTEXT.pseudonym_key)

    changed, change = regrade(QUIET, state, GradedUnder.of(POLICY), new, T0.timestamp())

    assert change is None and not changed
    assert (state.tier, state.version, state.score) == before


def test_a_changed_weight_re_scores_the_state_even_when_the_tier_holds() -> None:
    state = graded(enforcement(subject=QUIET, kind="spot_check", result="problems_found"))
    problems = POLICY.signals["spot_check_problems"]
    lighter = dataclasses.replace(
        POLICY,
        signals={
            **POLICY.signals,
            "spot_check_problems": dataclasses.replace(problems, points=problems.points - 1),
        },
        version="test-lighter",
        digest="c" * 64,
    )
    before = state.score

    changed, change = regrade(QUIET, state, GradedUnder.of(POLICY), StepContext(lighter, b"k"), 0)

    assert changed and change is None
    assert state.score < before  # stored, so the profile's score matches its policy version


def test_the_same_policy_moves_nothing_and_is_not_re_graded() -> None:
    state = graded(
        enforcement(subject=DEBTOR, severity="general", occurred_at=T0),
        enforcement(subject=DEBTOR, kind="tax_violation", occurred_at=T0 + DAY),
    )
    assert not needs_regrade(GradedUnder.of(POLICY), POLICY)
    assert needs_regrade(None, POLICY) and needs_regrade(GradedUnder("x", "0" * 64), POLICY)
    before = (state.tier, state.version, state.score)

    # Even when asked (a partition never stamped), the policy it was graded with keeps it.
    assert regrade(DEBTOR, state, None, CONTEXT, T0.timestamp()) == (False, None)
    assert (state.tier, state.version, state.score) == before
