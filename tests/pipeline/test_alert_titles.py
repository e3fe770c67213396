"""Alert words: one table, every title, label and explanation in Chinese and in English."""

from __future__ import annotations

import re
from typing import Any

import pytest

from detectors.alert_rules import AlertRule
from detectors.peers import FEATURES
from detectors.policy import load_policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alert_titles import (
    DETAILS,
    FACT_LABELS,
    RULE_NAMES,
    TITLES,
    WORDS,
    digest_titles,
    fact_words,
    titles,
)
from topics.lists import ListKind
from topics.vocabulary import (
    SHIJIAZHUANG_COUNTIES,
    AlertKind,
    AlertSeverity,
    CommitmentKind,
    ComplaintCategory,
    Department,
    Metric,
    NoticeKind,
    PersonRole,
    PublicationStatus,
    Sector,
    SubjectType,
)

HAN = re.compile(r"[\u4e00-\u9fff]")
#: An English word in a Chinese text (codes and ids in these examples have digits).
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

#: What each rule's hits say about themselves, and the titles that makes.
EXAMPLES: dict[AlertRule, tuple[dict[str, Any], str, str]] = {
    AlertRule.PENALTY_SERIOUS: ({}, "严重行政处罚", "Serious administrative penalty"),
    AlertRule.COURT_DISHONEST_DEBTOR: ({}, "法院失信被执行人认定", "Court dishonest-debtor ruling"),
    AlertRule.LICENCE_REVOKED: ({}, "吊销许可证", "Licence revoked"),
    AlertRule.COMPLAINT_SURGE: (
        {"category": "food_safety"},
        "12315 投诉举报激增：食品安全",
        "Surge of 12315 complaints: food safety",
    ),
    AlertRule.IOT_EXCEEDANCES: ({}, "物联网监测多次超标", "Repeated IoT limit exceedances"),
    AlertRule.TIER_D: ({}, "信用等级降至 D 级", "Dropped to credit tier D"),
    AlertRule.IOT_ANOMALY: (
        {"metric": "cold_chain_temperature", "device": "fridge-7"},
        "设备 fridge-7 的冷链温度读数异常",
        "Anomalous cold-chain temperature readings on device fridge-7",
    ),
    AlertRule.JOINT_PUNISHMENT_LIST: (
        {},
        "列入失信联合惩戒对象名单",
        "Entered the joint-punishment list",
    ),
    AlertRule.KEY_ATTENTION_LIST: ({}, "列入重点关注对象名单", "Entered the key-attention list"),
    AlertRule.MARKET_BAN_LIST: (
        {},
        "实施市场和行业禁入",
        "Banned from the market and the industry",
    ),
    AlertRule.INTERVIEW_DUE: (
        {},
        "逾期未整改，待约谈",
        "Rectification deadline missed: interview due",
    ),
    AlertRule.OBJECTION_OVERDUE: ({}, "异议逾期未处理", "Objection not decided in time"),
    AlertRule.LIST_DECISION_OVERDUE: ({}, "名单认定逾期未作出", "List entry not decided in time"),
    AlertRule.COMMITMENT_BREACHED: (
        {},
        "信用承诺逾期未履行",
        "Credit commitment not fulfilled by its deadline",
    ),
    AlertRule.PEER_OUTLIER: (
        {
            "peers": 233,
            "sector": "food_drug",
            "county": "130104",
            "features": ("score", "complaints_30d"),
        },
        "远高于桥西区食品药品行业的 233 个同业主体：信用风险分、30 日投诉举报",
        "Far above its 233 peers (food and drugs, Qiaoxi District) on risk score, "
        "complaints in 30 days",
    ),  # fmt: skip
    AlertRule.CROSS_SECTOR: (
        {"sources": 2, "source_kind": "sectors", "subjects": 1},
        "来自 2 个行业的不良信用记录",
        "Adverse records from 2 sectors",
    ),
    AlertRule.CROSS_SECTOR_LINKED: (
        {"sources": 3, "source_kind": "departments", "subjects": 2},
        "同一法定代表人的 2 个主体有来自 3 个部门的不良信用记录",
        "Adverse records from 3 departments across 2 subjects of one legal representative",
    ),
    AlertRule.LINKED_LISTING: (
        {"list": "joint_punishment"},
        "同一法定代表人的其他主体列入失信联合惩戒对象名单",
        "A subject of the same legal representative entered the joint-punishment list",
    ),
    AlertRule.CROSS_REGION: (
        {"category": "price", "counties": 4, "day": "2026-03-12"},
        "2026-03-12 4 个区县价格类投诉举报激增",
        "price complaints surging in 4 counties on 2026-03-12",
    ),
}


