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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Any

from detectors.policy_values import REQUIRED, PolicyError, require
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Tier

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
    """Per-tier rules, a default plus optional per-county overrides (already merged)."""

    version: str
    default: dict[Tier, TierRule]
    regions: dict[str, dict[Tier, TierRule]] = field(default_factory=dict)

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
    return SpotCheckPolicy(version, default, regions)


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


@dataclass(frozen=True, slots=True)
class SpotSubject:
    """A market subject as the draw sees it."""

    uscc: str
    region: str
    sector: str
    tier: Tier
    triggered: bool = False  # a complaint or monitoring signal since the last round


@dataclass(frozen=True, slots=True)
class Inspector:
    """A law-enforcement officer on the roster (执法检查人员名录库)."""

    inspector_id: str
    name: str
    regions: frozenset[str]
    conflicts: frozenset[str] = frozenset()  # USCCs declared as conflicts of interest


@dataclass(frozen=True, slots=True)
class Task:
    """One subject to inspect and the two inspectors drawn for it."""

    subject: SpotSubject
    inspectors: tuple[str, str]
    reason: str  # "triggered" (tier A, eligible only when triggered) or "sampled"


@dataclass(frozen=True, slots=True)
class TierCount:
    """How one tier was drawn: subjects in the county, eligible, drawn, at what ratio."""

    subjects: int
    eligible: int
    drawn: int
    ratio: float
    rounds_per_year: int


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
                }
                for tier, c in self.counts.items()
            },
            "tasks": [
                {
                    "uscc": t.subject.uscc,
                    "sector": t.subject.sector,
                    "tier": t.subject.tier.value,
                    "reason": t.reason,
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


def draw_plan(
    subjects: Iterable[SpotSubject],
    roster: Iterable[Inspector],
    history: Mapping[str, Iterable[str]],
    region: str,
    date: Date,
    seed: int,
    policy: SpotCheckPolicy,
) -> Plan:
    """Draw one spot-check round in ``region``.

    Per tier, ``ratio`` of the eligible subjects (all of B, C, D; only triggered
    A subjects) are drawn without replacement, the count rounded stochastically
    (:func:`_draw_count`). Each drawn subject gets two distinct inspectors who
    cover ``region``, have not declared a conflict with it and are not in
    ``history[uscc]`` (inspected it recently). Subjects of other regions are
    ignored. Raises :class:`PairingImpossible` when a subject cannot be paired,
    ``ValueError`` on duplicate USCCs or inspector ids.

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
    # and Python versions, unlike hash().
    rng = random.Random(f"{seed}|{region}|{date.isoformat()}|{policy.version}")
    rules = policy.rules(region)
    counts: dict[Tier, TierCount] = {}
    drawn: list[SpotSubject] = []
    for tier in TIERS:
        of_tier = [s for s in in_region if s.tier is tier]
        eligible = [s for s in of_tier if s.triggered] if tier is Tier.A else of_tier
        rule = rules[tier]
        picked = rng.sample(eligible, _draw_count(rng, len(eligible), rule.ratio))
        drawn.extend(picked)
        counts[tier] = TierCount(
            len(of_tier), len(eligible), len(picked), rule.ratio, rule.rounds_per_year
        )

    # Pair in a random order, so which subject gets the scarcer inspectors is
    # not decided by its USCC; list the tasks by USCC.
    rng.shuffle(drawn)
    load = dict.fromkeys(ids, 0)
    tasks = [
        Task(
            subject,
            _pair(rng, subject, covering, frozenset(history.get(subject.uscc, ())), load),
            "triggered" if subject.tier is Tier.A else "sampled",
        )
        for subject in drawn
    ]
    tasks.sort(key=lambda t: t.subject.uscc)
    return Plan(region, date, seed, policy.version, tuple(tasks), counts)
