"""The 双随机一公开 spot-check draw: random subjects per tier, two random inspectors each.

Seed 七 (graded supervision): the share of subjects drawn, and how often, is
lower for tier A, normal for B and higher for C and D; A subjects are "not
disturbed unless triggered", so only A subjects with a complaint or a
monitoring signal are eligible. The ratios are per-county data in
``detectors/spotcheck.toml`` (style rule 6), loaded by :func:`load_spotcheck_policy`.

:func:`draw_plan` is pure and deterministic: the same subjects, roster, history,
county, date, seed and policy version give the same plan, whatever the order of
the inputs. Publishing the plan and turning results into credit records are not
built here (``docs/spotcheck.md``).
"""

from __future__ import annotations

import math
import os
import random
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import timedelta
from pathlib import Path
from typing import Any

from detectors.policy_values import REQUIRED, PolicyError, require
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Department, Sector, Tier

DEFAULT_SPOTCHECK_PATH = Path(__file__).with_name("spotcheck.toml")
TIERS = (Tier.A, Tier.B, Tier.C, Tier.D)
INSPECTORS_PER_TASK = 2
LABEL = "spotcheck policy"  # how its errors name the file


class SpotCheckPolicyError(PolicyError):
    """The spot-check policy file is missing, malformed or inconsistent."""


class PairingImpossible(ValueError):
    """No two eligible inspectors are left for a drawn subject; the message says why."""


@dataclass(frozen=True, slots=True)
class TierRule:
    """One tier's share drawn per round and rounds per year."""

    ratio: float
    rounds_per_year: int


@dataclass(frozen=True, slots=True)
class SpotCheckPolicy:
    """Per-tier rules, a default plus optional per-county overrides (already merged).

    ``measure_factors``: a list measure in force on a subject multiplies its chance
    of being drawn (more for the key-attention list's ``more_spot_checks``, less for
    the red list's ``fewer_spot_checks``). ``departments``: the departments that
    draw their own sample in a round and the sectors each checks (None: every
    sector); empty, one draw covers everybody, as before departments were named.
    """

    version: str
    default: dict[Tier, TierRule]
    regions: dict[str, dict[Tier, TierRule]] = field(default_factory=dict)
    measure_factors: dict[str, float] = field(default_factory=dict)
    departments: dict[str, frozenset[str] | None] = field(default_factory=dict)

    def rules(self, region: str) -> dict[Tier, TierRule]:
        """The rules that apply in ``region``: its override, else the default."""
        return self.regions.get(region, self.default)