def hit(rule: AlertRule, about: dict[str, Any]) -> RuleHit:
    return RuleHit(rule, rule.value, AlertKind.RULE, AlertSeverity.LOW, (), about=about)


def test_every_rule_has_a_title_and_a_name_in_both_languages_and_a_policy() -> None:
    assert set(TITLES) == set(RULE_NAMES) == set(AlertRule) == set(EXAMPLES)
    alerts = load_policy().alerts
    assert set(alerts.severity.of_rule) == set(alerts.disposition.of_rule) == set(AlertRule)
    for chinese, english in [*TITLES.values(), *RULE_NAMES.values()]:
        assert HAN.search(chinese) and not HAN.search(english)


@pytest.mark.parametrize("rule", list(AlertRule))
def test_a_title_names_what_its_hit_says_chinese_first(rule: AlertRule) -> None:
    about, chinese, english = EXAMPLES[rule]
    assert titles(hit(rule, about)) == (chinese, english)
    assert not LATIN_WORD.search(chinese.replace("fridge-7", "")) and not HAN.search(english)


def test_every_code_a_title_or_explanation_names_has_both_languages() -> None:
    assert set(WORDS["category"]) == {c.value for c in ComplaintCategory}
    assert set(WORDS["sector"]) == {s.value for s in Sector}
    assert set(WORDS["metric"]) == {m.value for m in Metric}
    assert set(WORDS["department"]) == {d.value for d in Department}
    assert set(WORDS["county"]) == set(SHIJIAZHUANG_COUNTIES)
    assert set(WORDS["features"]) == set(FEATURES)
    # what a notice's reasons name (seed 一, 十, 十一, 十三)
    assert set(WORDS["signal"]) == set(load_policy().signals)
    assert set(WORDS["list"]) == {k.value for k in ListKind}
    assert set(WORDS["commitment_kind"]) == {k.value for k in CommitmentKind}
    assert set(WORDS["subject_type"]) == {t.value for t in SubjectType}
    assert set(WORDS["role"]) == {r.value for r in PersonRole}
    assert set(WORDS["publication"]) == {p.value for p in PublicationStatus}
    for table in WORDS.values():
        for _, english in table.values():
            assert not HAN.search(english), english


def test_every_fact_an_alert_names_has_a_label_in_both_languages() -> None:
    codes = {*load_policy().signals, *FEATURES, *(k.value for k in NoticeKind)}
    codes -= {"repair_approved", "repair_rejected"}  # notices, never an alert's evidence
    assert codes <= set(FACT_LABELS), codes - set(FACT_LABELS)
    for chinese, english in FACT_LABELS.values():
        assert HAN.search(chinese) and not HAN.search(english)
    assert fact_words(Fact("complaints_7d:price", 9.0))[0] == (
        "7 日投诉举报：价格", "Complaints, 7 days: price")  # fmt: skip
    assert fact_words(Fact("subject 91130102MA0EXAMPL1", 1.0))[0][1] == (
        "Subject 91130102MA0EXAMPL1")  # fmt: skip


