"""Every alert's title, in Chinese and in English, by rule id: the one table.

A detector says which rule fired (:class:`~detectors.alert_rules.AlertRule`)
and what the title should name (``RuleHit.about``: codes and numbers); this
table words it. Chinese comes first: it is what supervisors read. In English a
title names codes as they are (``food_drug``, ``price``), as alert titles always
have; in Chinese they are translated. A county is named by its name in both.
"""

from __future__ import annotations

from collections.abc import Mapping

from detectors.alert_rules import AlertRule
from detectors.rules import RuleHit, TitleValue
from topics.vocabulary import SHIJIAZHUANG_COUNTIES

#: (Chinese, English): ``str.format`` templates over the hit's ``about``.
Title = tuple[str, str]

TITLES: dict[AlertRule, Title] = {
    AlertRule.PENALTY_SERIOUS: ("严重行政处罚", "Serious administrative penalty"),
    AlertRule.COURT_DISHONEST_DEBTOR: ("法院失信被执行人认定", "Court dishonest-debtor ruling"),
    AlertRule.LICENCE_REVOKED: ("吊销许可证", "Licence revoked"),
    AlertRule.COMPLAINT_SURGE: (
        "12315 投诉举报激增：{category}",
        "Surge of 12315 complaints: {category}",
    ),
    AlertRule.IOT_EXCEEDANCES: ("物联网监测多次超标", "Repeated IoT limit exceedances"),
    AlertRule.TIER_D: ("信用等级降至 D 级", "Dropped to credit tier D"),
    AlertRule.IOT_ANOMALY: (
        "设备 {device} 的{metric}读数异常",
        "Anomalous {metric} readings on device {device}",
    ),
    AlertRule.JOINT_PUNISHMENT_LIST: (
        "列入失信联合惩戒对象名单",
        "Entered the joint-punishment list",
    ),
    AlertRule.KEY_ATTENTION_LIST: ("列入重点关注对象名单", "Entered the key-attention list"),
    AlertRule.INTERVIEW_DUE: (
        "逾期未整改，待约谈",
        "Rectification deadline missed: interview due",
    ),
    AlertRule.OBJECTION_OVERDUE: ("异议逾期未处理", "Objection not decided in time"),
    AlertRule.COMMITMENT_BREACHED: (
        "信用承诺逾期未履行",
        "Credit commitment not fulfilled by its deadline",
    ),
    AlertRule.PEER_OUTLIER: (
        "远高于{county}{sector}行业的 {peers} 个同业主体：{features}",
        "Far above its {peers} peers ({sector}, {county}) on {features}",
    ),
    AlertRule.CROSS_SECTOR: (
        "来自 {sources} 个{source_kind}的不良信用记录",
        "Adverse records from {sources} {source_kind}",
    ),
    AlertRule.CROSS_SECTOR_LINKED: (
        "同一法定代表人的 {subjects} 个主体有来自 {sources} 个{source_kind}的不良信用记录",
        "Adverse records from {sources} {source_kind} "
        "across {subjects} subjects of one legal representative",
    ),
    AlertRule.LINKED_LISTING: (
        "同一法定代表人的其他主体列入{list}名单",
        "A subject of the same legal representative entered the {list} list",
    ),
    AlertRule.CROSS_REGION: (
        "{day} {counties} 个区县{category}类投诉举报激增",
        "{category} complaints surging in {counties} counties on {day}",
    ),
}

#: What a rule's alerts are called when counted together (a daily digest): (Chinese, English).
RULE_NAMES: dict[AlertRule, Title] = {
    AlertRule.PENALTY_SERIOUS: ("严重行政处罚", "serious penalties"),
    AlertRule.COURT_DISHONEST_DEBTOR: ("失信被执行人认定", "dishonest-debtor rulings"),
    AlertRule.LICENCE_REVOKED: ("吊销许可证", "licence revocations"),
    AlertRule.COMPLAINT_SURGE: ("投诉举报激增", "complaint surges"),
    AlertRule.IOT_EXCEEDANCES: ("物联网监测多次超标", "repeated IoT exceedances"),
    AlertRule.TIER_D: ("信用等级降至 D 级", "drops to tier D"),
    AlertRule.IOT_ANOMALY: ("物联网读数异常", "IoT anomalies"),
    AlertRule.JOINT_PUNISHMENT_LIST: ("列入失信联合惩戒对象名单", "joint-punishment listings"),
    AlertRule.KEY_ATTENTION_LIST: ("列入重点关注对象名单", "key-attention listings"),
    AlertRule.INTERVIEW_DUE: ("逾期未整改待约谈", "interviews due"),
    AlertRule.OBJECTION_OVERDUE: ("异议逾期未处理", "overdue objections"),
    AlertRule.COMMITMENT_BREACHED: ("信用承诺逾期未履行", "unfulfilled commitments"),
    AlertRule.PEER_OUTLIER: ("远超同业", "peer outliers"),
    AlertRule.CROSS_SECTOR: ("跨部门不良信用记录", "cross-sector adverse records"),
    AlertRule.CROSS_SECTOR_LINKED: ("关联主体跨部门不良信用记录", "linked cross-sector records"),
    AlertRule.LINKED_LISTING: ("关联主体列入名单", "listings of linked subjects"),
    AlertRule.CROSS_REGION: ("跨区域投诉举报激增", "cross-region complaint surges"),
}

