"""Deterministic synthetic traffic for the three input topics.

:class:`Simulator` turns a seeded population (see :mod:`.population`) into an
endless, reproducible stream of :class:`OutboundRecord`: encoded messages ready
for Kafka, each tagged with whether the pipeline should accept it and, if not,
the :class:`~topics.validation.Reason` it should be dead-lettered with.

The mix by count is about 80 % IoT readings, 13 % 12315 complaints and 7 %
enforcement events. Adverse events concentrate on the hidden high-risk
subjects: complaint surges in one category, IoT excursions above the limit,
serious penalties, court rulings and revocations. Good subjects collect honours
and voluntary registrations (seed 五). Event times come from an injected clock
so tests get byte-identical output. :meth:`Simulator.registrations` is the
register's side (``registry.roles``): every subject's legal representative and
other responsible people, and its type, sent once before the traffic.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar

import orjson

from creditwatch.simulation import bad
from creditwatch.simulation.population import (
    DEFAULT_SIZE,
    Device,
    RiskProfile,
    Subject,
    all_devices,
    build_population,
)
from topics.catalogue import COMPLAINTS_12315, ENFORCEMENT_EVENTS, IOT_READINGS, REGISTRY_ROLES
from topics.vocabulary import (
    METRIC_UNITS,
    Channel,
    CommitmentKind,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    Department,
    EnforcementKind,
    Metric,
    ObjectionOutcome,
    PersonRole,
    Sector,
    Severity,
    SpotCheckResult,
    SubjectType,
)

T = TypeVar("T")

# China has had no daylight saving since 1991, so a fixed +08:00 is exact and
# needs no tz database on the producing machine.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

Clock = Callable[[], datetime]

DEFAULT_MIX: dict[str, float] = {
    IOT_READINGS.name: 0.80,
    COMPLAINTS_12315.name: 0.13,
    ENFORCEMENT_EVENTS.name: 0.07,
}
DEFAULT_BAD_RATIO = 0.005
DEFAULT_DUPLICATE_RATIO = 0.002
RECENT_FOR_DUPLICATES = 256
PENDING_LIMIT = 2_000  # bounds the follow-up queues (rectifications, commitments …)


def wall_clock() -> datetime:
    """The current time in Shanghai; the CLI's clock."""
    return datetime.now(SHANGHAI)


class SteppingClock:
    """A fake clock advancing by ``step`` on every call, for reproducible output.

    >>> clock = SteppingClock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI), timedelta(seconds=1))
    >>> clock().isoformat(), clock().isoformat()
    ('2026-03-02T09:00:00+08:00', '2026-03-02T09:00:01+08:00')
    """

    def __init__(self, start: datetime, step: timedelta = timedelta(milliseconds=5)) -> None:
        if start.tzinfo is None:
            raise ValueError("SteppingClock needs a timezone-aware start")
        self._next = start
        self._step = step

    def __call__(self) -> datetime:
        now = self._next
        self._next += self._step
        return now


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    """One message to produce, with what the pipeline is expected to make of it."""

    topic: str
    key: bytes
    value: bytes
    expected_valid: bool = True
    reason: str | None = None  # the dead-letter Reason code when expected_valid is False
    duplicate: bool = False  # an exact re-send of an earlier record (same event_id, bytes)


@dataclass(frozen=True, slots=True)
class Draft:
    """A valid record before encoding; :mod:`.bad` corrupts drafts into bad records."""

    topic: str
    subject: Subject
    payload: dict[str, Any]

    @property
    def key(self) -> bytes:
        return self.subject.key

    def encode(self) -> bytes:
        return orjson.dumps(self.payload)


