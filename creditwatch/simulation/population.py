"""A seeded synthetic city: market subjects, their legal representatives and IoT devices.

The population is the "world" the simulator samples events from. Every subject
has a valid unified social credit code (GB 32100-2015), a sector among the key
fields of seed 六, a county of Shijiazhuang, a pseudonymous legal
representative (some run several subjects, which seed 十一's personal liability
is about) and a hidden risk profile that drives how often bad things happen to
it. Seed 十一's people and subject types come from a random stream of their
own (:func:`assign_people`), so adding them left every other draw as it was:
the type follows the USCC's registration code (个体工商户, 民办非企业单位) and a
few companies are state-owned; some companies have an actual controller, who
often controls several, and public-sector subjects a principal officer.
Nothing here is written to a topic except through the records built from it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from stdnum.cn import uscc as stdnum_uscc

from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Metric, PersonRole, Sector, SubjectType

DEFAULT_SIZE = 10_000
T = TypeVar("T")

# Characters allowed in the organisation-code part of a USCC (no I, O, Z, S, V).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997


class RiskProfile(StrEnum):
    """The hidden propensity to misbehave; never appears in any record."""

    CLEAN = "clean"
    HIGH = "high"
    VERY_BAD = "very_bad"


PROFILE_WEIGHTS: dict[RiskProfile, float] = {
    RiskProfile.CLEAN: 0.948,
    RiskProfile.HIGH: 0.045,
    RiskProfile.VERY_BAD: 0.007,
}  # with the multi-subject representatives below: about 5 % high, 1 % very bad overall
# People who run several companies are over-represented among bad actors
# (shell companies, re-registering after a revocation), hence a worse mix.
MULTI_REP_PROFILE_WEIGHTS: dict[RiskProfile, float] = {
    RiskProfile.CLEAN: 0.80,
    RiskProfile.HIGH: 0.14,
    RiskProfile.VERY_BAD: 0.06,
}
MULTI_REP_SHARE = 0.05  # seed 十一: share of representatives running 2–4 subjects
MULTI_REP_INHERIT = 0.7  # chance a subject shares its representative's profile

# A city's register is dominated by catering, retail and small shops (food_drug,
# other); finance and elderly/child care are few but sensitive.
SECTOR_WEIGHTS: dict[Sector, float] = {
    Sector.FOOD_DRUG: 0.22,
    Sector.FINANCE: 0.03,
    Sector.EDUCATION: 0.05,
    Sector.ENVIRONMENT: 0.05,
    Sector.CONSTRUCTION: 0.08,
    Sector.PRODUCTION_SAFETY: 0.07,
    Sector.ELDERLY_CHILDCARE: 0.03,
    Sector.URBAN_OPERATIONS: 0.04,
    Sector.OTHER: 0.43,
}

# Roughly proportional to the number of registered market subjects per county:
# the four central districts hold most of them.
REGION_WEIGHTS: dict[str, float] = {
    "130102": 10, "130104": 11, "130105": 10, "130107": 1.5, "130108": 11,
    "130109": 5, "130110": 5, "130111": 3.5, "130121": 2, "130123": 5,
    "130125": 2, "130126": 1.5, "130127": 1, "130128": 1, "130129": 1,
    "130130": 2, "130131": 2.5, "130132": 2, "130133": 2.5, "130171": 6,
    "130172": 1.5, "130181": 4, "130183": 3, "130184": 2.5,
}  # fmt: skip
assert set(REGION_WEIGHTS) == set(SHIJIAZHUANG_COUNTIES)
INDUSTRIAL_PARK = "130172"  # 循环化工园区: where polluters and hazardous plants cluster
URBAN_DISTRICTS = frozenset({"130102", "130104", "130105", "130108"})


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """How a kind of sensor behaves: its normal level, noise and regulatory limit."""

    metric: Metric
    prefix: str
    normal: float
    noise: float
    limit: float


# Levels are typical, limits are the usual regulatory or alarm thresholds:
# chilled food ≤ 8 °C, frozen ≤ -15 °C (GB 31605), discharge COD 60 mg/L,
# boiler NOx 150 mg/m3, CO alarm 24 ppm, construction-site PM2.5 alert 150 µg/m3,
# and "明厨亮灶" camera AI violations per hour.
CHILLED = DeviceSpec(Metric.COLD_CHAIN_TEMPERATURE, "CC", 3.5, 0.8, 8.0)
FROZEN = DeviceSpec(Metric.COLD_CHAIN_TEMPERATURE, "CF", -20.0, 1.2, -15.0)
COD = DeviceSpec(Metric.COD, "COD", 35.0, 6.0, 60.0)
NOX = DeviceSpec(Metric.NOX, "NOX", 80.0, 12.0, 150.0)
GAS = DeviceSpec(Metric.GAS_CONCENTRATION, "GAS", 4.0, 1.5, 24.0)
PM25 = DeviceSpec(Metric.PM25, "PM", 55.0, 15.0, 150.0)
CAMERA = DeviceSpec(Metric.CAMERA_AI_EVENT, "CAM", 0.3, 0.0, 3.0)

# (spec choices, share of the sector's subjects that have such a device)
SECTOR_DEVICES: dict[Sector, tuple[tuple[tuple[DeviceSpec, ...], float], ...]] = {
    Sector.FOOD_DRUG: (((CHILLED, FROZEN), 0.55), ((CAMERA,), 0.30)),
    Sector.ENVIRONMENT: (((COD,), 0.70), ((NOX,), 0.60)),
    Sector.PRODUCTION_SAFETY: (((GAS,), 0.75),),
    Sector.URBAN_OPERATIONS: (((GAS,), 0.40),),
    Sector.ELDERLY_CHILDCARE: (((CAMERA,), 0.50),),
    Sector.CONSTRUCTION: (((PM25,), 0.40),),
}


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    spec: DeviceSpec

    @property
    def metric(self) -> Metric:
        return self.spec.metric


@dataclass(frozen=True, slots=True)
class Subject:
    """One market subject of the synthetic city."""

    uscc: str
    sector: Sector
    region: str
    legal_rep_id: str
    profile: RiskProfile
    devices: tuple[Device, ...] = ()
    subject_type: SubjectType = SubjectType.ENTERPRISE
    # Seed 十一: people besides the legal representative, (person id, role).
    officers: tuple[tuple[str, PersonRole], ...] = ()

    @property
    def key(self) -> bytes:
        """Input topics are keyed by the subject's USCC."""
        return self.uscc.encode()


