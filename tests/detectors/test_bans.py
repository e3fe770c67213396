"""Seed 十: market and industry bans only on the seed's grounds, with periods up to permanent."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from detectors.casefile import CaseFile
from detectors.policy import DEFAULT_POLICY_PATH, parse_policy
from detectors.policy_values import PolicyError
from detectors.workflow import on_time
from tests.detectors.test_workflow import (
    POLICY,
    T0,
    K,
    day,
    file,
    filing,
    list_moves,
    penalty,
)

YEAR = 365


def ban_of(case: CaseFile) -> tuple[bool, float | None] | None:
    """(active, days it lasts from entry; None: no end) of the subject's ban, if any."""
    listing = case.listings.get("market_ban")
    if listing is None:
        return None
    length = listing.expires_at_s
    days = None if length is None else round((length - listing.entered_at_s) / 86_400)
    return listing.active, days


def test_one_serious_food_penalty_is_not_a_ban() -> None:
    case = CaseFile()
    file(case, penalty(T0, "serious", sector="food_drug"))
    assert ban_of(case) is None
    assert "joint_punishment" in case.listings


def test_refusing_a_court_ruling_in_a_life_safety_field_bans_for_three_years() -> None:
    case = CaseFile()
    effects = file(case, filing(K.COURT_DISHONEST_DEBTOR, T0, signal="court_dishonest_debtor"))
    assert ("market_ban", True, None) in list_moves(effects)
    assert ban_of(case) == (True, 3 * YEAR)
    (move,) = [m for m in effects.list_moves if m.listing.kind == "market_ban"]
    assert [m.code for m in move.measures] == ["market_ban"]
    assert [a.hit.rule for a in effects.alerts] == ["joint_punishment_list", "market_ban_list"]


def test_a_court_ruling_outside_the_life_safety_fields_is_no_ban() -> None:
    case = CaseFile()
    file(
        case,
        filing(K.COURT_DISHONEST_DEBTOR, T0, signal="court_dishonest_debtor", sector="finance"),
    )
    assert ban_of(case) is None


def test_refusing_a_penalty_decision_bans() -> None:
    case = CaseFile()
    file(case, filing(K.DECISION_REFUSED, T0, signal="decision_refused", sector="construction"))
    assert ban_of(case) == (True, 3 * YEAR)


def test_repeat_offences_ban_at_the_third_serious_penalty_for_five_years() -> None:
    case = CaseFile()
    file(case, penalty(T0, "serious"))
    file(case, penalty(day(T0, 200), "serious"))
    assert ban_of(case) is None  # two: joint punishment, no ban yet
    third = day(T0, 400)
    file(case, penalty(third, "serious"))
    assert ban_of(case) == (True, 5 * YEAR)
    assert case.listings["market_ban"].entered_at_s == third


def test_three_serious_penalties_spread_over_more_than_three_years_are_no_repeat() -> None:
    case = CaseFile()
    for offset in (0, 600, 1200):
        file(case, penalty(day(T0, offset), "serious"))
    assert ban_of(case) is None


def test_major_losses_ban_permanently_and_nothing_but_a_correction_lifts_it() -> None:
    case = CaseFile()
    serious = penalty(T0, "serious", major_loss=True)
    effects = file(case, serious)
    assert ban_of(case) == (True, None)
    (move,) = [m for m in effects.list_moves if m.listing.kind == "market_ban"]
    assert move.listing.expires_at_s is None
    # No period runs out: ten years on it still stands, though the record's publication
    # and the joint-punishment listing ended long ago.
    later = on_time(case, day(T0, 3650), POLICY)
    assert ("joint_punishment", False, "expired") in list_moves(later)
    assert "market_ban" not in [kind for kind, _, _ in list_moves(later)]
    assert ban_of(case) == (True, None)
    # Only an upheld objection (the decision was wrong) ends it.
    other = CaseFile()
    record = penalty(T0, "serious", major_loss=True)
    file(other, record)
    disputed = filing(K.OBJECTION_FILED, day(T0, 5), concerns=record.event_id)
    file(other, disputed)
    upheld = filing(K.OBJECTION_DECIDED, day(T0, 20), concerns=record.event_id, outcome="upheld")
    ended = file(other, upheld)
    assert ("market_ban", False, "objection_upheld") in list_moves(ended)


def test_a_repair_does_not_lift_a_ban() -> None:
    case = CaseFile()
    ruling = filing(K.DECISION_REFUSED, T0, signal="decision_refused", sector="construction")
    file(case, ruling)
    file(
        case,
        filing(
            K.COMMITMENT_MADE,
            day(T0, 370),
            commitment_kind="credit_repair",
            deadline_s=day(T0, 500),
            department="government_services",
        ),
    )
    repaired = file(
        case,
        filing(K.REPAIR_APPLIED, day(T0, 380), concerns=ruling.event_id, sector="construction"),
    )
    assert [n.kind for n in repaired.notices] == ["repair_approved"]
    assert repaired.withdrawn  # the record no longer counts towards the score
    assert list_moves(repaired) == []
    assert ban_of(case) == (True, 3 * YEAR)


def test_a_major_loss_elsewhere_than_the_life_safety_fields_is_no_ban() -> None:
    case = CaseFile()
    file(case, penalty(T0, "serious", major_loss=True, sector="finance"))
    assert ban_of(case) is None


# --- the policy may not invent grounds -------------------------------------------


def document() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def with_ban_rule(**rule: Any) -> dict[str, Any]:
    doc = copy.deepcopy(document())
    doc["lists"]["market_ban"]["entry"] = [
        {"signal": "penalty_general", "count": 1, "within_days": 365, **rule}
    ]
    return doc


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "must be one of seed 十's grounds"),
        ({"ground": "bad_reviews"}, "must be one of seed 十's grounds"),
        ({"ground": "major_loss", "permanent": True, "period_days": 10}, "not both"),
    ],
)
def test_a_ban_rule_needs_one_of_the_seed_s_grounds(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(with_ban_rule(**rule))


def test_only_bans_may_be_permanent() -> None:
    doc = copy.deepcopy(document())
    doc["lists"]["key_attention"]["entry"][0]["permanent"] = True
    with pytest.raises(PolicyError, match="only market bans"):
        parse_policy(doc)


def test_the_bundled_ban_rules_name_each_ground() -> None:
    spec = POLICY.supervision.list_policy("market_ban")
    assert {rule.ground for rule in spec.entry} == {
        "refused_ruling",
        "refused_decision",
        "repeat_offences",
        "major_loss",
    }
    assert spec.exits_on == frozenset({"objection_upheld"})
    assert "market_ban" not in {
        m.code for m in POLICY.supervision.list_policy("joint_punishment").measures
    }