def _weighted(rng: random.Random, weights: Mapping[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def timestamp(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset every contract demands."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="milliseconds")


class _Sampler:
    """Picks subject indices in proportion to a per-subject weight, in O(log n)."""

    def __init__(self, subjects: Sequence[Subject], weight: Callable[[Subject], float]) -> None:
        self._cumulative = list(itertools.accumulate(weight(s) for s in subjects))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> int:
        return bisect.bisect(self._cumulative, rng.random() * self._total)


def _profile_weight(weights: Mapping[RiskProfile, float]) -> Callable[[Subject], float]:
    return lambda subject: weights[subject.profile]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count by Knuth's method: for the small means of simulated traffic (camera
    events per hour, a day's complaints in one county)."""
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


# --------------------------------------------------------------------------- IoT

# Chance per reading that a device starts an excursion above its limit: a
# failing fridge, a bypassed scrubber. Clean subjects have rare equipment faults.
EXCURSION_START: dict[RiskProfile, float] = {
    RiskProfile.CLEAN: 0.0005,
    RiskProfile.HIGH: 0.01,
    RiskProfile.VERY_BAD: 0.03,
}
PERSISTENCE = 0.8  # AR(1) coefficient: sensors drift, they do not jump
NON_NEGATIVE = frozenset({Metric.COD, Metric.NOX, Metric.GAS_CONCENTRATION, Metric.PM25})


def iot_draft(
    subject: Subject, device: Device, value: float, now: datetime, event_id: str
) -> Draft:
    """One reading of ``device`` as its subject's sensor would report it.

    Public so that scripted traffic (the scenario evaluation) sends exactly the
    payload shape of the simulated city.
    """
    spec = device.spec
    payload = {
        "event_id": event_id,
        "device_id": device.device_id,
        "subject": subject.uscc,
        "sector": subject.sector.value,
        "region": subject.region,
        "metric": spec.metric.value,
        "value": value,
        "unit": METRIC_UNITS[spec.metric],
        "measured_at": timestamp(now),
        "limit": spec.limit,
    }
    return Draft(IOT_READINGS.name, subject, payload)


class _IotStream:
    """Readings from every device, each an AR(1) process around its normal level."""

    def __init__(self, rng: random.Random, subjects: Sequence[Subject]) -> None:
        self._rng = rng
        self._subjects = subjects
        self.devices = all_devices(subjects)
        self._level: dict[str, float] = {}
        self._excursion: dict[str, tuple[int, float]] = {}  # device → (readings left, factor)

    def draft(self, now: datetime, event_id: str) -> Draft:
        index, device = self._rng.choice(self.devices)
        subject = self._subjects[index]
        return iot_draft(subject, device, self._reading(subject, device), now, event_id)

    def _target(self, subject: Subject, device: Device) -> float:
        """The level the device tends to now: normal, or above the limit during an excursion."""
        spec, rng = device.spec, self._rng
        left, factor = self._excursion.pop(device.device_id, (0, 0.0))
        if not left and rng.random() < EXCURSION_START[subject.profile]:
            left, factor = rng.randint(4, 15), rng.uniform(1.1, 1.6)
        if not left:
            return spec.normal
        if left > 1:
            self._excursion[device.device_id] = (left - 1, factor)
        # All limits are upper bounds, so overshooting the normal→limit gap exceeds it.
        return spec.normal + (spec.limit - spec.normal) * factor

    def _reading(self, subject: Subject, device: Device) -> float:
        spec, rng = device.spec, self._rng
        target = self._target(subject, device)
        if spec.metric is Metric.CAMERA_AI_EVENT:
            return float(poisson(rng, target))
        previous = self._level.get(device.device_id, spec.normal)
        innovation = spec.noise * math.sqrt(1 - PERSISTENCE**2) * rng.gauss(0.0, 1.0)
        level = target + PERSISTENCE * (previous - target) + innovation
        if spec.metric in NON_NEGATIVE:
            level = max(level, 0.0)
        self._level[device.device_id] = level
        return round(level, 2)


# ---------------------------------------------------------------- complaints 12315

# Consumer-facing trades draw most 12315 traffic; polluters are reported to 12369.
COMPLAINT_SECTOR_WEIGHT: dict[Sector, float] = {
    Sector.FOOD_DRUG: 3.0,
    Sector.EDUCATION: 2.5,
    Sector.ELDERLY_CHILDCARE: 2.0,
    Sector.FINANCE: 1.5,
    Sector.OTHER: 1.5,
    Sector.URBAN_OPERATIONS: 1.2,
    Sector.CONSTRUCTION: 0.8,
    Sector.PRODUCTION_SAFETY: 0.4,
    Sector.ENVIRONMENT: 0.3,
}
COMPLAINT_PROFILE_WEIGHT: dict[RiskProfile, float] = {
    RiskProfile.CLEAN: 1.0,
    RiskProfile.HIGH: 4.0,
    RiskProfile.VERY_BAD: 10.0,
}

_C = ComplaintCategory
# Per sector, the categories its complaints fall in; the first is where surges happen.
SECTOR_CATEGORIES: dict[Sector, dict[ComplaintCategory, float]] = {
    Sector.FOOD_DRUG: {
        _C.FOOD_SAFETY: 40, _C.DRUG_SAFETY: 12, _C.PRODUCT_QUALITY: 8, _C.PRICE: 8,
        _C.SERVICE_QUALITY: 8, _C.COUNTERFEIT: 6, _C.WEIGHTS_MEASURES: 6, _C.ADVERTISING: 4,
        _C.PREPAID_CARD: 3, _C.CONTRACT: 2, _C.OTHER: 3,
    },
    Sector.EDUCATION: {
        _C.PREPAID_CARD: 40, _C.CONTRACT: 25, _C.SERVICE_QUALITY: 20, _C.ADVERTISING: 10,
        _C.PRICE: 5,
    },
    Sector.ELDERLY_CHILDCARE: {
        _C.SERVICE_QUALITY: 45, _C.PREPAID_CARD: 20, _C.CONTRACT: 15, _C.PRICE: 10,
        _C.FOOD_SAFETY: 5, _C.OTHER: 5,
    },
    Sector.FINANCE: {
        _C.CONTRACT: 45, _C.ADVERTISING: 20, _C.SERVICE_QUALITY: 20, _C.PRICE: 10, _C.OTHER: 5,
    },
    Sector.CONSTRUCTION: {
        _C.CONTRACT: 40, _C.PRODUCT_QUALITY: 35, _C.SERVICE_QUALITY: 15, _C.OTHER: 10,
    },
    Sector.ENVIRONMENT: {_C.OTHER: 60, _C.SERVICE_QUALITY: 30, _C.PRODUCT_QUALITY: 10},
    Sector.PRODUCTION_SAFETY: {
        _C.PRODUCT_QUALITY: 40, _C.OTHER: 30, _C.COUNTERFEIT: 15, _C.CONTRACT: 15,
    },
    Sector.URBAN_OPERATIONS: {
        _C.SERVICE_QUALITY: 40, _C.PRICE: 35, _C.CONTRACT: 15, _C.OTHER: 10,
    },
    Sector.OTHER: {
        _C.PRODUCT_QUALITY: 25, _C.PRICE: 15, _C.CONTRACT: 15, _C.SERVICE_QUALITY: 15,
        _C.COUNTERFEIT: 8, _C.ADVERTISING: 8, _C.PREPAID_CARD: 6, _C.WEIGHTS_MEASURES: 4,
        _C.OTHER: 4,
    },
}  # fmt: skip
PRODUCTS: dict[ComplaintCategory, tuple[str, ...]] = {
    _C.FOOD_SAFETY: ("速冻水饺", "鲜牛奶", "熟食卤肉", "外卖套餐", "散装白酒"),
    _C.DRUG_SAFETY: ("感冒灵颗粒", "医用口罩", "电子血压计", "保健食品"),
    _C.PREPAID_CARD: ("健身年卡", "美发储值卡", "少儿英语课程包", "托育月卡"),
    _C.PRODUCT_QUALITY: ("电动自行车", "燃气灶", "儿童座椅", "防水涂料"),
    _C.COUNTERFEIT: ("运动鞋", "化妆品", "农药", "安全帽"),
    _C.CONTRACT: ("装修合同", "理财产品", "购房定金"),
}
# Median amount in yuan for categories where money is at stake.
AMOUNT_MEDIAN: dict[ComplaintCategory, float] = {
    _C.PREPAID_CARD: 3000.0,
    _C.CONTRACT: 5000.0,
    _C.PRODUCT_QUALITY: 800.0,
    _C.PRICE: 150.0,
    _C.COUNTERFEIT: 400.0,
    _C.FOOD_SAFETY: 120.0,
    _C.DRUG_SAFETY: 200.0,
}
COMPLAINT_KINDS = {ComplaintKind.COMPLAINT: 70, ComplaintKind.REPORT: 20, ComplaintKind.ENQUIRY: 10}
CHANNELS = {
    Channel.PHONE: 35, Channel.WECHAT: 25, Channel.WEB: 20, Channel.APP: 15,
    Channel.VISIT: 3, Channel.LETTER: 2,
}  # fmt: skip
STATUSES = {
    ComplaintStatus.RECEIVED: 60, ComplaintStatus.ACCEPTED: 20, ComplaintStatus.MEDIATING: 6,
    ComplaintStatus.MEDIATED: 6, ComplaintStatus.REJECTED: 3, ComplaintStatus.CLOSED: 3,
    ComplaintStatus.MEDIATION_FAILED: 2,
}  # fmt: skip
BURST_START = 0.01  # per complaint, when no surge is running
BURST_SHARE = 0.5  # share of complaints that belong to the running surge


@dataclass(slots=True)
class _Burst:
    subject: int
    category: ComplaintCategory
    left: int


def complaint_draft(
    rng: random.Random,
    subject: Subject,
    category: ComplaintCategory,
    now: datetime,
    event_id: str,
    kind: ComplaintKind | None = None,
) -> Draft:
    """A 12315 record about ``subject``; channel, status, amount and product drawn from ``rng``.

    ``kind`` defaults to the platform's mix of complaints, reports and enquiries.
    Public so that scripted traffic sends exactly the simulated city's payloads.
    """
    payload: dict[str, Any] = {
        "event_id": event_id,
        "subject": subject.uscc,
        "kind": (kind or _weighted(rng, COMPLAINT_KINDS)).value,
        "category": category.value,
        "channel": _weighted(rng, CHANNELS).value,
        "region": subject.region,
        "sector": subject.sector.value,
        "received_at": timestamp(now),
        "status": _weighted(rng, STATUSES).value,
    }
    if category in AMOUNT_MEDIAN:
        median = AMOUNT_MEDIAN[category]
        payload["amount"] = round(rng.lognormvariate(math.log(median), 1.0), 2)
    if category in PRODUCTS and rng.random() < 0.6:
        payload["product"] = rng.choice(PRODUCTS[category])
    return Draft(COMPLAINTS_12315.name, subject, payload)


class _ComplaintStream:
    """12315 traffic; risky subjects sometimes get a surge in their sector's top category."""

    def __init__(self, rng: random.Random, subjects: Sequence[Subject]) -> None:
        self._rng = rng
        self._subjects = subjects
        self._sampler = _Sampler(
            subjects,
            lambda s: COMPLAINT_SECTOR_WEIGHT[s.sector] * COMPLAINT_PROFILE_WEIGHT[s.profile],
        )
        self._risky = [i for i, s in enumerate(subjects) if s.profile is not RiskProfile.CLEAN]
        self._burst: _Burst | None = None

    def draft(self, now: datetime, event_id: str) -> Draft:
        index, category = self._pick()
        return complaint_draft(self._rng, self._subjects[index], category, now, event_id)

    def _pick(self) -> tuple[int, ComplaintCategory]:
        rng = self._rng
        if self._burst is None and self._risky and rng.random() < BURST_START:
            index = rng.choice(self._risky)
            top = next(iter(SECTOR_CATEGORIES[self._subjects[index].sector]))
            self._burst = _Burst(index, top, rng.randint(10, 40))
        burst = self._burst
        if burst is not None and rng.random() < BURST_SHARE:
            burst.left -= 1
            if burst.left <= 0:
                self._burst = None
            return burst.subject, burst.category
        index = self._sampler.pick(rng)
        return index, _weighted(rng, SECTOR_CATEGORIES[self._subjects[index].sector])


# -------------------------------------------------------------- enforcement events

_K = EnforcementKind
_P = RiskProfile


class Target(Enum):
    """Who an event tends to hit: drives the subject sampling weights by risk profile."""

    RANDOM = {_P.CLEAN: 1.0, _P.HIGH: 2.0, _P.VERY_BAD: 3.0}  # 双随机, mildly tier-graded
    ADVERSE = {_P.CLEAN: 1.0, _P.HIGH: 8.0, _P.VERY_BAD: 20.0}
    SEVERE = {_P.CLEAN: 0.02, _P.HIGH: 10.0, _P.VERY_BAD: 50.0}
    GOOD = {_P.CLEAN: 1.0, _P.HIGH: 0.1, _P.VERY_BAD: 0.01}


# Relative frequency of each kind of enforcement record. Routine supervision
# (spot checks, minor and general penalties, rectification) dominates; serious
# penalties, dishonest-debtor rulings and revocations are rare.
PLAN_WEIGHTS: dict[str, float] = {
    "spot_check": 24,
    "penalty_minor": 11,
    "penalty_general": 7.6,
    "penalty_serious": 1.4,
    "rectification_ordered": 9,
    "rectification_completed": 7,
    "commitment_made": 9,
    "commitment_resolved": 7,
    "interview": 3,
    "tax_violation": 2,
    "abnormal_operation_listed": 3,
    "abnormal_operation_removed": 1.5,
    "court_dishonest_debtor": 0.7,
    "licence_suspended": 0.8,
    "licence_revoked": 0.2,
    "repair_applied": 2,
    "repair_completed": 1.5,
    "voluntary_registration": 4.5,
    "honour": 2.5,
    "objection_filed": 1,
    "objection_decided": 0.8,
}

SPOT_CHECK_RESULTS: dict[RiskProfile, dict[SpotCheckResult, float]] = {
    _P.CLEAN: {SpotCheckResult.PASSED: 90, SpotCheckResult.PROBLEMS_FOUND: 8,
               SpotCheckResult.NOT_FOUND_AT_ADDRESS: 2},
    _P.HIGH: {SpotCheckResult.PASSED: 45, SpotCheckResult.PROBLEMS_FOUND: 45,
              SpotCheckResult.NOT_FOUND_AT_ADDRESS: 10},
    _P.VERY_BAD: {SpotCheckResult.PASSED: 25, SpotCheckResult.PROBLEMS_FOUND: 55,
                  SpotCheckResult.NOT_FOUND_AT_ADDRESS: 20},
}  # fmt: skip
# Chance that a commitment is kept / an ordered rectification is completed.
KEEPS_PROMISES: dict[RiskProfile, float] = {_P.CLEAN: 0.95, _P.HIGH: 0.6, _P.VERY_BAD: 0.3}
#: Share of objections decided for the subject (the record is corrected).
UPHELD_SHARE = 0.3
COMMITMENT_KINDS = {
    CommitmentKind.APPROVAL_SUBSTITUTION: 50, CommitmentKind.VOLUNTARY: 25,
    CommitmentKind.INDUSTRY_SELF_DISCIPLINE: 15, CommitmentKind.CREDIT_REPAIR: 10,
}  # fmt: skip
PENALTY_AMOUNT: dict[Severity, tuple[float, float]] = {  # yuan, log-uniform
    Severity.MINOR: (200, 5_000),
    Severity.GENERAL: (5_000, 100_000),
    Severity.SERIOUS: (100_000, 2_000_000),
}
SECTOR_DEPARTMENT: dict[Sector, Department] = {
    Sector.FINANCE: Department.FINANCIAL_REGULATION,
    Sector.FOOD_DRUG: Department.MARKET_REGULATION,
    Sector.EDUCATION: Department.EDUCATION,
    Sector.ENVIRONMENT: Department.ECOLOGY_ENVIRONMENT,
    Sector.CONSTRUCTION: Department.HOUSING_CONSTRUCTION,
    Sector.PRODUCTION_SAFETY: Department.EMERGENCY_MANAGEMENT,
    Sector.ELDERLY_CHILDCARE: Department.HEALTH,
    Sector.URBAN_OPERATIONS: Department.HOUSING_CONSTRUCTION,
    Sector.OTHER: Department.MARKET_REGULATION,
}
KIND_DEPARTMENT: dict[EnforcementKind, Department] = {
    _K.COURT_DISHONEST_DEBTOR: Department.COURT,
    _K.TAX_VIOLATION: Department.TAXATION,
    _K.ABNORMAL_OPERATION_LISTED: Department.MARKET_REGULATION,
    _K.ABNORMAL_OPERATION_REMOVED: Department.MARKET_REGULATION,
    _K.VOLUNTARY_REGISTRATION: Department.GOVERNMENT_SERVICES,
    _K.REPAIR_APPLIED: Department.GOVERNMENT_SERVICES,
    _K.REPAIR_COMPLETED: Department.GOVERNMENT_SERVICES,
}
COMMITMENT_DEPARTMENT: dict[CommitmentKind, Department] = {
    CommitmentKind.APPROVAL_SUBSTITUTION: Department.GOVERNMENT_SERVICES,
    CommitmentKind.INDUSTRY_SELF_DISCIPLINE: Department.INDUSTRY_ASSOCIATION,
    CommitmentKind.CREDIT_REPAIR: Department.GOVERNMENT_SERVICES,
}
# Document numbers look like 石市监罚〔2026〕15号: issuing body, document type, year, serial.
DOCUMENT_PREFIX: dict[Department, str] = {
    Department.MARKET_REGULATION: "石市监",
    Department.ECOLOGY_ENVIRONMENT: "石环",
    Department.TAXATION: "石税稽",
    Department.COURT: "冀01执",
    Department.GOVERNMENT_SERVICES: "石审批",
    Department.HOUSING_CONSTRUCTION: "石建",
    Department.EMERGENCY_MANAGEMENT: "石应急",
    Department.EDUCATION: "石教",
    Department.HEALTH: "石卫",
    Department.FINANCIAL_REGULATION: "冀金",
    Department.INDUSTRY_ASSOCIATION: "石协",
}
DOCUMENT_TYPE: dict[EnforcementKind, str] = {
    _K.PENALTY: "罚",
    _K.LICENCE_SUSPENDED: "罚",
    _K.LICENCE_REVOKED: "罚",
    _K.TAX_VIOLATION: "罚",
    _K.SPOT_CHECK: "抽",
    _K.RECTIFICATION_ORDERED: "责改",
    _K.RECTIFICATION_COMPLETED: "责改",
    _K.COURT_DISHONEST_DEBTOR: "",
}
VIOLATIONS: dict[Sector, tuple[str, ...]] = {
    Sector.FOOD_DRUG: ("经营超过保质期的食品", "未按规定贮存冷藏食品", "从业人员未取得健康证明"),
    Sector.EDUCATION: ("未经许可开展学科类培训", "违规收取超过三个月的预付费用"),
    Sector.ENVIRONMENT: ("超标排放水污染物", "未正常运行大气污染防治设施"),
    Sector.CONSTRUCTION: ("施工现场扬尘防治措施不到位", "违法分包工程"),
    Sector.PRODUCTION_SAFETY: ("未按规定设置可燃气体报警装置", "特种作业人员无证上岗"),
    Sector.ELDERLY_CHILDCARE: ("未按规定配备护理人员", "消防设施不符合要求"),
    Sector.URBAN_OPERATIONS: ("燃气设施未定期检验", "擅自停止供气"),
    Sector.FINANCE: ("违规宣传理财产品收益", "未履行客户身份识别义务"),
    Sector.OTHER: ("虚假宣传", "未明码标价", "无照经营"),
}
DESCRIPTIONS: dict[EnforcementKind, str] = {
    _K.SPOT_CHECK: "双随机、一公开抽查",
    _K.COURT_DISHONEST_DEBTOR: "被人民法院纳入失信被执行人名单",
    _K.TAX_VIOLATION: "逾期未申报纳税",
    _K.ABNORMAL_OPERATION_LISTED: "通过登记的住所无法联系，列入经营异常名录",
    _K.ABNORMAL_OPERATION_REMOVED: "已更正住所信息，移出经营异常名录",
    _K.INTERVIEW: "信用约谈",
    _K.RECTIFICATION_ORDERED: "责令限期整改",
    _K.RECTIFICATION_COMPLETED: "整改完成，复查合格",
    _K.REPAIR_APPLIED: "申请信用修复",
    _K.REPAIR_COMPLETED: "信用修复完成，停止公示",
    _K.VOLUNTARY_REGISTRATION: "自愿注册资质证照与合同履约信息",
    _K.HONOUR: "守合同重信用企业",
    _K.OBJECTION_FILED: "对公示信息提出异议",
    _K.OBJECTION_DECIDED: "异议已核查处理",
    _K.LICENCE_SUSPENDED: "暂扣许可证",
    _K.LICENCE_REVOKED: "吊销许可证",
}


def department_for(kind: EnforcementKind, subject: Subject) -> Department:
    """The department that usually records ``kind`` about ``subject``."""
    return KIND_DEPARTMENT.get(kind) or SECTOR_DEPARTMENT[subject.sector]


def document_reference(
    department: Department, kind: EnforcementKind, now: datetime, serial: int
) -> str:
    """A document number like 石市监罚〔2026〕15号: issuing body, document type, year, serial."""
    issuer = DOCUMENT_PREFIX[department] + DOCUMENT_TYPE.get(kind, "信")
    return f"{issuer}〔{now.year}〕{serial}号"


def enforcement_draft(
    subject: Subject,
    kind: EnforcementKind,
    department: Department,
    now: datetime,
    event_id: str,
    reference: str | None = None,
    **fields: Any,
) -> Draft:
    """A department record about ``subject``; ``fields`` add or override payload fields.

    Public so that scripted traffic sends exactly the simulated city's payloads.
    """
    payload: dict[str, Any] = {
        "event_id": event_id,
        "subject": subject.uscc,
        "kind": kind.value,
        "occurred_at": timestamp(now),
        "department": department.value,
        "sector": subject.sector.value,
        "region": subject.region,
        "legal_rep_id": subject.legal_rep_id,
        "reference": reference,
        "description": DESCRIPTIONS.get(kind),
        "subject_type": _typed(subject),
        **fields,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return Draft(ENFORCEMENT_EVENTS.name, subject, payload)


def _typed(subject: Subject) -> str | None:
    """The subject's type as records carry it: left out for an enterprise (the default)."""
    kind = subject.subject_type
    return None if kind is SubjectType.ENTERPRISE else kind.value


#: When the simulated register says a subject's people took up their roles.
REGISTERED_SINCE = datetime(2019, 8, 1, tzinfo=SHANGHAI)


def role_drafts(subject: Subject, now: datetime, event_ids: Iterator[str]) -> list[Draft]:
    """The register's records of ``subject``'s responsible people (seed 十一)."""
    people = ((subject.legal_rep_id, PersonRole.LEGAL_REPRESENTATIVE), *subject.officers)
    drafts = []
    for person_id, role in people:
        payload = {
            "event_id": next(event_ids),
            "subject": subject.uscc,
            "person_id": person_id,
            "role": role.value,
            "held_from": timestamp(REGISTERED_SINCE),
            "recorded_at": timestamp(now),
            "region": subject.region,
            "sector": subject.sector.value,
            "subject_type": subject.subject_type.value,
        }
        drafts.append(Draft(REGISTRY_ROLES.name, subject, payload))
    return drafts


class _Chain(Enum):
    """Follow-up queues: an event that opens a case waits here for the one that closes it."""

    PROBLEMS_FOUND = "problems_found"  # spot check → rectification ordered
    RECTIFYING = "rectifying"  # ordered → completed
    COMMITTED = "committed"  # commitment made → fulfilled / breached
    REPAIRABLE = "repairable"  # penalty, ruling, breach → repair applied
    REPAIRING = "repairing"  # repair applied → completed
    PENALISED = "penalised"  # penalty → objection filed
    OBJECTING = "objecting"  # objection filed → decided
    ABNORMAL = "abnormal"  # listed → removed


@dataclass(frozen=True, slots=True)
class _Case:
    subject: int
    opened_by: str  # the event id a closing record names in concerns_event_id
    commitment_kind: CommitmentKind | None = None


class _EnforcementStream:
    """Department events, with cases that open and later close (seed 一, 十二, 十三, 十七)."""

    def __init__(self, rng: random.Random, subjects: Sequence[Subject]) -> None:
        self._rng = rng
        self._subjects = subjects
        self._samplers = {t: _Sampler(subjects, _profile_weight(t.value)) for t in Target}
        self._pending = {c: deque[_Case](maxlen=PENDING_LIMIT) for c in _Chain}
        self._serials: Counter[Department] = Counter()
        self._event_id = ""  # of the record being drafted: cases remember what opened them
        self._plans: dict[str, Callable[[datetime], dict[str, Any] | None]] = {
            name: getattr(self, f"_{name}") for name in PLAN_WEIGHTS
        }

    def draft(self, now: datetime, event_id: str) -> Draft:
        self._event_id = event_id
        plan = _weighted(self._rng, PLAN_WEIGHTS)
        # A closing event with no open case falls back to the commonest event.
        fields = self._plans[plan](now) or self._spot_check(now)
        subject = self._subjects[fields.pop("_subject")]
        kind = EnforcementKind(fields.pop("kind"))
        department = fields.pop("_department", None) or self._department(kind, subject)
        reference = self._reference(department, kind, now)
        return enforcement_draft(subject, kind, department, now, event_id, reference, **fields)

    # -- helpers

    def _pick(self, target: Target) -> int:
        return self._samplers[target].pick(self._rng)

    def _open(self, chain: _Chain, subject: int, **fields: Any) -> None:
        """A case opened by the record being drafted (or carried on from ``opened_by``)."""
        fields.setdefault("opened_by", self._event_id)
        self._pending[chain].append(_Case(subject, **fields))

    def _close(self, chain: _Chain) -> _Case | None:
        queue = self._pending[chain]
        return queue.popleft() if queue else None

    def _department(self, kind: EnforcementKind, subject: Subject) -> Department:
        if kind is _K.HONOUR and self._rng.random() < 0.3:  # HONOUR has no fixed department
            return Department.INDUSTRY_ASSOCIATION
        return department_for(kind, subject)

    def _reference(self, department: Department, kind: EnforcementKind, now: datetime) -> str:
        self._serials[department] += 1
        return document_reference(department, kind, now, self._serials[department])

    def _profile(self, index: int) -> RiskProfile:
        return self._subjects[index].profile

    @staticmethod
    def _event(index: int, kind: EnforcementKind, **fields: Any) -> dict[str, Any]:
        return {"_subject": index, "kind": kind.value, **fields}

    def _penalty(self, severity: Severity) -> dict[str, Any]:
        target = Target.SEVERE if severity is Severity.SERIOUS else Target.ADVERSE
        index = self._pick(target)
        low, high = PENALTY_AMOUNT[severity]
        amount = round(math.exp(self._rng.uniform(math.log(low), math.log(high))), -1)
        self._open(_Chain.PENALISED, index)
        if severity is not Severity.MINOR:  # minor penalties are not published: nothing to repair
            self._open(_Chain.REPAIRABLE, index)
        violation = self._rng.choice(VIOLATIONS[self._subjects[index].sector])
        return self._event(
            index, _K.PENALTY, severity=severity.value, amount=amount, description=violation
        )

    # -- plans: one method per PLAN_WEIGHTS entry

    def _spot_check(self, now: datetime) -> dict[str, Any]:
        index = self._pick(Target.RANDOM)
        result = _weighted(self._rng, SPOT_CHECK_RESULTS[self._profile(index)])
        if result is SpotCheckResult.PROBLEMS_FOUND:
            self._open(_Chain.PROBLEMS_FOUND, index)
        return self._event(index, _K.SPOT_CHECK, result=result.value)

    def _penalty_minor(self, now: datetime) -> dict[str, Any]:
        return self._penalty(Severity.MINOR)

    def _penalty_general(self, now: datetime) -> dict[str, Any]:
        return self._penalty(Severity.GENERAL)

    def _penalty_serious(self, now: datetime) -> dict[str, Any]:
        return self._penalty(Severity.SERIOUS)

    def _rectification_ordered(self, now: datetime) -> dict[str, Any]:
        case = self._close(_Chain.PROBLEMS_FOUND)
        index = case.subject if case else self._pick(Target.ADVERSE)
        self._open(_Chain.RECTIFYING, index)
        deadline = now + timedelta(days=self._rng.randint(15, 30))
        return self._event(index, _K.RECTIFICATION_ORDERED, deadline=timestamp(deadline))

    def _rectification_completed(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.RECTIFYING)
        if case is None or self._rng.random() > KEEPS_PROMISES[self._profile(case.subject)]:
            return None  # left undone: the deadline passes without a completion
        return self._event(
            case.subject, _K.RECTIFICATION_COMPLETED, concerns_event_id=case.opened_by
        )

    def _commitment_made(self, now: datetime) -> dict[str, Any]:
        index = self._pick(Target.RANDOM)
        kind = _weighted(self._rng, COMMITMENT_KINDS)
        self._open(_Chain.COMMITTED, index, commitment_kind=kind)
        deadline = now + timedelta(days=self._rng.randint(30, 180))
        return self._event(
            index,
            _K.COMMITMENT_MADE,
            commitment_kind=kind.value,
            deadline=timestamp(deadline),
            _department=COMMITMENT_DEPARTMENT.get(kind),
        )

    def _commitment_resolved(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.COMMITTED)
        if case is None or case.commitment_kind is None:
            return None
        kept = self._rng.random() < KEEPS_PROMISES[self._profile(case.subject)]
        if not kept:  # seed 四: a broken promise enters the credit record and can be repaired
            self._open(_Chain.REPAIRABLE, case.subject)
        return self._event(
            case.subject,
            _K.COMMITMENT_FULFILLED if kept else _K.COMMITMENT_BREACHED,
            commitment_kind=case.commitment_kind.value,
            concerns_event_id=case.opened_by,
            _department=COMMITMENT_DEPARTMENT.get(case.commitment_kind),
        )

    def _interview(self, now: datetime) -> dict[str, Any]:
        return self._event(self._pick(Target.ADVERSE), _K.INTERVIEW)

    def _tax_violation(self, now: datetime) -> dict[str, Any]:
        amount = round(math.exp(self._rng.uniform(math.log(1_000), math.log(500_000))), -1)
        return self._event(self._pick(Target.ADVERSE), _K.TAX_VIOLATION, amount=amount)

    def _abnormal_operation_listed(self, now: datetime) -> dict[str, Any]:
        index = self._pick(Target.ADVERSE)
        self._open(_Chain.ABNORMAL, index)
        return self._event(index, _K.ABNORMAL_OPERATION_LISTED)

    def _abnormal_operation_removed(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.ABNORMAL)
        return self._event(case.subject, _K.ABNORMAL_OPERATION_REMOVED) if case else None

    def _court_dishonest_debtor(self, now: datetime) -> dict[str, Any]:
        index = self._pick(Target.SEVERE)
        self._open(_Chain.REPAIRABLE, index)
        amount = round(math.exp(self._rng.uniform(math.log(50_000), math.log(5_000_000))), -2)
        return self._event(index, _K.COURT_DISHONEST_DEBTOR, amount=amount)

    def _licence_suspended(self, now: datetime) -> dict[str, Any]:
        return self._event(self._pick(Target.SEVERE), _K.LICENCE_SUSPENDED)

    def _licence_revoked(self, now: datetime) -> dict[str, Any]:
        return self._event(self._pick(Target.SEVERE), _K.LICENCE_REVOKED)

    def _repair_applied(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.REPAIRABLE)
        if case is None:
            return None
        self._open(_Chain.REPAIRING, case.subject, opened_by=case.opened_by)
        return self._event(case.subject, _K.REPAIR_APPLIED, concerns_event_id=case.opened_by)

    def _repair_completed(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.REPAIRING)
        if case is None:
            return None
        return self._event(case.subject, _K.REPAIR_COMPLETED, concerns_event_id=case.opened_by)

    def _voluntary_registration(self, now: datetime) -> dict[str, Any]:
        return self._event(self._pick(Target.GOOD), _K.VOLUNTARY_REGISTRATION)

    def _honour(self, now: datetime) -> dict[str, Any]:
        return self._event(self._pick(Target.GOOD), _K.HONOUR)

    def _objection_filed(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.PENALISED)
        if case is None:
            return None
        self._open(_Chain.OBJECTING, case.subject, opened_by=case.opened_by)
        return self._event(case.subject, _K.OBJECTION_FILED, concerns_event_id=case.opened_by)

    def _objection_decided(self, now: datetime) -> dict[str, Any] | None:
        case = self._close(_Chain.OBJECTING)
        if case is None:
            return None
        upheld = self._rng.random() < UPHELD_SHARE
        outcome = ObjectionOutcome.UPHELD if upheld else ObjectionOutcome.REJECTED
        return self._event(
            case.subject,
            _K.OBJECTION_DECIDED,
            concerns_event_id=case.opened_by,
            outcome=outcome.value,
        )


# ---------------------------------------------------------------------- simulator


class Simulator:
    """An endless, reproducible stream of input-topic messages for a synthetic city.

    Parameters
    ----------
    seed
        Seeds the population (when ``subjects`` is a size) and the traffic.
        Same seed and clock → byte-identical output.
    subjects
        A population size, or a population from
        :func:`~creditwatch.simulation.population.build_population`.
    clock
        Returns the (timezone-aware) event time of the next record; called once
        per record. :func:`wall_clock` for live traffic, :class:`SteppingClock`
        in tests.
    bad_ratio
        Share of records deliberately broken (see :mod:`.bad`).
    duplicate_ratio
        Share of records that are exact re-sends of a recent valid record.
    mix
        Relative weight of each input topic; defaults to :data:`DEFAULT_MIX`.

    >>> start = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    >>> sim = Simulator(seed=3, subjects=200, clock=SteppingClock(start))
    >>> [r.topic for r in sim.take(3)] == [r.topic for r in Simulator(
    ...     seed=3, subjects=200, clock=SteppingClock(start)).take(3)]
    True
    """

    def __init__(
        self,
        seed: int = 1,
        subjects: int | Sequence[Subject] = DEFAULT_SIZE,
        *,
        clock: Clock = wall_clock,
        bad_ratio: float = DEFAULT_BAD_RATIO,
        duplicate_ratio: float = DEFAULT_DUPLICATE_RATIO,
        mix: Mapping[str, float] | None = None,
    ) -> None:
        if not 0 <= bad_ratio <= 1 or not 0 <= duplicate_ratio <= 1:
            raise ValueError("bad_ratio and duplicate_ratio must lie in [0, 1]")
        population = build_population(seed, subjects) if isinstance(subjects, int) else subjects
        if not population:
            raise ValueError("the simulator needs at least one subject")
        self.subjects: Sequence[Subject] = population
        self.seed = seed
        self.bad_ratio = bad_ratio
        self.duplicate_ratio = duplicate_ratio
        self._clock = clock
        self._rng = random.Random(f"creditwatch-traffic-{seed}")
        self._iot = _IotStream(self._rng, population)
        self._complaints = _ComplaintStream(self._rng, population)
        self._enforcement = _EnforcementStream(self._rng, population)
        self._streams = {
            IOT_READINGS.name: self._iot.draft,
            COMPLAINTS_12315.name: self._complaints.draft,
            ENFORCEMENT_EVENTS.name: self._enforcement.draft,
        }
        self.mix = dict(mix or DEFAULT_MIX)
        if not self._iot.devices:  # a tiny population may own no sensor at all
            self.mix.pop(IOT_READINGS.name, None)
        self._recent: deque[OutboundRecord] = deque(maxlen=RECENT_FOR_DUPLICATES)

    def __iter__(self) -> Iterator[OutboundRecord]:
        while True:
            yield self.next_record()

    def registrations(self) -> list[OutboundRecord]:
        """The register's records of every subject's responsible people and type
        (``registry.roles``), to send once before the traffic. Their event ids come
        from a random stream of their own: the traffic is the same with or without."""
        ids = random.Random(f"creditwatch-registry-{self.seed}")
        event_ids = (str(uuid.UUID(int=ids.getrandbits(128), version=4)) for _ in itertools.count())
        now = self._now()
        return [
            OutboundRecord(draft.topic, draft.key, draft.encode())
            for subject in self.subjects
            for draft in role_drafts(subject, now, event_ids)
        ]

    def take(self, count: int) -> list[OutboundRecord]:
        """The next ``count`` records."""
        return [self.next_record() for _ in range(count)]

    def next_record(self) -> OutboundRecord:
        """One record: usually fresh and valid, sometimes bad or a re-send."""
        rng = self._rng
        if self._recent and rng.random() < self.duplicate_ratio:
            return replace(rng.choice(self._recent), duplicate=True)
        draft = self.draft()
        if rng.random() < self.bad_ratio:
            return self._corrupt(draft)
        record = OutboundRecord(draft.topic, draft.key, draft.encode())
        self._recent.append(record)
        return record

    def draft(self, topic: str | None = None) -> Draft:
        """A fresh valid record for ``topic`` (default: drawn from the mix), unencoded."""
        chosen = topic or _weighted(self._rng, self.mix)
        return self._streams[chosen](self._now(), self._event_id())

    def _corrupt(self, draft: Draft) -> OutboundRecord:
        reason = self._rng.choice(bad.REASONS_BY_TOPIC[draft.topic])
        other = self.subjects[self._rng.randrange(len(self.subjects))].key
        key, value = bad.corrupt(self._rng, draft.topic, draft.key, draft.payload, reason, other)
        return OutboundRecord(draft.topic, key, value, expected_valid=False, reason=reason.value)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the simulator clock must return timezone-aware datetimes")
        return now

    def _event_id(self) -> str:
        # From the seeded RNG, not uuid4(), so that output is reproducible.
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