def organisation_code_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w
        for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, authority_type: str, region: str) -> str:
    """A valid 18-character USCC: authority+type, county, organisation code, check digit."""
    if rng.random() < 0.6:
        # Codes issued since 2015 start with "MA" followed by the alphabet's characters.
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    partial = authority_type + region + body + organisation_code_check(body)
    return partial + stdnum_uscc.calc_check_digit(partial)


def _authority_type(rng: random.Random, sector: Sector) -> str:
    """Registration authority and entity type codes (GB 32100 table 1)."""
    if sector in (Sector.EDUCATION, Sector.ELDERLY_CHILDCARE) and rng.random() < 0.4:
        return "52"  # 民政 / 民办非企业单位: private schools, care homes
    if sector is Sector.FINANCE:
        return "91"
    return _weighted(rng, {"91": 0.80, "92": 0.17, "93": 0.03})  # company / 个体户 / 农民合作社


def _weighted(rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _region(rng: random.Random, sector: Sector) -> str:
    weights = dict(REGION_WEIGHTS)
    if sector in (Sector.ENVIRONMENT, Sector.PRODUCTION_SAFETY):
        # Heavy industry sits in the chemical park and the counties, not downtown.
        weights[INDUSTRIAL_PARK] *= 8
        for code in URBAN_DISTRICTS:
            weights[code] *= 0.4
    return _weighted(rng, weights)


def _devices(rng: random.Random, sector: Sector, uscc: str) -> tuple[Device, ...]:
    devices: list[Device] = []
    for specs, share in SECTOR_DEVICES.get(sector, ()):
        if rng.random() < share:
            spec = rng.choice(specs)
            serial = len(devices) + 1
            devices.append(Device(f"{spec.prefix}-{uscc}-{serial:02d}", spec))
    return tuple(devices)


def _representatives(rng: random.Random, size: int) -> list[tuple[str, RiskProfile | None]]:
    """One (rep id, shared profile) slot per subject; multi-subject reps carry a profile."""
    slots: list[tuple[str, RiskProfile | None]] = []
    used: set[str] = set()
    while len(slots) < size:
        rep_id = f"LR{rng.randrange(10**9):09d}"
        if rep_id in used:
            continue
        used.add(rep_id)
        if rng.random() < MULTI_REP_SHARE:
            profile = _weighted(rng, MULTI_REP_PROFILE_WEIGHTS)
            slots.extend([(rep_id, profile)] * rng.randint(2, 4))
        else:
            slots.append((rep_id, None))
    rng.shuffle(slots)
    return slots[:size]


def build_population(seed: int = 1, size: int = DEFAULT_SIZE) -> list[Subject]:
    """A reproducible city of ``size`` subjects; the same seed gives the same city.

    >>> city = build_population(seed=7, size=50)
    >>> len({s.uscc for s in city}), city == build_population(seed=7, size=50)
    (50, True)
    """
    # A string seed is hashed with SHA-512, so it is stable across processes.
    rng = random.Random(f"creditwatch-population-{seed}")
    subjects: list[Subject] = []
    seen: set[str] = set()
    for rep_id, rep_profile in _representatives(rng, size):
        sector = _weighted(rng, SECTOR_WEIGHTS)
        region = _region(rng, sector)
        uscc = make_uscc(rng, _authority_type(rng, sector), region)
        while uscc in seen:
            uscc = make_uscc(rng, _authority_type(rng, sector), region)
        seen.add(uscc)
        if rep_profile is not None and rng.random() < MULTI_REP_INHERIT:
            profile = rep_profile
        else:
            profile = _weighted(rng, PROFILE_WEIGHTS)
        devices = _devices(rng, sector, uscc)
        subjects.append(Subject(uscc, sector, region, rep_id, profile, devices))
    return assign_people(subjects, seed)


#: Registration codes (GB 32100 table 1) that say the subject's type.
TYPE_OF_CODE = {"92": SubjectType.INDIVIDUAL_BUSINESS, "52": SubjectType.SOCIAL_ORGANISATION}
#: Share of companies that are state-owned: utilities (城市运行) far more often.
STATE_OWNED_SHARE = 0.02
STATE_OWNED_SHARE_URBAN = 0.30
#: Share of companies with an actual controller other than the representative, and
#: the chance that controller already controls another subject.
CONTROLLER_SHARE = 0.15
CONTROLLER_REUSE = 0.3


def assign_people(subjects: list[Subject], seed: int) -> list[Subject]:
    """Subject types and the people besides the legal representatives (seed 十一),
    from their own random stream: the rest of the city is drawn as before."""
    rng = random.Random(f"creditwatch-people-{seed}")
    controllers: list[str] = []
    typed = []
    for subject in subjects:
        kind = TYPE_OF_CODE.get(subject.uscc[:2], SubjectType.ENTERPRISE)
        urban = subject.sector is Sector.URBAN_OPERATIONS
        if kind is SubjectType.ENTERPRISE and rng.random() < (
            STATE_OWNED_SHARE_URBAN if urban else STATE_OWNED_SHARE
        ):
            kind = SubjectType.STATE_OWNED
        officers: tuple[tuple[str, PersonRole], ...] = ()
        if kind in (SubjectType.STATE_OWNED, SubjectType.SOCIAL_ORGANISATION):
            officers = ((f"PO{rng.randrange(10**9):09d}", PersonRole.PRINCIPAL_OFFICER),)
        elif kind is SubjectType.ENTERPRISE and rng.random() < CONTROLLER_SHARE:
            if controllers and rng.random() < CONTROLLER_REUSE:
                controller = rng.choice(controllers)
            else:
                controller = f"AC{rng.randrange(10**9):09d}"
                controllers.append(controller)
            officers = ((controller, PersonRole.ACTUAL_CONTROLLER),)
        typed.append(replace(subject, subject_type=kind, officers=officers))
    return typed


def all_devices(subjects: Sequence[Subject]) -> list[tuple[int, Device]]:
    """Every device with the index of the subject that owns it."""
    return [(i, d) for i, s in enumerate(subjects) for d in s.devices]