#: The title of a daily digest (pipeline/digests.py), over its rule's name.
DIGEST_TITLE: Title = (
    "{day} {county}{sector}行业{name}日汇总",
    "Daily digest of {name}: {county}, {sector}, {day}",
)

#: The Chinese for the codes a title names, by the name it has in ``about``.
CHINESE: dict[str, Mapping[str, str]] = {
    "category": {
        "food_safety": "食品安全",
        "drug_safety": "药品安全",
        "product_quality": "产品质量",
        "price": "价格",
        "contract": "合同",
        "advertising": "广告",
        "prepaid_card": "预付卡",
        "service_quality": "服务质量",
        "counterfeit": "假冒伪劣",
        "weights_measures": "计量",
        "other": "其他",
    },
    "sector": {
        "finance": "金融",
        "food_drug": "食品药品",
        "education": "教育",
        "environment": "生态环境",
        "construction": "工程建设",
        "production_safety": "安全生产",
        "elderly_childcare": "养老托育",
        "urban_operations": "城市运行",
        "other": "其他",
    },
    "metric": {
        "cold_chain_temperature": "冷链温度",
        "cod": "化学需氧量",
        "nox": "氮氧化物",
        "gas_concentration": "燃气浓度",
        "pm25": "PM2.5",
        "camera_ai_event": "视频智能识别事件",
    },
    "features": {
        "score": "信用风险分",
        "complaints_30d": "30 日投诉举报",
        "penalties": "行政处罚",
        "iot_exceedances_24h": "24 小时物联网超标",
    },
    "list": {"joint_punishment": "失信联合惩戒对象", "key_attention": "重点关注对象"},
    "source_kind": {"departments": "部门", "sectors": "行业"},
}

#: Codes named the same way in both languages: a county by its name.
NAMES: dict[str, Mapping[str, str]] = {"county": SHIJIAZHUANG_COUNTIES}

#: How a list of codes is joined, per language.
JOINERS = ("、", ", ")


def titles(hit: RuleHit) -> Title:
    """The hit's title in Chinese and in English.

    >>> from detectors.alert_rules import AlertRule
    >>> from topics.vocabulary import AlertKind, AlertSeverity
    >>> hit = RuleHit(AlertRule.COMPLAINT_SURGE, "complaint_surge:price", AlertKind.RULE,
    ...               AlertSeverity.MEDIUM, (), about={"category": "price"})
    >>> titles(hit)
    ('12315 投诉举报激增：价格', 'Surge of 12315 complaints: price')
    """
    chinese, english = TITLES[hit.rule]
    return (
        chinese.format_map(_worded(hit.about, CHINESE, JOINERS[0])),
        english.format_map(_worded(hit.about, {}, JOINERS[1])),
    )


def digest_titles(rule: AlertRule, county: str, sector: str, day: str) -> Title:
    """A daily digest's title in Chinese and in English.

    >>> digest_titles(AlertRule.IOT_ANOMALY, "130102", "food_drug", "2026-03-02")
    ('2026-03-02 长安区食品药品行业物联网读数异常日汇总', 'Daily digest of IoT anomalies: 长安区, food_drug, 2026-03-02')
    """  # noqa: E501
    about: dict[str, TitleValue] = {"county": county, "sector": sector, "day": day}
    chinese, english = DIGEST_TITLE
    name_zh, name_en = RULE_NAMES[rule]
    return (
        chinese.format_map({**_worded(about, CHINESE, JOINERS[0]), "name": name_zh}),
        english.format_map({**_worded(about, {}, JOINERS[1]), "name": name_en}),
    )


def _worded(
    about: Mapping[str, TitleValue], words: Mapping[str, Mapping[str, str]], joiner: str
) -> dict[str, str | int | float]:
    worded: dict[str, str | int | float] = {}
    for name, value in about.items():
        table = NAMES.get(name) or words.get(name) or {}
        if isinstance(value, tuple):
            worded[name] = joiner.join(table.get(code, code) for code in value)
        elif isinstance(value, str):
            worded[name] = table.get(value, value)
        else:
            worded[name] = value
    return worded