#: An example of what each explanation names; ids have digits, as real ones do.
SAID: dict[str, dict[str, Any]] = {
    "event": {"event": "e1"},
    "event_on": {"event": "e2", "record": "e1"},
    "event_department": {"event": "e1", "department": "taxation"},
    "event_day_department": {"event": "e1", "day": "2026-03-02", "department": "court"},
    "previous_tier": {"previous": "none"},
    "weighted": {"count": 1.5},
    "records": {"count": 3},
    "expected_from_baseline": {"expected": 1.2, "days": 7, "before": 21},
    "decided_by": {"evidence": "shift"},
    "unit": {"unit": "celsius"},
    "predictor": {"predictor": "season", "spread": 0.41},
    "spreads_from_expected": {},
    "baseline": {"std": 0.3, "points": 480, "window": 6},
    "entered": {"day": "2026-03-02"},
    "tier_since": {"grade": "A", "day": "2026-03-02"},
    "tier_held": {"grade": "A", "days": 200.5, "required_days": 365},
    "tier_not": {"grade": "B", "required": "A"},
    "no_adverse_within": {"days": 730},
    "honours_lapsed": {"day": "2026-03-02"},
    "policy_replaced": {"old": "2026.3", "old_digest": "012345678901", "new": "2026.4",
                        "new_digest": "109876543210"},
    "policy_replaced_unrecorded": {"new": "2026.4", "new_digest": "109876543210"},
    "above_peers": {"spreads": 5.2, "spread": 2.0},
    "above_peers_improbable": {"spreads": 5.2, "spread": 2.0, "surprise": 3.4},
    "departments": {"departments": ("taxation", "health")},
    "sectors": {"sectors": ("food_drug", "education")},
    "adverse_record": {"subject": "S1", "department": "health", "sector": "education",
                       "county": "130104", "event": "e1", "at": "2026-03-02T08:00:00Z"},
    "county_surge": {"expected": 1.5, "surprise": 2.6},
    "department_pair": {"departments": ("taxation", "court"), "combination": "unusual",
                        "sector": "food_drug", "seen": 0, "findings": 40},
    "linked_subject": {"subject": "S1", "day": "2026-03-02"},
    "record_not_on_file": {"record": "e1"},
    "record_not_published": {"record": "e1", "publication": "repaired"},
    "not_repairable": {"signal": "court_dishonest_debtor"},
    "minimum_period": {"penalty_severity": "general", "days": 90, "day": "2026-06-01"},
    "no_repair_commitment": {},
    "rectification_outstanding": {"orders": ("e3", "e4")},
    "recent_record": {"event": "e2", "signal": "penalty_general", "day": "2026-03-02",
                      "days": 30, "clean_from": "2026-04-01"},
    "revoke_approval": {"commitment_kind": "approval_substitution", "commitment": "e1",
                        "day": "2026-03-02"},
    "self_discipline_breached": {"commitment_kind": "industry_self_discipline",
                                 "commitment": "e1", "day": "2026-03-02"},
    "repair_voided": {"record": "e1", "commitment": "e2", "day": "2026-03-02"},
    "public_sector_record": {"subject_type": "state_owned", "signal": "penalty_serious",
                             "event": "e1", "day": "2026-03-02", "department": "taxation"},
    "public_sector_listing": {"subject_type": "public_institution", "list": "market_ban",
                              "day": "2026-03-02"},
    "list_proposed": {"list": "joint_punishment", "department": "court", "day": "2026-03-02"},
    "list_notice": {"list": "joint_punishment", "department": "court", "day": "2026-03-02"},
    "staff_listing": {"subject_type": "state_owned", "list": "joint_punishment",
                      "day": "2026-03-02", "role": "actual_controller"},
}  # fmt: skip


@pytest.mark.parametrize("says", list(DETAILS))
def test_every_explanation_is_worded_in_each_language_only(says: str) -> None:
    _, (chinese, english) = fact_words(Fact("score", 1.0, says=says, about=SAID[says]))
    assert chinese is not None and not HAN.search(english)
    # Ids, times and the PM2.5 metric aside, the Chinese has no English word in it.
    bare = re.sub(r"\b(e\d|S1|\d{4}-\d\d-\d\dT[\d:]+Z)\b", "", chinese)
    assert not LATIN_WORD.search(bare), chinese


def test_a_digest_is_titled_in_each_language() -> None:
    chinese, english = digest_titles(AlertRule.PEER_OUTLIER, "130183", "education", "2026-03-02")
    assert chinese == "2026-03-02 晋州市教育行业远超同业日汇总"
    assert english == "Daily digest of peer outliers: Jinzhou City, education, 2026-03-02"
