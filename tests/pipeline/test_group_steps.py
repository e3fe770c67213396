"""The steps of the group agents: peers, linkage groups, complaint categories.

Plain functions of (state, message, context), run here without a broker. Their
severities follow the policy's numbers and ``[alerts.severity]``, their titles
the one table, in Chinese and English.
"""

from __future__ import annotations

import dataclasses

from detectors.alert_rules import AlertRule, Severities
from detectors.policy import Policy, load_policy
from pipeline import cross_region, cross_sector, peers
from pipeline.context import StepContext
from tests.factories import DAY, T0_S, make_uscc
from topics.internal import (
    AdverseReport,
    AdverseSignal,
    ComplaintCount,
    CrossSectorCandidate,
    Member,
    PeerUpdate,
)
from topics.risk import Alert
from topics.vocabulary import AlertSeverity

POLICY = load_policy()
KEY = b"a test key of at least thirty-two bytes"
DAY_S = DAY.total_seconds()


def context(policy: Policy = POLICY) -> StepContext:
    return StepContext(policy, KEY)


def with_severity(rule: AlertRule, *pair: AlertSeverity) -> Policy:
    table = dict(POLICY.alerts.severity.of_rule)
    table[rule] = (pair[0], pair[-1])
    alerts = dataclasses.replace(POLICY.alerts, severity=Severities(table))
    return dataclasses.replace(POLICY, alerts=alerts)


# --- peers ------------------------------------------------------------------------


def peer_alerts(policy: Policy, complaints: float) -> list[Alert]:
    """Twelve quiet peers, then one subject with ``complaints`` in 30 days."""
    group = "food_drug|130102"

    def update(n: int, features: tuple[float, ...]) -> PeerUpdate:
        return PeerUpdate(group, make_uscc(n), None, features, T0_S + n, f"e{n}", "B", 30.0,
                          "130102", "food_drug")  # fmt: skip

    state, _ = peers.step(None, [update(n, (30.0, 0.0, 0.0, 0.0)) for n in range(12)],
                          context(policy))  # fmt: skip
    _, alerts = peers.step(state, [update(99, (30.0, complaints, 0.0, 0.0))], context(policy))
    return alerts


def test_a_peer_outlier_is_strong_from_the_policy_s_high_spreads() -> None:
    # complaints_30d has a spread floor of 2: 16 complaints are 8 spreads above none.
    assert POLICY.peers.spread_floor["complaints_30d"] == 2.0
    at_the_bound = dataclasses.replace(POLICY.peers, high_spreads=8.0)
    above_it = dataclasses.replace(POLICY.peers, high_spreads=8.5)
    (strong,) = peer_alerts(dataclasses.replace(POLICY, peers=at_the_bound), 16.0)
    (ordinary,) = peer_alerts(dataclasses.replace(POLICY, peers=above_it), 16.0)
    assert (strong.severity, ordinary.severity) == (AlertSeverity.HIGH, AlertSeverity.MEDIUM)
    assert strong.title == (
        "Far above its 12 peers (food and drugs, Chang'an District) on complaints in 30 days"
    )
    (evidence,) = strong.evidence  # the explanation the board shows: value, mean, spread
    assert (evidence.fact, evidence.value, evidence.threshold) == ("complaints_30d", 16.0, 0.0)
    assert evidence.detail == "8.0 spreads above the peers' mean (spread 2)"  # zeros: no law
    assert evidence.detail_zh == "高于同业均值 8.0 个离散度（离散度 2）"
    assert strong.title_zh == "远高于长安区食品药品行业的 12 个同业主体：30 日投诉举报"


# --- linkage groups -------------------------------------------------------------------


def adverse(event_id: str, subject: str, department: str, at_s: float) -> AdverseReport:
    signal = AdverseSignal(event_id, at_s, subject, "penalty_general", department,
                           "food_drug", "130102")  # fmt: skip
    return AdverseReport("rep:abc", signal, "B", 40.0)


def two_hops(departments: tuple[str, str], mix=None) -> tuple[object, Alert]:
    """One subject's pattern through the linkage group's hop and its sector's hop."""
    subject = make_uscc(1)
    state, none = cross_sector.group_step(
        None, adverse("p1", subject, departments[0], T0_S), context()
    )
    _, (candidate,) = cross_sector.group_step(
        state, adverse("t1", subject, departments[1], T0_S + DAY_S), context()
    )
    assert none == [] and isinstance(candidate, CrossSectorCandidate)
    mix, (alert,) = cross_sector.mix_step(mix, candidate, context())
    return mix, alert


