"""The vocabulary of the contracts: every enumeration, with no Faust import.

``detectors/`` imports these to reason about records without depending on the
stream framework. Sectors are the eight key fields of seed 六 ("金融、食品药品、
教育、环保等 8 个重点行业领域") extended with the life-safety fields of seed 十.
Regions are the county-level divisions of Shijiazhuang (GB/T 2260); other cities
supply their own codes, so contracts validate a code's format, not membership.
"""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    FINANCE = "finance"
    FOOD_DRUG = "food_drug"
    EDUCATION = "education"
    ENVIRONMENT = "environment"
    CONSTRUCTION = "construction"
    PRODUCTION_SAFETY = "production_safety"
    ELDERLY_CHILDCARE = "elderly_childcare"
    URBAN_OPERATIONS = "urban_operations"
    OTHER = "other"


#: Seed 六's 8 key sectors (重点行业领域): each weighs records by its own policy
#: (``[sectors]``) and has state and provincial evaluations (evaluations.sector).
KEY_SECTORS = tuple(s for s in Sector if s is not Sector.OTHER)


class EvaluationLevel(StrEnum):
    """Who made a sector evaluation (行业信用评价): a state or a provincial authority."""

    STATE = "state"  # 国家行业主管部门
    PROVINCIAL = "provincial"  # 省级行业主管部门


class Department(StrEnum):
    MARKET_REGULATION = "market_regulation"
    ECOLOGY_ENVIRONMENT = "ecology_environment"
    TAXATION = "taxation"
    COURT = "court"
    GOVERNMENT_SERVICES = "government_services"
    HOUSING_CONSTRUCTION = "housing_construction"
    EMERGENCY_MANAGEMENT = "emergency_management"
    EDUCATION = "education"
    HEALTH = "health"
    FINANCIAL_REGULATION = "financial_regulation"
    INDUSTRY_ASSOCIATION = "industry_association"
    # Seed 十一: who hears of a public-sector subject's or its staff's violations.
    # They receive notices (``risk.workflow``); they may also send records.
    SUPERIOR_UNIT = "superior_unit"  # 上级主管单位
    AUDIT = "audit"  # 审计部门
    DISCIPLINE_INSPECTION = "discipline_inspection"  # 纪检监察机关
    ORGANISATION_PERSONNEL = "organisation_personnel"  # 组织人事部门


class SubjectType(StrEnum):
    """What kind of market subject a USCC names (seed 十一 treats the public sector apart).

    Optional on records; a record without it means an enterprise, as every
    record did before subject types existed.
    """

    ENTERPRISE = "enterprise"  # 企业
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    STATE_OWNED = "state_owned"  # 国有企业
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位
    SOCIAL_ORGANISATION = "social_organisation"  # 社会组织


#: The type of a subject no record has typed.
DEFAULT_SUBJECT_TYPE = SubjectType.ENTERPRISE