def _number(table: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    return require(table, key, kind, where, error=SpotCheckPolicyError, label=LABEL)


def _table(document: Mapping[str, Any], key: str, where: str, *, required: bool) -> dict[str, Any]:
    default = {} if not required else REQUIRED
    return require(document, key, dict, where, default, error=SpotCheckPolicyError, label=LABEL)


def _rules(
    document: Mapping[str, Any], where: str, base: dict[Tier, TierRule] | None
) -> dict[Tier, TierRule]:
    """Tier rules from ``document``; with ``base``, missing tiers inherit from it."""
    ratios = _table(document, "ratio", where, required=base is None)
    rounds = _table(document, "rounds_per_year", where, required=base is None)
    for name, table in (("ratio", ratios), ("rounds_per_year", rounds)):
        for key in table:
            if key not in Tier.__members__:
                raise SpotCheckPolicyError(
                    f"spotcheck policy: unknown tier '{where}{name}.{key}' (A, B, C or D)"
                )
    rules: dict[Tier, TierRule] = {}
    for tier in TIERS:
        key = tier.value
        if key in ratios:
            ratio = _number(ratios, key, f"{where}ratio.", float)
        elif base is not None:
            ratio = base[tier].ratio
        else:
            raise SpotCheckPolicyError(f"spotcheck policy: missing '{where}ratio.{key}'")
        if key in rounds:
            per_year = _number(rounds, key, f"{where}rounds_per_year.", int)
        elif base is not None:
            per_year = base[tier].rounds_per_year
        else:
            raise SpotCheckPolicyError(f"spotcheck policy: missing '{where}rounds_per_year.{key}'")
        if not 0.0 <= ratio <= 1.0:
            raise SpotCheckPolicyError(
                f"spotcheck policy: '{where}ratio.{key}' must be within 0..1, got {ratio!r}"
            )
        if per_year < 0:
            raise SpotCheckPolicyError(
                f"spotcheck policy: '{where}rounds_per_year.{key}' must be >= 0, got {per_year}"
            )
        rules[tier] = TierRule(ratio, per_year)
    # Seed 七: lower for A, normal for B, higher for C/D. A file that inverts the
    # order is almost certainly a typo, so refuse it rather than draw with it.
    for lower, higher in zip(TIERS, TIERS[1:], strict=False):
        for name, attr in (("ratio", "ratio"), ("rounds_per_year", "rounds_per_year")):
            if getattr(rules[higher], attr) < getattr(rules[lower], attr):
                raise SpotCheckPolicyError(
                    f"spotcheck policy: '{where}{name}.{higher.value}' must be at least "
                    f"'{where}{name}.{lower.value}' (A lower, B normal, C/D higher)"
                )
    return rules


def parse_spotcheck_policy(document: Mapping[str, Any]) -> SpotCheckPolicy:
    """Build a :class:`SpotCheckPolicy` from a parsed TOML document, validating every value."""
    if "version" not in document:
        raise SpotCheckPolicyError("spotcheck policy: missing 'version'")
    version = document["version"]
    if not isinstance(version, str) or not version:
        raise SpotCheckPolicyError(
            f"spotcheck policy: 'version' must be a non-empty str, got {version!r}"
        )
    default = _rules(document, "", None)
    factors = _table(document, "measures", "", required=False)
    for code in factors:
        factor = _number(factors, code, "measures.", float)
        if factor <= 0:
            raise SpotCheckPolicyError(
                f"spotcheck policy: 'measures.{code}' must be positive, got {factor!r}"
            )
    departments = {
        name: _department(name, sectors)
        for name, sectors in _table(document, "departments", "", required=False).items()
    }
    regions: dict[str, dict[Tier, TierRule]] = {}
    for code, table in _table(document, "region", "", required=False).items():
        where = f"region.{code}."
        if code not in SHIJIAZHUANG_COUNTIES:
            raise SpotCheckPolicyError(f"spotcheck policy: 'region.{code}' is not a county code")
        if not isinstance(table, dict):
            raise SpotCheckPolicyError(f"spotcheck policy: 'region.{code}' must be a table")
        unknown = set(table) - {"ratio", "rounds_per_year"}
        if unknown:
            raise SpotCheckPolicyError(
                f"spotcheck policy: unknown key '{where}{sorted(unknown)[0]}' "
                "(expected ratio, rounds_per_year)"
            )
        regions[code] = _rules(table, where, default)
    measure_factors = {code: float(factors[code]) for code in factors}
    return SpotCheckPolicy(version, default, regions, measure_factors, departments)


def _department(name: str, sectors: Any) -> frozenset[str] | None:
    """A department's sectors: a list of sector codes, or "all"."""
    where = f"departments.{name}"
    if name not in {d.value for d in Department}:
        raise SpotCheckPolicyError(f"spotcheck policy: '{where}' is not a department")
    if sectors == "all":
        return None
    known = {s.value for s in Sector}
    if not isinstance(sectors, list) or not sectors or not set(sectors) <= known:
        raise SpotCheckPolicyError(
            f"spotcheck policy: '{where}' must be \"all\" or a list of sectors, got {sectors!r}"
        )
    return frozenset(sectors)


def load_spotcheck_policy(path: str | os.PathLike[str] | None = None) -> SpotCheckPolicy:
    """Load the spot-check policy from ``path`` or the bundled default."""
    resolved = Path(path or DEFAULT_SPOTCHECK_PATH)
    try:
        document = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpotCheckPolicyError(f"spotcheck policy file not found: {resolved}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpotCheckPolicyError(
            f"spotcheck policy file {resolved} is not valid TOML: {exc}"
        ) from None
    return parse_spotcheck_policy(document)


def round_dates(
    year: int, rounds_per_year: int, next_working: Callable[[Date], Date] = lambda d: d
) -> list[Date]:
    """The dates of a tier's rounds in ``year``: evenly spaced from 1 January (round k on
    day ``k * days / rounds`` of the year), each moved to the next working day.

    The spacing nests: a tier drawn twice a year is drawn on two of the dates of a
    tier drawn four times, so tiers share rounds and visits can be joint.

    >>> [d.isoformat() for d in round_dates(2026, 4)]
    ['2026-01-01', '2026-04-02', '2026-07-02', '2026-10-01']
    >>> [d.isoformat() for d in round_dates(2026, 2)], round_dates(2026, 0)
    (['2026-01-01', '2026-07-02'], [])
    """
    first = Date(year, 1, 1)
    days = (Date(year + 1, 1, 1) - first).days
    return [
        next_working(first + timedelta(days=k * days // rounds_per_year))
        for k in range(rounds_per_year)
    ]


def schedule(
    rules: Mapping[Tier, TierRule], year: int, next_working: Callable[[Date], Date] = lambda d: d
) -> dict[Date, tuple[Tier, ...]]:
    """A county's rounds in ``year``: each date with the tiers drawn on it, in date order.

    >>> policy = load_spotcheck_policy()
    >>> {d.isoformat(): "".join(t.value for t in tiers)
    ...  for d, tiers in schedule(policy.default, 2026).items()}
    {'2026-01-01': 'ABCD', '2026-04-02': 'D', '2026-07-02': 'CD', '2026-10-01': 'D'}
    """
    rounds: dict[Date, list[Tier]] = {}
    for tier in TIERS:
        for day in round_dates(year, rules[tier].rounds_per_year, next_working):
            rounds.setdefault(day, []).append(tier)
    return {day: tuple(rounds[day]) for day in sorted(rounds)}


@dataclass(frozen=True, slots=True)
class SpotSubject:
    """A market subject as the draw sees it."""

    uscc: str
    region: str
    sector: str
    tier: Tier
    triggered: bool = False  # a complaint or monitoring signal since the last round
    measures: frozenset[str] = frozenset()  # codes of the list measures in force on it


@dataclass(frozen=True, slots=True)
class Inspector:
    """A law-enforcement officer on the roster (执法检查人员名录库)."""

    inspector_id: str
    name: str
    regions: frozenset[str]
    conflicts: frozenset[str] = frozenset()  # USCCs declared as conflicts of interest
    department: str | None = None  # None: sent on any department's visit


@dataclass(frozen=True, slots=True)
class Task:
    """One visit: a subject, the two inspectors drawn for it, and the departments whose
    checks it carries out together (进一次门、查多项事)."""

    subject: SpotSubject
    inspectors: tuple[str, str]
    reason: str  # "triggered" (tier A, eligible only when triggered) or "sampled"
    departments: tuple[str, ...] = ()  # that drew it (empty: a draw without departments)
    measures: tuple[str, ...] = ()  # the list measures that changed its chance

    def visit_id(self, region: str, day: Date) -> str:
        """What a department's result record cites (``reference``) to name the visit."""
        return f"{region}|{day.isoformat()}|{self.subject.uscc}"


@dataclass(frozen=True, slots=True)
class TierCount:
    """How one tier was drawn: subjects in the county, eligible, drawn, at what ratio."""

    subjects: int
    eligible: int
    drawn: int
    ratio: float
    rounds_per_year: int
    due: bool = True  # drawn in this round (a scheduled round draws only the tiers due)


@dataclass(frozen=True, slots=True)
class Plan:
    """A drawn round: tasks ordered by USCC, per-tier counts and what produced it."""

    region: str
    date: Date
    seed: int
    policy_version: str
    tasks: tuple[Task, ...]
    counts: dict[Tier, TierCount]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; field names are the plan file's contract."""
        return {
            "region": self.region,
            "date": self.date.isoformat(),
            "seed": self.seed,
            "policy_version": self.policy_version,
            "counts": {
                tier.value: {
                    "subjects": c.subjects,
                    "eligible": c.eligible,
                    "drawn": c.drawn,
                    "ratio": c.ratio,
                    "rounds_per_year": c.rounds_per_year,
                    "due": c.due,
                }
                for tier, c in self.counts.items()
            },
            "tasks": [
                {
                    "visit": t.visit_id(self.region, self.date),
                    "uscc": t.subject.uscc,
                    "sector": t.subject.sector,
                    "tier": t.subject.tier.value,
                    "reason": t.reason,
                    "departments": list(t.departments),
                    "measures": list(t.measures),
                    "inspectors": list(t.inspectors),
                }
                for t in self.tasks
            ],
        }


def _draw_count(rng: random.Random, eligible: int, ratio: float) -> int:
    """``eligible * ratio`` rounded stochastically: up with probability the fraction.

    The expected count is exactly ``eligible * ratio``, so a tier of 7 subjects at
    10 % is drawn once in 70 % of rounds instead of never (rounding down) or
    always (rounding up).
    """
    expected = eligible * ratio
    whole = math.floor(expected)
    return min(eligible, whole + (1 if rng.random() < expected - whole else 0))


def _pair(
    rng: random.Random,
    subject: SpotSubject,
    covering: list[Inspector],
    recent: frozenset[str],
    load: dict[str, int],
) -> tuple[str, str]:
    conflicted = {i.inspector_id for i in covering if subject.uscc in i.conflicts}
    repeated = {i.inspector_id for i in covering if i.inspector_id in recent} - conflicted
    eligible = [
        i.inspector_id
        for i in covering
        if i.inspector_id not in conflicted and i.inspector_id not in repeated
    ]
    if len(eligible) < INSPECTORS_PER_TASK:
        if len(covering) < INSPECTORS_PER_TASK:
            why = f"only {len(covering)} inspector(s) on the roster cover region {subject.region}"
        else:
            why = (
                f"of {len(covering)} inspectors covering region {subject.region}, "
                f"{len(conflicted)} declared a conflict ({', '.join(sorted(conflicted)) or '-'}) "
                f"and {len(repeated)} inspected it recently "
                f"({', '.join(sorted(repeated)) or '-'}), leaving {len(eligible)}"
            )
        raise PairingImpossible(
            f"cannot pair two inspectors for subject {subject.uscc} (tier {subject.tier}): {why}"
        )
    # Random among the least loaded, so one inspector is not sent on every task
    # while the draw stays random (双随机): first pick from those with the
    # fewest tasks so far, second likewise among the rest.
    chosen: list[str] = []
    for _ in range(INSPECTORS_PER_TASK):
        pool = [i for i in eligible if i not in chosen]
        least = min(load[i] for i in pool)
        pick = rng.choice([i for i in pool if load[i] == least])
        chosen.append(pick)
        load[pick] += 1
    first, second = sorted(chosen)
    return first, second


def _factor(subject: SpotSubject, policy: SpotCheckPolicy) -> tuple[float, tuple[str, ...]]:
    """How a subject's list measures change its chance, and which measures did."""
    applied = tuple(sorted(m for m in subject.measures if m in policy.measure_factors))
    return math.prod(policy.measure_factors[m] for m in applied), applied


def _sample(
    rng: random.Random, eligible: list[SpotSubject], ratio: float, policy: SpotCheckPolicy
) -> list[SpotSubject]:
    """Draw ``ratio`` of ``eligible``; subjects whose list measures change their chance are
    drawn apart, at the ratio times their factor (at most all of them)."""
    groups: dict[float, list[SpotSubject]] = {}
    for subject in eligible:
        groups.setdefault(_factor(subject, policy)[0], []).append(subject)
    picked: list[SpotSubject] = []
    for factor in sorted(groups):
        group = groups[factor]
        picked += rng.sample(group, _draw_count(rng, len(group), min(1.0, ratio * factor)))
    return picked


def draw_plan(
    subjects: Iterable[SpotSubject],
    roster: Iterable[Inspector],
    history: Mapping[str, Iterable[str]],
    region: str,
    date: Date,
    seed: int,
    policy: SpotCheckPolicy,
    tiers: Iterable[Tier] = TIERS,
) -> Plan:
    """Draw one spot-check round in ``region`` (of ``tiers``: the tiers due, all by default).

    Per department of the policy (one draw for all if it names none) and tier,
    ``ratio`` of the eligible subjects (all of B, C, D; only triggered A subjects;
    of the sectors the department checks) are drawn without replacement, the
    count rounded stochastically (:func:`_draw_count`); a subject with a list
    measure the policy weighs (``[measures]``) is drawn at the ratio times its
    factor. A subject drawn by several departments gets one joint visit
    (进一次门、查多项事). Each visit gets two distinct inspectors who cover
    ``region``, belong to one of its departments (or to none), have not declared a
    conflict with it and are not in ``history[uscc]`` (inspected it recently).
    Subjects of other regions are ignored. Raises :class:`PairingImpossible` when a
    subject cannot be paired, ``ValueError`` on duplicate USCCs or inspector ids.

    Examples
    --------
    >>> policy = load_spotcheck_policy()
    >>> subjects = [SpotSubject(f"S{i:03d}", "130102", "other", Tier.D) for i in range(50)]
    >>> roster = [Inspector(f"I{i}", f"inspector {i}", frozenset({"130102"})) for i in range(4)]
    >>> plan = draw_plan(subjects, roster, {}, "130102", Date(2026, 3, 1), 7, policy)
    >>> plan.counts[Tier.D].drawn, plan.counts[Tier.D].ratio
    (10, 0.2)
    >>> plan == draw_plan(subjects[::-1], roster[::-1], {}, "130102", Date(2026, 3, 1), 7, policy)
    True
    """
    in_region = sorted((s for s in subjects if s.region == region), key=lambda s: s.uscc)
    usccs = [s.uscc for s in in_region]
    if len(set(usccs)) != len(usccs):
        duplicate = next(u for u, v in zip(usccs, usccs[1:], strict=False) if u == v)
        raise ValueError(f"subject {duplicate} appears more than once")
    inspectors = sorted(roster, key=lambda i: i.inspector_id)
    ids = [i.inspector_id for i in inspectors]
    if len(set(ids)) != len(ids):
        duplicate = next(u for u, v in zip(ids, ids[1:], strict=False) if u == v)
        raise ValueError(f"inspector {duplicate} appears more than once on the roster")
    covering = [i for i in inspectors if region in i.regions]

    # A string seed is hashed (SHA-512) by random.Random: stable across processes
    # and Python versions, unlike hash(). Each department draws from its own stream.
    base = f"{seed}|{region}|{date.isoformat()}|{policy.version}"
    rng = random.Random(base)
    rules = policy.rules(region)
    due = frozenset(tiers)
    departments: dict[str | None, frozenset[str] | None] = dict(
        sorted(policy.departments.items())
    ) or {None: None}
    drawn_by: dict[str, list[str]] = {}  # uscc -> departments that drew it, in order
    eligible_in: dict[Tier, set[str]] = {tier: set() for tier in TIERS}
    for department, sectors in departments.items():
        draws = rng if department is None else random.Random(f"{base}|{department}")
        for tier in TIERS:
            eligible = [
                s
                for s in in_region
                if s.tier is tier
                and (s.triggered or tier is not Tier.A)
                and (sectors is None or s.sector in sectors)
            ]
            eligible_in[tier].update(s.uscc for s in eligible)
            if tier in due:
                for subject in _sample(draws, eligible, rules[tier].ratio, policy):
                    drawn_by.setdefault(subject.uscc, []).append(department or "")
    by_uscc = {s.uscc: s for s in in_region}
    counts = {
        tier: TierCount(
            sum(s.tier is tier for s in in_region),
            len(eligible_in[tier]),
            sum(by_uscc[u].tier is tier for u in drawn_by),
            rules[tier].ratio,
            rules[tier].rounds_per_year,
            tier in due,
        )
        for tier in TIERS
    }

    # Pair in a random order, so which subject gets the scarcer inspectors is
    # not decided by its USCC; list the tasks by USCC.
    drawn = [by_uscc[u] for u in drawn_by]
    rng.shuffle(drawn)
    load = dict.fromkeys(ids, 0)
    tasks = []
    for subject in drawn:
        visiting = tuple(sorted(d for d in drawn_by[subject.uscc] if d))
        sent = [
            i for i in covering if i.department is None or not visiting or i.department in visiting
        ]
        recent = frozenset(history.get(subject.uscc, ()))
        tasks.append(
            Task(
                subject,
                _pair(rng, subject, sent, recent, load),
                "triggered" if subject.tier is Tier.A else "sampled",
                visiting,
                _factor(subject, policy)[1],
            )
        )
    tasks.sort(key=lambda t: t.subject.uscc)
    return Plan(region, date, seed, policy.version, tuple(tasks), counts)