def test_the_sector_s_model_grades_a_usual_combination_ordinary_and_a_rare_one_strong() -> None:
    mix = None
    for _ in range(40):  # the sector's usual pattern
        mix, alert = two_hops(("market_regulation", "taxation"), mix)
    assert alert.severity == AlertSeverity.MEDIUM
    facts = {e.fact: e for e in alert.evidence}
    assert (facts["department_pair_share"].detail_zh, facts["department_pair_share"].detail) == (
        "市场监管部门、税务部门：食品药品行业中常见的部门组合，此前 39 次跨部门发现中出现 39 次",
        "market regulation, taxation: a usual combination in food and drugs, "
        "met in 39 of its 39 earlier cross-sector findings",
    )
    mix, rare = two_hops(("market_regulation", "court"), mix)
    assert rare.severity == AlertSeverity.HIGH
    assert "an unusual combination in food and drugs, met in 0 of its 40" in (
        rare.evidence[2].detail or ""
    )
    assert "罕见" in (rare.evidence[2].detail_zh or "")
    # Same alert otherwise: key, titles, the records that made it.
    assert (rare.dedup_key, rare.title, rare.title_zh) == (
        alert.dedup_key,
        alert.title,
        alert.title_zh,
    )
    assert [e.fact for e in rare.evidence[3:]] == ["penalty_general", "penalty_general"]


def test_records_of_two_departments_are_one_cross_sector_alert_in_both_languages() -> None:
    _, alert = two_hops(("market_regulation", "taxation"))
    assert alert.title == "Adverse records from 2 departments"
    assert alert.title_zh == "来自 2 个部门的不良信用记录"


def test_a_young_sector_finds_no_combination_unusual() -> None:
    """A new sector raises no storm: its first findings are all ordinary."""
    mix = None
    for departments in [("market_regulation", "court"), ("taxation", "ecology_environment")] * 5:
        mix, alert = two_hops(departments, mix)
        assert alert.severity == AlertSeverity.MEDIUM


def test_a_pattern_across_one_representative_s_subjects_is_its_own_rule() -> None:
    policy = with_severity(AlertRule.CROSS_SECTOR_LINKED, AlertSeverity.CRITICAL)
    state, _ = cross_sector.group_step(
        None, adverse("p1", make_uscc(1), "market_regulation", T0_S), context(policy)
    )
    _, (candidate,) = cross_sector.group_step(
        state, adverse("t1", make_uscc(2), "taxation", T0_S + DAY_S), context(policy)
    )
    _, (alert,) = cross_sector.mix_step(None, candidate, context(policy))
    assert alert.severity == AlertSeverity.CRITICAL  # the linked rule's, not cross_sector's
    assert alert.title == (
        "Adverse records from 2 departments across 2 subjects of one legal representative"
    )
    assert alert.title_zh == "同一法定代表人的 2 个主体有来自 2 个部门的不良信用记录"


def test_a_member_joins_without_an_alert() -> None:
    state, alerts = cross_sector.group_step(
        None, Member(make_uscc(3), "130102", "food_drug", "B", 30.0), context()
    )
    assert alerts == [] and list(state.members) == [make_uscc(3)]


# --- complaint categories ---------------------------------------------------------------


def surge_alerts(policy: Policy) -> list[Alert]:
    """Ten ordinary days in four counties, then a surge in three of them."""
    counties = ["130102", "130104", "130105", "130108"]
    quiet = [
        ComplaintCount("price", county, "food_drug", T0_S + day * DAY_S, f"q{day}{county}", 1)
        for day in range(10)
        for county in counties
    ]
    surge = [
        ComplaintCount("price", county, "food_drug", T0_S + 10 * DAY_S, f"s{county}", 8)
        for county in counties[:3]
    ]
    state, before = cross_region.step(None, quiet, context(policy))
    _, alerts = cross_region.step(state, surge, context(policy))
    assert before == []
    return alerts


def test_a_surge_is_widespread_from_the_policy_s_high_counties() -> None:
    (ordinary,) = surge_alerts(POLICY)
    widespread = dataclasses.replace(POLICY.cross_region, high_counties=3)
    (strong,) = surge_alerts(dataclasses.replace(POLICY, cross_region=widespread))
    assert POLICY.cross_region.high_counties > 3
    assert (ordinary.severity, strong.severity) == (AlertSeverity.MEDIUM, AlertSeverity.HIGH)
    day = ordinary.dedup_key.rsplit(":", 1)[1]
    assert ordinary.title == f"price complaints surging in 3 counties on {day}"
    assert ordinary.title_zh == f"{day} 3 个区县价格类投诉举报激增"
    # Each county: today's count against its forecast, and how improbable that is.
    county = ordinary.evidence[1]
    assert (county.label_zh, county.value) == ("长安区", 8.0) and county.threshold is not None
    assert county.detail_zh is not None and county.detail is not None
    assert county.detail_zh.startswith(f"今日投诉举报，预期每日 {county.threshold:g} 件；")
    assert "达到此数或更多的概率为 10^-" in county.detail_zh
    assert "that many or more: a chance of 1 in 10^" in county.detail