class PersonRole(StrEnum):
    """Seed 十一: the people answerable for a subject (registry.roles)."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
    PRINCIPAL_OFFICER = "principal_officer"  # 主要负责人
    ACTUAL_CONTROLLER = "actual_controller"  # 实际控制人


class BanGround(StrEnum):
    """Seed 十: the only grounds for a market and industry ban (市场和行业禁入)."""

    REFUSED_RULING = "refused_ruling"  # 拒不履行司法裁判
    REFUSED_DECISION = "refused_decision"  # 拒不履行行政处罚决定
    REPEAT_OFFENCES = "repeat_offences"  # 屡犯不改
    MAJOR_LOSS = "major_loss"  # 造成重大损失


#: The city's own division code: the region of alerts about the whole city.
SHIJIAZHUANG_CITY = "130100"

SHIJIAZHUANG_COUNTIES: dict[str, str] = {
    "130102": "长安区",
    "130104": "桥西区",
    "130105": "新华区",
    "130107": "井陉矿区",
    "130108": "裕华区",
    "130109": "藁城区",
    "130110": "鹿泉区",
    "130111": "栾城区",
    "130121": "井陉县",
    "130123": "正定县",
    "130125": "行唐县",
    "130126": "灵寿县",
    "130127": "高邑县",
    "130128": "深泽县",
    "130129": "赞皇县",
    "130130": "无极县",
    "130131": "平山县",
    "130132": "元氏县",
    "130133": "赵县",
    "130171": "高新区",
    "130172": "循环化工园区",
    "130181": "辛集市",
    "130183": "晋州市",
    "130184": "新乐市",
}

#: The same divisions' English names, for English titles and the board in English.
SHIJIAZHUANG_COUNTIES_EN: dict[str, str] = {
    "130102": "Chang'an District",
    "130104": "Qiaoxi District",
    "130105": "Xinhua District",
    "130107": "Jingxing Mining District",
    "130108": "Yuhua District",
    "130109": "Gaocheng District",
    "130110": "Luquan District",
    "130111": "Luancheng District",
    "130121": "Jingxing County",
    "130123": "Zhengding County",
    "130125": "Xingtang County",
    "130126": "Lingshou County",
    "130127": "Gaoyi County",
    "130128": "Shenze County",
    "130129": "Zanhuang County",
    "130130": "Wuji County",
    "130131": "Pingshan County",
    "130132": "Yuanshi County",
    "130133": "Zhao County",
    "130171": "High-tech Zone",
    "130172": "Circular Chemical Park",
    "130181": "Xinji City",
    "130183": "Jinzhou City",
    "130184": "Xinle City",
}


class EnforcementKind(StrEnum):
    PENALTY = "penalty"
    # 行政许可: a licence granted. Half of seed 十五's 双公示 (licences and penalties
    # published); it carries no risk, so it maps to no signal.
    LICENCE_GRANTED = "licence_granted"
    LICENCE_SUSPENDED = "licence_suspended"
    LICENCE_REVOKED = "licence_revoked"
    SPOT_CHECK = "spot_check"
    COURT_DISHONEST_DEBTOR = "court_dishonest_debtor"
    TAX_VIOLATION = "tax_violation"
    ABNORMAL_OPERATION_LISTED = "abnormal_operation_listed"
    ABNORMAL_OPERATION_REMOVED = "abnormal_operation_removed"
    COMMITMENT_MADE = "commitment_made"
    COMMITMENT_FULFILLED = "commitment_fulfilled"
    COMMITMENT_BREACHED = "commitment_breached"
    RECTIFICATION_ORDERED = "rectification_ordered"
    RECTIFICATION_COMPLETED = "rectification_completed"
    INTERVIEW = "interview"
    REPAIR_APPLIED = "repair_applied"
    REPAIR_COMPLETED = "repair_completed"
    VOLUNTARY_REGISTRATION = "voluntary_registration"
    HONOUR = "honour"
    OBJECTION_FILED = "objection_filed"
    OBJECTION_DECIDED = "objection_decided"
    # 拒不履行行政处罚决定: the department that decided a penalty records that the
    # subject did not carry it out (a ground for a market ban, seed 十).
    DECISION_REFUSED = "decision_refused"
    # Seed 八 (按程序, issue 17): a list entry proposed by its rules is decided by the
    # identifying department (谁认定; ``concerns_event_id`` names the proposal,
    # ``outcome`` upheld or rejected), and the subject states its case (陈述申辩,
    # ``description``) within the working days its notice (告知) gives it.
    # An official may propose an entry the rules do not: ``reference`` names the list,
    # ``concerns_event_id`` the record on file it rests on (the department decides it).
    LIST_PROPOSED = "list_proposed"
    LIST_DECIDED = "list_decided"
    LIST_STATEMENT = "list_statement"


class Severity(StrEnum):
    """Severity of a penalty (NDRC Order 36 publication classes)."""

    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


class CommitmentKind(StrEnum):
    """The four kinds of credit commitment of seed 一."""

    APPROVAL_SUBSTITUTION = "approval_substitution"  # 审批替代型
    VOLUNTARY = "voluntary"  # 主动型
    INDUSTRY_SELF_DISCIPLINE = "industry_self_discipline"  # 行业自律型
    CREDIT_REPAIR = "credit_repair"  # 信用修复型


class ObjectionOutcome(StrEnum):
    """Seed 十七: the decision on a disputed record."""

    UPHELD = "upheld"  # the record was wrong: it is corrected (withdrawn)
    REJECTED = "rejected"  # the record stands


class SpotCheckResult(StrEnum):
    PASSED = "passed"
    PROBLEMS_FOUND = "problems_found"
    NOT_FOUND_AT_ADDRESS = "not_found_at_address"


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"  # 投诉: a consumer dispute asking for mediation
    REPORT = "report"  # 举报: a tip-off about a violation
    ENQUIRY = "enquiry"  # 咨询


class ComplaintCategory(StrEnum):
    FOOD_SAFETY = "food_safety"
    DRUG_SAFETY = "drug_safety"
    PRODUCT_QUALITY = "product_quality"
    PRICE = "price"
    CONTRACT = "contract"
    ADVERTISING = "advertising"
    PREPAID_CARD = "prepaid_card"
    SERVICE_QUALITY = "service_quality"
    COUNTERFEIT = "counterfeit"
    WEIGHTS_MEASURES = "weights_measures"
    OTHER = "other"


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    LETTER = "letter"
    VISIT = "visit"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MEDIATING = "mediating"
    MEDIATED = "mediated"
    MEDIATION_FAILED = "mediation_failed"
    CLOSED = "closed"


class Metric(StrEnum):
    COLD_CHAIN_TEMPERATURE = "cold_chain_temperature"
    COD = "cod"  # chemical oxygen demand in waste water
    NOX = "nox"  # nitrogen oxides in flue gas
    GAS_CONCENTRATION = "gas_concentration"
    PM25 = "pm25"
    CAMERA_AI_EVENT = "camera_ai_event"  # e.g. kitchen staff without mask, per hour


#: The unit every metric must be reported in; a mismatch is a contract breach,
#: not something to convert silently.
METRIC_UNITS: dict[Metric, str] = {
    Metric.COLD_CHAIN_TEMPERATURE: "celsius",
    Metric.COD: "mg/L",
    Metric.NOX: "mg/m3",
    Metric.GAS_CONCENTRATION: "ppm",
    Metric.PM25: "ug/m3",
    Metric.CAMERA_AI_EVENT: "count",
}


class Tier(StrEnum):
    """SAMR's four credit-risk classes (2022): A low, B general, C higher, D high."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class AlertKind(StrEnum):
    RULE = "rule"
    ANOMALY = "anomaly"
    IOT = "iot"
    CROSS_SECTOR = "cross-sector"
    CROSS_REGION = "cross-region"
    DEADLINE = "deadline"
    LIST = "list"


