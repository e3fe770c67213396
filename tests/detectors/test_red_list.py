"""The red list (seed 九 守信激励): each entry rule, its edges, and every way out."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from detectors.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy
from detectors.red_list import review_red_list
from detectors.state import CreditMark, SubjectState
from tests.factories import T0_S

POLICY = load_policy()
RULES = POLICY.red_list  # tier A for 365 days, 1 honour within 730 days, clean for 730 days
CALENDAR = POLICY.supervision.calendar
DAY = 86_400.0


def honour(at_s: float, event_id: str = "h1") -> CreditMark:
    return CreditMark(event_id, "honour", at_s, "market_regulation")


def eligible_state(**changes: Any) -> SubjectState:
    """Tier A for exactly a year at T0 + 365 days, honoured at T0, never an adverse record."""
    state = SubjectState(clock=T0_S + 365 * DAY, region="130102", sector="food_drug", tier="A")
    state.tier_since_s, state.honours = T0_S, [honour(T0_S)]
    for name, value in changes.items():
        setattr(state, name, value)
    return state


def review(state: SubjectState, at_s: float) -> list[tuple[str, int, bool, str | None]]:
    moves = review_red_list(state, at_s, RULES, CALENDAR)
    return [
        (m.listing.kind, m.listing.version, m.listing.active, m.listing.exit_reason) for m in moves
    ]


def test_a_subject_that_meets_every_rule_enters_until_its_honour_grows_old() -> None:
    state = eligible_state()
    moves = review_red_list(state, T0_S + 365 * DAY, RULES, CALENDAR)
    (move,) = moves
    assert move.fresh and move.listing.active and move.listing.version == 1
    assert move.listing.entered_at_s == T0_S + 365 * DAY
    assert move.listing.expires_at_s == T0_S + 730 * DAY  # the honour's window
    assert move.listing.basis == ["h1"]
    assert [f.fact for f in move.basis] == ["red_list_tier", "honour", "red_list_clean"]
    assert [m.code for m in move.measures] == [
        "fast_track",
        "accept_with_gaps",
        "fewer_spot_checks",
    ]
    # Reviewed again with nothing new, it stays on without a new record.
    assert review(state, T0_S + 400 * DAY) == []


def test_one_second_short_of_the_time_in_tier_is_not_enough() -> None:
    state = eligible_state()
    assert review(state, T0_S + 365 * DAY - 1) == []
    assert review(state, T0_S + 365 * DAY) == [("red_list", 1, True, None)]


@pytest.mark.parametrize("tier", ["B", "C", "D", None])
def test_only_the_policy_tier_can_enter(tier: str | None) -> None:
    assert review(eligible_state(tier=tier), T0_S + 400 * DAY) == []


def test_no_honour_or_an_honour_too_old_keeps_a_subject_off() -> None:
    assert review(eligible_state(honours=[]), T0_S + 400 * DAY) == []
    # The honour 730 days back still counts; a second later it does not.
    assert review(eligible_state(), T0_S + 730 * DAY + 1) == []
    assert review(eligible_state(), T0_S + 730 * DAY) == [("red_list", 1, True, None)]


def test_an_adverse_record_within_the_clean_period_keeps_a_subject_off() -> None:
    penalty = CreditMark("p1", "penalty_minor", T0_S - 365 * DAY, "market_regulation")
    state = eligible_state(last_adverse=penalty)
    # 730 days after the penalty, not one second earlier.
    assert review(state, T0_S + 365 * DAY - 1) == []
    assert review(state, T0_S + 365 * DAY) == [("red_list", 1, True, None)]


def test_a_tier_move_ends_the_listing_at_once() -> None:
    state = eligible_state()
    review(state, T0_S + 365 * DAY)
    state.tier, state.tier_since_s = "B", T0_S + 500 * DAY
    (move,) = review_red_list(state, T0_S + 500 * DAY, RULES, CALENDAR)
    assert (move.listing.active, move.listing.exit_reason) == (False, "no_longer_eligible")
    assert move.listing.exited_at_s == T0_S + 500 * DAY and move.listing.version == 2
    (why,) = move.basis
    assert (why.fact, why.says, dict(why.about)) == (
        "red_list_tier", "tier_not", {"grade": "B", "required": "A"})  # fmt: skip


def test_an_adverse_record_ends_the_listing_and_names_the_record() -> None:
    state = eligible_state()
    review(state, T0_S + 365 * DAY)
    state.last_adverse = CreditMark("p9", "penalty_minor", T0_S + 400 * DAY, "health")
    (move,) = review_red_list(state, T0_S + 400 * DAY, RULES, CALENDAR)
    assert move.listing.exit_reason == "no_longer_eligible"
    (why,) = move.basis
    assert (why.fact, why.about["event"], why.about["department"]) == (
        "penalty_minor", "p9", "health")  # fmt: skip


def test_honours_growing_old_end_the_listing_on_the_day_they_lapse() -> None:
    state = eligible_state()
    review(state, T0_S + 365 * DAY)
    # Reviewed long after (the subject had no step in between): it ended at the lapse.
    (move,) = review_red_list(state, T0_S + 900 * DAY, RULES, CALENDAR)
    assert (move.listing.exit_reason, move.listing.exited_at_s) == ("expired", T0_S + 730 * DAY)
    assert move.basis[0].about == {"day": CALENDAR.iso_date(T0_S + 730 * DAY)}


def test_a_new_honour_extends_the_listing_and_a_later_one_reenters_it() -> None:
    state = eligible_state()
    review(state, T0_S + 365 * DAY)
    state.honours.append(honour(T0_S + 500 * DAY, "h2"))
    (move,) = review_red_list(state, T0_S + 500 * DAY, RULES, CALENDAR)
    assert move.listing.active and not move.fresh and move.listing.version == 2
    assert move.listing.expires_at_s == T0_S + 1230 * DAY and move.listing.basis == ["h1", "h2"]
    # It lapses; an honour after the lapse puts it back on, as a new entry (version 4).
    state.honours.append(honour(T0_S + 1300 * DAY, "h3"))
    assert review(state, T0_S + 1300 * DAY) == [
        ("red_list", 3, False, "expired"),
        ("red_list", 4, True, None),
    ]


def _document() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tier": "E"}, "red_list.tier"),
        ({"honour_signals": ["penalty_minor"]}, "honour_signals"),
        ({"honour_signals": ["no_such_signal"]}, "honour_signals"),
        ({"honours": 0}, "red_list.honours"),
        ({"honours": 9}, "red_list.honours"),
        ({"honours_within_days": 0}, "honours_within_days"),
        ({"clean_days": -1}, "clean_days"),
        ({"measures": []}, "names no incentive"),
        (
            {"measures": [{"code": "x", "category": "market", "description": "x", "actions": []}]},
            "category",
        ),
    ],
)
def test_a_broken_red_list_policy_is_refused_naming_the_key(
    change: dict[str, Any], message: str
) -> None:
    document = _document()
    document["red_list"] = {**document["red_list"], **change}
    with pytest.raises(PolicyError, match=message):
        parse_policy(document)


def test_the_red_list_needs_its_table() -> None:
    document = _document()
    del document["red_list"]
    with pytest.raises(PolicyError, match="red_list"):
        parse_policy(document)
