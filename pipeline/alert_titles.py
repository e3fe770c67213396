"""Every alert's words, in Chinese and in English: the one table.

Titles by rule id, what a rule's alerts are called together (a digest), the
label of every evidence fact and every explanation (an evidence fact's
detail), and the words for the codes they name. A detector says which rule
fired (:class:`~detectors.alert_rules.AlertRule`) and what the title names
(``RuleHit.about``), and for each fact what its explanation says
(``Fact.says``) and names (``Fact.about``); these tables word them, and the
alert carries both languages (``title``/``title_zh``, each evidence fact's
``label``/``label_zh`` and ``detail``/``detail_zh``), so the board shows one
language without a table of its own. Chinese comes first: it is what
supervisors read.

Every entry is one line: a pair ``(Chinese, English)`` of ``str.format``
templates over the names in ``about``. A code in ``about`` is worded by
:data:`WORDS` under its name (a tuple of codes is a list, joined per language).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from detectors.alert_rules import AlertRule
from detectors.rules import RuleHit
from detectors.scoring import Fact, TitleValue
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, SHIJIAZHUANG_COUNTIES_EN

#: (Chinese, English): ``str.format`` templates over the hit's or fact's ``about``.
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
    AlertRule.MARKET_BAN_LIST: ("实施市场和行业禁入", "Banned from the market and the industry"),
    AlertRule.INTERVIEW_DUE: (
        "逾期未整改，待约谈",
        "Rectification deadline missed: interview due",
    ),
    AlertRule.OBJECTION_OVERDUE: ("异议逾期未处理", "Objection not decided in time"),
    AlertRule.LIST_DECISION_OVERDUE: ("名单认定逾期未作出", "List entry not decided in time"),
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
    AlertRule.MARKET_BAN_LIST: ("市场和行业禁入", "market bans"),
    AlertRule.INTERVIEW_DUE: ("逾期未整改待约谈", "interviews due"),
    AlertRule.OBJECTION_OVERDUE: ("异议逾期未处理", "overdue objections"),
    AlertRule.LIST_DECISION_OVERDUE: ("名单认定逾期", "overdue list decisions"),
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

#: The label of every evidence fact, by its code.
FACT_LABELS: dict[str, Title] = {
    # records (the policy's signals)
    "penalty_minor": ("轻微行政处罚", "Minor penalty"),
    "penalty_general": ("一般行政处罚", "General penalty"),
    "penalty_serious": ("严重行政处罚", "Serious penalty"),
    "licence_suspended": ("暂扣许可证", "Licence suspended"),
    "licence_revoked": ("吊销许可证", "Licence revoked"),
    "court_dishonest_debtor": ("失信被执行人", "Court dishonest debtor"),
    "tax_violation": ("税收违法", "Tax violation"),
    "abnormal_operation": ("列入经营异常名录", "Abnormal operation listing"),
    "spot_check_problems": ("抽查发现问题", "Spot check: problems found"),
    "spot_check_passed": ("抽查合格", "Spot check passed"),
    "commitment_breached": ("违背信用承诺", "Commitment breached"),
    "commitment_breached_approval_substitution": (
        "违背审批替代型信用承诺",
        "Approval-substitution commitment breached",
    ),
    "commitment_breached_voluntary": ("违背主动型信用承诺", "Voluntary commitment breached"),
    "commitment_breached_industry_self_discipline": (
        "违背行业自律型信用承诺",
        "Self-discipline commitment breached",
    ),
    "commitment_breached_credit_repair": (
        "违背信用修复型信用承诺",
        "Credit-repair commitment breached",
    ),
    "decision_refused": ("拒不履行行政处罚决定", "Penalty decision refused"),
    "commitment_fulfilled": ("履行信用承诺", "Commitment fulfilled"),
    "interview": ("约谈", "Interview"),
    "honour": ("表彰奖励", "Honour"),
    "voluntary_registration": ("自愿注册", "Voluntary registration"),
    "repair_completed": ("信用修复完成", "Credit repair completed"),
    "sector_evaluation_a": ("行业信用评价 A 级", "Sector evaluation: grade A"),
    "sector_evaluation_b": ("行业信用评价 B 级", "Sector evaluation: grade B"),
    "sector_evaluation_c": ("行业信用评价 C 级", "Sector evaluation: grade C"),
    "sector_evaluation_d": ("行业信用评价 D 级", "Sector evaluation: grade D"),
    # windows and scores
    "score": ("信用风险分", "Risk score"),
    "complaints_30d": ("30 日投诉举报", "Complaints, 30 days"),
    "iot_exceedances_24h": ("24 小时物联网超标", "IoT exceedances, 24 h"),
    "penalties": ("行政处罚", "Penalties"),
    # an IoT anomaly
    "anomaly_score": ("异常分", "Anomaly score"),
    "value": ("读数", "Reading"),
    "expected": ("预期值", "Expected"),
    "deviation": ("偏离", "Deviation"),
    "baseline_mean": ("基线均值", "Baseline mean"),
    # across subjects
    "counties": ("激增区县数", "Surging counties"),
    "departments": ("部门数", "Departments"),
    "sectors": ("行业数", "Sectors"),
    "department_pair_share": ("部门组合在本行业的占比", "Department pair's share in the sector"),
    "linked_subject": ("关联主体", "Linked subject"),
    # the supervision workflows
    "interview_due": ("逾期未整改待约谈", "Interview due"),
    "objection_overdue": ("异议逾期未处理", "Objection overdue"),
    "list_decision_overdue": ("名单认定逾期", "List decision overdue"),
    "list_decided": ("名单认定", "List entry decided"),
    "list_decision_due": ("名单待认定", "List entry to decide"),
    "list_notice": ("名单认定告知", "Notice of a list decision"),
    "list_statement_received": ("收到陈述申辩", "Statement received"),
    "list_statement": ("陈述申辩", "Statement of the subject"),
    "objection_upheld": ("异议成立", "Objection upheld"),
    "publication_ended": ("公示期满", "Publication ended"),
    "list_period_ended": ("名单期满", "List period ended"),
    "policy_changed": ("策略变更", "Policy changed"),
    # a broken commitment's consequence (seed 一), the public sector's reports (seed 十一)
    "approval_revocation": ("撤销依承诺作出的审批", "Approval to revoke"),
    "self_discipline_breached": ("违背行业自律承诺，告知行业协会", "Association told of a breach"),
    "repair_voided": ("信用修复失效", "Credit repair void"),
    "public_sector_report": ("公共部门违法违规情况通报", "Public-sector violation reported"),
    "staff_report": ("公职人员相关责任通报", "Responsible official reported"),
    # the red list's rules (seed 九 守信激励, detectors/red_list.py)
    "red_list_tier": ("信用等级条件", "Credit tier rule"),
    "red_list_clean": ("无不良信用记录条件", "No adverse record rule"),
    "red_list_honours": ("表彰奖励条件", "Honours rule"),
}

#: Labels of codes with a part of their own: (pattern, label over its named groups).
FACT_PATTERNS: tuple[tuple[re.Pattern[str], Title], ...] = (
    (re.compile(r"complaints_(?P<days>\d+)d:(?P<category>\w+)"),
     ("{days} 日投诉举报：{category}", "Complaints, {days} days: {category}")),
    (re.compile(r"county (?P<county>\d{6})"), ("{county}", "{county}")),
    (re.compile(r"subject (?P<subject>\S+)"), ("主体 {subject}", "Subject {subject}")),
)  # fmt: skip

#: Every explanation (an evidence fact's detail), by the name a fact gives it in ``says``.
DETAILS: dict[str, Title] = {
    "event": ("事件 {event}", "event {event}"),
    "event_on": ("事件 {event}，针对 {record}", "event {event} on {record}"),
    "event_department": ("事件 {event}，{department}", "event {event}, department {department}"),
    "event_day_department": (
        "{day} {department}，事件 {event}", "event {event} on {day} by {department}"),
    "previous_tier": ("此前等级 {previous}", "previous tier {previous}"),
    "weighted": ("加权计 {count:.2f} 次", "{count:.2f} weighted"),
    "records": ("{count} 条记录", "{count} records"),
    "expected_from_baseline": (
        "按此前 {before} 天，预期每 {days} 天 {expected:.1f} 件",
        "expected {expected:.1f} per {days} days from the {before} days before"),
    "decided_by": ("由{evidence}证据判定", "decided by the {evidence} evidence"),
    "unit": ("{unit}", "{unit}"),
    "predictor": ("{predictor}预测，离散度 {spread:.4g}",
                  "{predictor} predictor, spread {spread:.4g}"),
    "spreads_from_expected": ("偏离预期的离散度倍数", "in spreads from expected"),
    "baseline": ("标准差 {std:.4g}，基于 {points} 个点，突发窗口 {window} 个点",
                 "std {std:.4g} over {points} points, burst window {window} points"),
    "entered": ("{day} 列入", "entered {day}"),
    # the red list's rules, met or broken (detectors/red_list.py)
    "tier_since": ("自 {day} 起为 {grade} 级", "tier {grade} since {day}"),
    "tier_held": ("{grade} 级仅 {days:g} 天，需满 {required_days:g} 天",
                  "tier {grade} for {days:g} of the {required_days:g} days required"),
    "tier_not": ("现为 {grade} 级，需为 {required} 级", "now tier {grade}, {required} required"),
    "no_adverse_within": ("近 {days:g} 天无不良信用记录", "no adverse record in {days:g} days"),
    "honours_lapsed": ("表彰奖励于 {day} 超出有效期", "honours out of date from {day}"),
    # a tier moved by a policy change, not a record (pipeline/grading.py)
    "policy_replaced": ("策略 {old}（摘要 {old_digest}）更换为策略 {new}（摘要 {new_digest}）",
                        "policy {old} (sha256 {old_digest}) -> policy {new} (sha256 {new_digest})"),
    "policy_replaced_unrecorded": ("未记录的策略更换为策略 {new}（摘要 {new_digest}）",
                                   "an unrecorded policy -> policy {new} (sha256 {new_digest})"),
    # the cross-subject detectors (pipeline/peers.py, cross_sector.py, cross_region.py)
    "above_peers": ("高于同业均值 {spreads:.1f} 个离散度（离散度 {spread:g}）",
                    "{spreads:.1f} spreads above the peers' mean (spread {spread:g})"),
    "above_peers_improbable": (
        "高于同业均值 {spreads:.1f} 个离散度（离散度 {spread:g}）；"
        "同业中达到此数或更多的概率为 10^-{surprise:.1f}",
        "{spreads:.1f} spreads above the peers' mean (spread {spread:g}); "
        "that many or more among them: a chance of 1 in 10^{surprise:.1f}"),
    "departments": ("{departments}", "{departments}"),
    "sectors": ("{sectors}", "{sectors}"),
    "adverse_record": ("{subject} · {department} · {sector} · {county} · 事件 {event}，{at}",
                       "{subject} · {department} · {sector} · {county} · event {event} at {at}"),
    "county_surge": ("今日投诉举报，预期每日 {expected:g} 件；"
                     "达到此数或更多的概率为 10^-{surprise:.1f}",
                     "complaints today against an expected {expected:g} a day; "
                     "that many or more: a chance of 1 in 10^{surprise:.1f}"),
    "department_pair": (
        "{departments}：{sector}行业中{combination}的部门组合，"
        "此前 {findings} 次跨部门发现中出现 {seen} 次",
        "{departments}: {combination} combination in {sector}, "
        "met in {seen} of its {findings} earlier cross-sector findings"),
    "linked_subject": ("{subject} 于 {day} 列入名单", "{subject} listed on {day}"),
    # why a notice was given (risk.workflow): a repair application's unmet conditions (seed 十三)
    "record_not_on_file": ("记录 {record} 不在档案中", "record {record} is not on file"),
    "record_not_published": ("记录 {record} 已不在公示中：{publication}",
                             "record {record} is already {publication}"),
    "not_repairable": ("{signal}记录随作出它的决定终止，不适用信用修复",
                       "{signal} records end with the decision that made them, not by repair"),
    "minimum_period": ("{penalty_severity}失信信息最短公示 {days} 天：{day} 起可申请修复",
                       "a {penalty_severity} record is published at least {days} days: "
                       "repairable from {day}"),
    "no_repair_commitment": ("近期未作出信用修复承诺，或承诺未履行",
                             "no credit-repair commitment made recently and kept"),
    "rectification_outstanding": ("整改尚未完成：{orders}",
                                  "rectification not completed: {orders}"),
    "recent_record": ("{day} 有新的{signal}记录（事件 {event}）：申请前 {days} 天内不得有新记录，"
                      "{clean_from} 前不能申请",
                      "record {event} ({signal}) on {day}: no new record may be made for {days} "
                      "days before applying, so not before {clean_from}"),
    # a broken commitment's consequence (seed 一)
    "revoke_approval": ("{commitment_kind}信用承诺 {commitment} 于 {day} 被违背："
                        "撤销依此承诺作出的审批，不再适用告知承诺审批",
                        "{commitment_kind} commitment {commitment} broken on {day}: revoke the "
                        "approval granted on it; no approvals on commitment now"),
    "self_discipline_breached": ("{commitment_kind}信用承诺 {commitment} 于 {day} 被违背："
                                 "会员违背行业自律承诺",
                                 "{commitment_kind} commitment {commitment} broken on {day}: "
                                 "a member broke its industry self-discipline commitment"),
    "repair_voided": ("记录 {record} 的信用修复以信用修复型承诺 {commitment} 为前提，"
                      "该承诺于 {day} 被违背，修复失效",
                      "the repair of record {record} rested on credit-repair commitment "
                      "{commitment}, broken on {day}"),
    # a public-sector subject's violations, to its superior unit and the audit body (seed 十一)
    "public_sector_record": ("{subject_type}：{department}于 {day} "
                             "作出{signal}记录（事件 {event}）",
                             "{subject_type}: {signal} record {event} on {day} by {department}"),
    "public_sector_listing": ("{subject_type}：于 {day} 列入{list}名单",
                              "{subject_type}: entered the {list} list on {day}"),
    # a list entry's procedure (seed 八, 按程序)
    "list_proposed": ("{day} 按列入标准提出列入{list}名单，由{department}认定",
                      "proposed on {day} by the {list} list's entry rules, for {department} "
                      "to decide"),
    "list_notice": ("{department}于 {day} 认定列入{list}名单；告知期内可陈述申辩",
                    "{department} decided on {day} to enter the {list} list; the subject "
                    "may state its case until the notice period ends"),
    "staff_listing": ("{subject_type}：于 {day} 列入{list}名单；此人时任{role}",
                      "{subject_type}: entered the {list} list on {day}; "
                      "the person was its {role} then"),
}  # fmt: skip

#: The words for the codes a title or an explanation names, by the name it has in
#: ``about``: code -> (Chinese, English).
SECTORS: dict[str, Title] = {
    "finance": ("金融", "finance"),
    "food_drug": ("食品药品", "food and drugs"),
    "education": ("教育", "education"),
    "environment": ("生态环境", "environment"),
    "construction": ("工程建设", "construction"),
    "production_safety": ("安全生产", "production safety"),
    "elderly_childcare": ("养老托育", "elderly and child care"),
    "urban_operations": ("城市运行", "urban operations"),
    "other": ("其他", "other sectors"),
}
DEPARTMENTS: dict[str, Title] = {
    "market_regulation": ("市场监管部门", "market regulation"),
    "ecology_environment": ("生态环境部门", "ecology and environment"),
    "taxation": ("税务部门", "taxation"),
    "court": ("法院", "court"),
    "government_services": ("政务服务部门", "government services"),
    "housing_construction": ("住房和城乡建设部门", "housing and construction"),
    "emergency_management": ("应急管理部门", "emergency management"),
    "education": ("教育部门", "education"),
    "health": ("卫生健康部门", "health"),
    "financial_regulation": ("金融监管部门", "financial regulation"),
    "industry_association": ("行业协会", "industry association"),
    "superior_unit": ("上级主管单位", "superior unit"),
    "audit": ("审计部门", "audit"),
    "discipline_inspection": ("纪检监察机关", "discipline inspection"),
    "organisation_personnel": ("组织人事部门", "organisation and personnel"),
}
COUNTIES: dict[str, Title] = {
    code: (name, SHIJIAZHUANG_COUNTIES_EN[code]) for code, name in SHIJIAZHUANG_COUNTIES.items()
}
WORDS: dict[str, Mapping[str, Title]] = {
    "category": {
        "food_safety": ("食品安全", "food safety"),
        "drug_safety": ("药品安全", "drug safety"),
        "product_quality": ("产品质量", "product quality"),
        "price": ("价格", "price"),
        "contract": ("合同", "contract"),
        "advertising": ("广告", "advertising"),
        "prepaid_card": ("预付卡", "prepaid card"),
        "service_quality": ("服务质量", "service quality"),
        "counterfeit": ("假冒伪劣", "counterfeit"),
        "weights_measures": ("计量", "weights and measures"),
        "other": ("其他", "other"),
    },
    "sector": SECTORS,
    "sectors": SECTORS,
    "metric": {
        "cold_chain_temperature": ("冷链温度", "cold-chain temperature"),
        "cod": ("化学需氧量", "COD"),
        "nox": ("氮氧化物", "NOx"),
        "gas_concentration": ("燃气浓度", "gas concentration"),
        "pm25": ("PM2.5", "PM2.5"),
        "camera_ai_event": ("视频智能识别事件", "camera AI event"),
    },
    "features": {
        "score": ("信用风险分", "risk score"),
        "complaints_30d": ("30 日投诉举报", "complaints in 30 days"),
        "penalties": ("行政处罚", "penalties"),
        "iot_exceedances_24h": ("24 小时物联网超标", "IoT exceedances in 24 h"),
    },
    "list": {
        "joint_punishment": ("失信联合惩戒对象", "joint-punishment"),
        "key_attention": ("重点关注对象", "key-attention"),
        "market_ban": ("市场和行业禁入", "market-ban"),
        "approval_commitment_breach": ("审批替代型承诺失信", "approval-commitment breach"),
        "red_list": ("诚信红", "red"),  # + 名单: 诚信红名单
    },
    # the policy's credit signals, as a record, a list's basis or a notice names them
    "signal": {
        "penalty_minor": ("轻微行政处罚", "minor penalty"),
        "penalty_general": ("一般行政处罚", "general penalty"),
        "penalty_serious": ("严重行政处罚", "serious penalty"),
        "licence_suspended": ("暂扣许可证", "licence suspended"),
        "licence_revoked": ("吊销许可证", "licence revoked"),
        "court_dishonest_debtor": ("失信被执行人", "court dishonest debtor"),
        "tax_violation": ("税收违法", "tax violation"),
        "abnormal_operation": ("列入经营异常名录", "abnormal operation"),
        "spot_check_problems": ("抽查发现问题", "spot check with problems"),
        "spot_check_passed": ("抽查合格", "spot check passed"),
        "commitment_breached_approval_substitution": (
            "违背审批替代型信用承诺",
            "approval-substitution commitment breached",
        ),
        "commitment_breached_voluntary": ("违背主动型信用承诺", "voluntary commitment breached"),
        "commitment_breached_industry_self_discipline": (
            "违背行业自律型信用承诺",
            "self-discipline commitment breached",
        ),
        "commitment_breached_credit_repair": (
            "违背信用修复型信用承诺",
            "credit-repair commitment breached",
        ),
        "decision_refused": ("拒不履行行政处罚决定", "penalty decision refused"),
        "commitment_fulfilled": ("履行信用承诺", "commitment fulfilled"),
        "interview": ("信用约谈", "interview"),
        "honour": ("表彰奖励", "honour"),
        "voluntary_registration": ("自愿注册信用信息", "voluntary registration"),
        "repair_completed": ("信用修复完成", "credit repair completed"),
        "sector_evaluation_a": ("行业信用评价 A 级", "sector evaluation, grade A"),
        "sector_evaluation_b": ("行业信用评价 B 级", "sector evaluation, grade B"),
        "sector_evaluation_c": ("行业信用评价 C 级", "sector evaluation, grade C"),
        "sector_evaluation_d": ("行业信用评价 D 级", "sector evaluation, grade D"),
    },  # fmt: skip
    "commitment_kind": {
        "approval_substitution": ("审批替代型", "approval-substitution"),
        "voluntary": ("主动型", "voluntary"),
        "industry_self_discipline": ("行业自律型", "industry self-discipline"),
        "credit_repair": ("信用修复型", "credit-repair"),
    },
    # who a subject is, and who answers for it (seed 十一)
    "subject_type": {
        "enterprise": ("企业", "enterprise"),
        "individual_business": ("个体工商户", "individual business"),
        "state_owned": ("国有企业", "state-owned enterprise"),
        "public_institution": ("事业单位", "public institution"),
        "social_organisation": ("社会组织", "social organisation"),
    },
    "role": {
        "legal_representative": ("法定代表人", "legal representative"),
        "principal_officer": ("主要负责人", "principal officer"),
        "actual_controller": ("实际控制人", "actual controller"),
    },
    "source_kind": {"departments": ("部门", "departments"), "sectors": ("行业", "sectors")},
    "combination": {"usual": ("常见", "a usual"), "unusual": ("罕见", "an unusual")},
    "county": COUNTIES,
    "department": DEPARTMENTS,
    "departments": DEPARTMENTS,
    "unit": {
        "celsius": ("摄氏度", "°C"),
        "mg/L": ("毫克/升", "mg/L"),
        "mg/m3": ("毫克/立方米", "mg/m³"),
        "ppm": ("百万分率", "ppm"),
        "ug/m3": ("微克/立方米", "µg/m³"),
        "count": ("次", "count"),
    },
    "predictor": {
        "last": ("上一读数", "last-value"),
        "level": ("水平", "level"),
        "season": ("日周期", "daily-pattern"),
        "none": ("无", "no"),
    },
    "evidence": {
        "point": ("单点突变", "point"),
        "burst": ("短时突发", "burst"),
        "shift": ("水平偏移", "level-shift"),
        "pattern": ("日规律异常", "daily-pattern"),
        "week": ("周规律异常", "weekly-pattern"),
        "range": ("超出历史范围", "range"),
        "drift": ("缓慢漂移", "drift"),
    },
    "previous": {"none": ("无", "none")},
    # The board's own vocabulary: filters, badges, the tier chart.
    "kind": {
        "rule": ("规则", "rule"),
        "anomaly": ("异常", "anomaly"),
        "iot": ("物联网", "IoT"),
        "cross-sector": ("跨行业", "cross-sector"),
        "cross-region": ("跨区域", "cross-region"),
        "deadline": ("期限", "deadline"),
        "list": ("名单", "list"),
    },
    "severity": {
        "critical": ("严重", "critical"),
        "high": ("高", "high"),
        "medium": ("中", "medium"),
        "low": ("低", "low"),
    },
    "tier": {
        "A": ("低风险", "low risk"),
        "B": ("一般风险", "general risk"),
        "C": ("较高风险", "higher risk"),
        "D": ("高风险", "high risk"),
    },
    "disposition": {
        "board": ("看板", "board"),
        "digest": ("日汇总", "daily digest"),
        "case": ("档案", "case file"),
    },
    # A record's kind, class and publication: the board's record search and the public side.
    "enforcement": {
        "penalty": ("行政处罚", "penalty"),
        "licence_granted": ("行政许可", "licence granted"),
        "licence_suspended": ("暂扣许可证", "licence suspended"),
        "licence_revoked": ("吊销许可证", "licence revoked"),
        "spot_check": ("双随机抽查", "spot check"),
        "court_dishonest_debtor": ("失信被执行人", "court dishonest debtor"),
        "tax_violation": ("税收违法", "tax violation"),
        "abnormal_operation_listed": ("列入经营异常名录", "abnormal operation listed"),
        "abnormal_operation_removed": ("移出经营异常名录", "abnormal operation removed"),
        "commitment_made": ("作出信用承诺", "commitment made"),
        "commitment_fulfilled": ("履行信用承诺", "commitment fulfilled"),
        "commitment_breached": ("违背信用承诺", "commitment breached"),
        "rectification_ordered": ("责令整改", "rectification ordered"),
        "rectification_completed": ("整改完成", "rectification completed"),
        "interview": ("信用约谈", "interview"),
        "repair_applied": ("申请信用修复", "repair applied"),
        "repair_completed": ("信用修复完成", "repair completed"),
        "voluntary_registration": ("自愿注册信用信息", "voluntary registration"),
        "honour": ("表彰奖励", "honour"),
        "objection_filed": ("提出异议", "objection filed"),
        "objection_decided": ("异议处理决定", "objection decided"),
        "decision_refused": ("拒不履行行政处罚决定", "penalty decision refused"),
        "list_proposed": ("提出列入名单", "list entry proposed"),
        "list_decided": ("名单认定决定", "list entry decided"),
        "list_statement": ("陈述申辩", "statement of the subject"),
    },
    "penalty_severity": {
        "minor": ("轻微", "minor"),
        "general": ("一般", "general"),
        "serious": ("严重", "serious"),
    },
    "publication": {
        "published": ("公示中", "published"),
        "expired": ("公示期满", "expired"),
        "repaired": ("已信用修复", "repaired"),
        "corrected": ("已更正撤销", "corrected"),
    },
}

#: The groups of :data:`WORDS` the board shows as labels of its own vocabulary; its pages
#: share a copy (dashboards/board/board.js, checked by tests/integration/test_board_e2e.py).
BOARD_LABELS = (
    "sector",
    "category",
    "kind",
    "severity",
    "tier",
    "disposition",
    "department",
    "enforcement",
    "penalty_severity",
    "publication",
)

#: How a list of codes is joined, per language.
JOINERS = ("、", ", ")
ZH, EN = 0, 1  # the places of the two languages in a (Chinese, English) pair


def titles(hit: RuleHit) -> Title:
    """The hit's title in Chinese and in English.

    >>> from detectors.alert_rules import AlertRule
    >>> from topics.vocabulary import AlertKind, AlertSeverity
    >>> hit = RuleHit(AlertRule.COMPLAINT_SURGE, "complaint_surge:price", AlertKind.RULE,
    ...               AlertSeverity.MEDIUM, (), about={"category": "prepaid_card"})
    >>> titles(hit)
    ('12315 投诉举报激增：预付卡', 'Surge of 12315 complaints: prepaid card')
    """
    return _both(TITLES[hit.rule], hit.about)


def digest_titles(rule: AlertRule, county: str, sector: str, day: str) -> Title:
    """A daily digest's title in Chinese and in English.

    >>> digest_titles(AlertRule.IOT_ANOMALY, "130102", "food_drug", "2026-03-02")
    ('2026-03-02 长安区食品药品行业物联网读数异常日汇总', "Daily digest of IoT anomalies: Chang'an District, food and drugs, 2026-03-02")
    """  # noqa: E501
    name = RULE_NAMES[rule]
    zh, en = _both(DIGEST_TITLE, {"county": county, "sector": sector, "day": day}, name)
    return zh, en


def fact_words(fact: Fact) -> tuple[Title, tuple[str | None, str] | None]:
    """A fact's label and its explanation, each (Chinese, English); the explanation is
    None when it has none. A fact not yet worded here (``detail`` without ``says``)
    keeps its detail in English only (Chinese None), and a code with no label is its
    own label.

    >>> fact_words(Fact("penalty_serious", 1.0, says="event", about={"event": "e1"}))
    (('严重行政处罚', 'Serious penalty'), ('事件 e1', 'event e1'))
    >>> fact_words(Fact("county 130104", 7.0, 2.0, says="county_surge",
    ...                 about={"expected": 2.0, "surprise": 2.4}))
    (('桥西区', 'Qiaoxi District'), ('今日投诉举报，预期每日 2 件；达到此数或更多的概率为 10^-2.4', 'complaints today against an expected 2 a day; that many or more: a chance of 1 in 10^2.4'))
    """  # noqa: E501
    label = _label(fact.fact)
    if fact.says is not None:
        return label, _both(DETAILS[fact.says], fact.about)
    if fact.detail is not None:
        return label, (None, fact.detail)
    return label, None


def _label(code: str) -> Title:
    if code in FACT_LABELS:
        return FACT_LABELS[code]
    for pattern, label in FACT_PATTERNS:
        found = pattern.fullmatch(code)
        if found is not None:
            named: dict[str, TitleValue] = dict(found.groupdict())
            return _both(label, named)
    return code, code


def _both(template: Title, about: Mapping[str, TitleValue], name: Title | None = None) -> Title:
    """``template`` worded in each language over ``about`` (and a rule's ``name``)."""
    worded = []
    for language in (ZH, EN):
        values = _worded(about, language)
        if name is not None:
            values["name"] = name[language]
        worded.append(template[language].format_map(values))
    return worded[0], worded[1]


def _worded(about: Mapping[str, TitleValue], language: int) -> dict[str, str | int | float]:
    worded: dict[str, str | int | float] = {}
    for name, value in about.items():
        table = WORDS.get(name, {})
        if isinstance(value, tuple):
            worded[name] = JOINERS[language].join(_word(table, code, language) for code in value)
        elif isinstance(value, str):
            worded[name] = _word(table, value, language)
        else:
            worded[name] = value
    return worded


def _word(table: Mapping[str, Title], code: str, language: int) -> str:
    pair = table.get(code)
    return pair[language] if pair is not None else code