class Disposition(StrEnum):
    """Where an alert is shown (the policy's ``[alerts.disposition]``, docs/alerts.md)."""

    BOARD = "board"  # its own item on the live board, pushed to inspectors' inboxes
    CASE = "case"  # in the subject's case: its profile and alert history only
    DIGEST = "digest"  # in the subject's history, and counted in its county's daily digest


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


#: Severity values in rising order, for comparisons on wire dicts.
SEVERITY_RANK = {s.value: i for i, s in enumerate(AlertSeverity)}


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NoticeKind(StrEnum):
    """Tasks and decisions for departments (``risk.workflow``)."""

    COMMITMENT_BREACHED = "commitment_breached"  # to the department that accepted it
    INTERVIEW_DUE = "interview_due"  # 谁认定、谁约谈: to the department that ordered
    OBJECTION_OVERDUE = "objection_overdue"  # to the department that must decide
    REPAIR_APPROVED = "repair_approved"
    REPAIR_REJECTED = "repair_rejected"  # with the reasons and the earliest date
    # Seed 一: what a breach of each kind of commitment sets off (detectors/commitments.py).
    APPROVAL_REVOCATION = "approval_revocation"  # 审批替代型: revoke what was approved on it
    SELF_DISCIPLINE_BREACHED = "self_discipline_breached"  # 行业自律型: to the association
    REPAIR_VOIDED = "repair_voided"  # 信用修复型: the repairs it supported are void
    # Seed 十一: 机关事业单位、国有企业 violations to the superior unit and the audit
    # body; their responsible people's to discipline inspection and personnel.
    PUBLIC_SECTOR_REPORT = "public_sector_report"
    STAFF_REPORT = "staff_report"
    # Seed 八 (按程序, issue 17): a proposed list entry to decide, by its due date (谁认定);
    # the notice to the subject (告知) with the last day of its statement window
    # (陈述申辩); the subject's statement, for the deciding department; a decision
    # not made in time, escalated.
    LIST_DECISION_DUE = "list_decision_due"
    LIST_NOTICE = "list_notice"
    LIST_STATEMENT_RECEIVED = "list_statement_received"
    LIST_DECISION_OVERDUE = "list_decision_overdue"


class PublicationStatus(StrEnum):
    """Where an adverse record stands in its publication (``risk.publications``, seed 十五)."""

    PUBLISHED = "published"  # shown on the public site until ``published_until``
    EXPIRED = "expired"  # its publication period ended
    REPAIRED = "repaired"  # seed 十三: publication stopped after credit repair
    CORRECTED = "corrected"  # seed 十七: withdrawn after an upheld objection


class PublicationReason(StrEnum):
    """What moved a record's publication (``risk.publications``)."""

    FILED = "filed"  # the record was filed: publication begins
    DEADLINE_MISSED = "deadline_missed"  # a commitment's deadline passed: a breach is published
    OBJECTION_FILED = "objection_filed"  # disputed: still published, marked
    OBJECTION_REJECTED = "objection_rejected"  # the dispute ended, the record stands
    OBJECTION_UPHELD = "objection_upheld"  # corrected: publication stops
    REPAIRED = "repaired"  # credit repaired: publication stops
    EXPIRED = "expired"  # event time passed the period's end: publication stops
    # seed 一: the credit-repair commitment the repair rested on was broken, so the
    # repair is void and publication resumes
    REPAIR_VOIDED = "repair_voided"
