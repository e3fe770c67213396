"""Alert titles: one table, every rule in Chinese and English, the English as it always was."""

from __future__ import annotations

import re
from typing import Any

import pytest

from detectors.alert_rules import AlertRule
from detectors.policy import load_policy
from detectors.rules import RuleHit
from pipeline.alert_titles import CHINESE, TITLES, titles
from topics.vocabulary import AlertKind, AlertSeverity, ComplaintCategory, Metric, Sector

HAN = re.compile(r"[\u4e00-\u9fff]")

#: What each rule's hits say about themselves, and the titles that makes.
EXAMPLES: dict[AlertRule, tuple[dict[str, Any], str, str]] = {
    AlertRule.PENALTY_SERIOUS: ({}, "严重行政处罚", "Serious administrative penalty"),
    AlertRule.COURT_DISHONEST_DEBTOR: ({}, "法院失信被执行人认定", "Court dishonest-debtor ruling"),
    AlertRule.LICENCE_REVOKED: ({}, "吊销许可证", "Licence revoked"),
    AlertRule.COMPLAINT_SURGE: (
        {"category": "food_safety"},
        "12315 投诉举报激增：食品安全",
        "Surge of 12315 complaints: food_safety",
    ),
    AlertRule.IOT_EXCEEDANCES: ({}, "物联网监测多次超标", "Repeated IoT limit exceedances"),
    AlertRule.TIER_D: ({}, "信用等级降至 D 级", "Dropped to credit tier D"),
    AlertRule.IOT_ANOMALY: (
        {"metric": "cold_chain_temperature", "device": "fridge-7"},
        "设备 fridge-7 的冷链温度读数异常",
        "Anomalous cold_chain_temperature readings on device fridge-7",
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
        "Far above its 233 peers (food_drug, 桥西区) on score, complaints_30d",
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
        "A subject of the same legal representative entered the joint_punishment list",
    ),
    AlertRule.CROSS_REGION: (
        {"category": "price", "counties": 4, "day": "2026-03-12"},
        "2026-03-12 4 个区县价格类投诉举报激增",
        "price complaints surging in 4 counties on 2026-03-12",
    ),
}


def hit(rule: AlertRule, about: dict[str, Any]) -> RuleHit:
    return RuleHit(rule, rule.value, AlertKind.RULE, AlertSeverity.LOW, (), about=about)


def test_every_rule_has_a_title_in_both_languages_and_a_severity_in_the_policy() -> None:
    assert set(TITLES) == set(AlertRule) == set(EXAMPLES)
    assert set(load_policy().alerts.severity.of_rule) == set(AlertRule)
    assert all(HAN.search(chinese) for chinese, _ in TITLES.values())


@pytest.mark.parametrize("rule", list(AlertRule))
def test_a_title_names_what_its_hit_says_chinese_first(rule: AlertRule) -> None:
    about, chinese, english = EXAMPLES[rule]
    assert titles(hit(rule, about)) == (chinese, english)


def test_every_code_a_title_names_has_its_chinese() -> None:
    assert set(CHINESE["category"]) == {c.value for c in ComplaintCategory}
    assert set(CHINESE["sector"]) == {s.value for s in Sector}
    assert set(CHINESE["metric"]) == {m.value for m in Metric}
