"""Which measures apply to a subject for an approval action (seed 九), from its profile."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from detectors.casefile import CaseFile
from detectors.policy import load_policy
from detectors.workflow import on_filing
from pipeline.context import StepContext
from pipeline.measures import (
    UnknownAction,
    known_actions,
    measures_answer,
    measures_in_force,
    requested_action,
)
from pipeline.subject import process
from pipeline.supervision import apply_effects, case_view, filing_of
from tests.factories import SUBJECT, T0, enforcement, pseudonym_key

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
SOON = T0 + timedelta(days=1)


def profile_after(*records: dict[str, Any]) -> dict[str, Any]:
    """The profile fields the endpoint reads, after ``records`` went through the workflows."""
    state, case = None, CaseFile()
    for fields in records:
        event = enforcement(subject=SUBJECT, **fields)
        state, _ = process(state, event, CONTEXT)
        assert state is not None
        apply_effects(SUBJECT, state, case, on_filing(case, filing_of(event), POLICY), CONTEXT)
    return {
        "subject": SUBJECT,
        "supervision": case_view(case, POLICY),
        "policy_version": POLICY.version,
    }


def dishonest_debtor(sector: str = "food_drug") -> dict[str, Any]:
    return profile_after(
        {"kind": "court_dishonest_debtor", "department": "court", "sector": sector}
    )


def test_a_dishonest_debtor_may_not_bid_but_is_not_spot_checked_more() -> None:
    profile = dishonest_debtor()

    bidding = measures_answer(profile, "bidding", SOON)
    assert bidding["restricted"] is True
    (measure,) = bidding["measures"]
    assert (measure["list"], measure["code"], measure["category"]) == (
        "joint_punishment",
        "no_bidding",
        "administrative",
    )
    assert measure["actions"] == ["bidding", "public_procurement"]
    # Listed for the joint-punishment period (three years) from the ruling.
    assert datetime.fromisoformat(measure["listed_until"]) == T0 + timedelta(days=1095)
    assert bidding["policy_version"] == POLICY.version and bidding["subject"] == SUBJECT

    # More spot checks are a key-attention measure; a joint-punishment subject is not on it.
    spot_check = measures_answer(profile, "spot_check", SOON)
    assert spot_check["restricted"] is False and spot_check["measures"] == []


def test_one_action_can_be_restricted_by_several_measures() -> None:
    codes = [m["code"] for m in measures_answer(dishonest_debtor(), "licensing", SOON)["measures"]]
    assert codes == ["strict_licensing", "market_ban"]


def test_without_an_action_every_measure_in_force_is_listed() -> None:
    everything = measures_answer(dishonest_debtor("finance"), None, SOON)
    assert everything["action"] is None and everything["restricted"] is True
    codes = {m["code"] for m in everything["measures"]}
    assert {"no_bidding", "no_credit", "no_flights_rail", "public_censure"} <= codes
    # Market and industry bans are for the life-safety fields (seed 十) only.
    assert "market_ban" not in codes


def test_a_membership_whose_period_ended_restricts_nothing() -> None:
    # The worker closes it when event time passes its end; until then the
    # profile still shows it, but the wall clock has moved on.
    profile = dishonest_debtor()
    after = T0 + timedelta(days=1095, seconds=1)
    assert measures_answer(profile, "bidding", after)["restricted"] is False
    assert measures_in_force(profile["supervision"], None, after) == []


def test_a_subject_on_no_list_is_restricted_in_nothing() -> None:
    profile = profile_after({"kind": "spot_check", "result": "passed"})
    assert profile["supervision"]["lists"] == []
    assert measures_answer(profile, "bidding", SOON)["restricted"] is False
    # Profiles of subjects with no case file at all say so with null.
    answer = measures_answer({"subject": SUBJECT, "supervision": None}, "bidding", SOON)
    assert answer["measures"] == [] and answer["restricted"] is False


def test_known_actions_come_from_both_lists_of_the_policy() -> None:
    known = known_actions(POLICY)
    assert {"bidding", "public_procurement", "licensing", "credit"} <= known  # joint punishment
    assert "spot_check" in known  # key attention only


def test_an_unknown_action_is_refused_naming_the_known_ones() -> None:
    known = known_actions(POLICY)
    assert requested_action(None, known) is None
    assert requested_action("subsidy", known) == "subsidy"
    with pytest.raises(UnknownAction, match="action must be one of air_travel, bidding") as info:
        requested_action("export_licence", known)
    assert "'export_licence'" in str(info.value)
    with pytest.raises(UnknownAction):
        requested_action("", known)
