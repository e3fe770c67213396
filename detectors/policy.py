"""The versioned policy file: weights, thresholds and periods, validated at start-up.

Policy is data (style rule 6): the supervision centre changes numbers in a
TOML file, never code. :func:`load_policy` rejects a file that is incomplete or
inconsistent with a message naming the offending key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from detectors.alert_rules import (
    AlertRule,
    Dispositions,
    Severities,
    parse_dispositions,
    parse_severities,
)
from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get
from detectors.red_list_policy import RedListPolicy, parse_red_list
from detectors.supervision_policy import SupervisionPolicy, parse_supervision
from topics.vocabulary import KEY_SECTORS, SEVERITY_RANK, Disposition, Tier

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")
SECONDS_PER_DAY = 86_400.0
#: Longest window of days or weeks a detector keeps (a year of days).
MAX_WINDOW = 366
#: Days of complaints a subject's state keeps (detectors/state.py): a surge's
#: baseline cannot reach further back.
COMPLAINT_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Signal:
    """An adverse (positive points) or positive (negative points) credit record."""

    name: str
    points: float
    half_life_s: float
    cap: float
    floor: Tier | None = None
    floor_s: float = 0.0

    def decay(self, elapsed_s: float) -> float:
        """The factor by which one occurrence has faded after ``elapsed_s``."""
        return math.exp2(-elapsed_s / self.half_life_s) if elapsed_s > 0 else 1.0


@dataclass(frozen=True, slots=True)
class TierPolicy:
    b_from: float
    c_from: float
    d_from: float
    hysteresis: float


@dataclass(frozen=True, slots=True)
class SectorPolicy:
    """Seed 六: a key sector's weight on adverse records and the tier bounds it sets
    for itself (the others are [tiers]'s)."""

    adverse_weight: float
    bounds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ComplaintPolicy:
    points_each: float
    cap: float
    surge_min: int
    surge_ratio: float
    baseline_floor: float
    surge_days: int  # a surge is counted over this many days...
    baseline_days: int  # ...against what the days before it, back this far, predict


@dataclass(frozen=True, slots=True)
class IotPolicy:
    points_each: float
    cap: float
    alert_exceedances: int
    anomaly_threshold: float = 0.8
    anomaly_high: float = 0.9


@dataclass(frozen=True, slots=True)
class PeerPolicy:
    min_peers: int
    alert_spreads: float
    report_spreads: float
    spread_floor: dict[str, float]  # feature name -> least spread
    high_spreads: float  # this many spreads above the peers' mean: a strong outlier
    alert_surprise: float  # a count's -log10 tail chance under the peers' law, to flag it
    max_held_share: float  # of a group's members, held out of its statistics while flagged


@dataclass(frozen=True, slots=True)
class CrossSectorPolicy:
    window_s: float
    min_sources: int
    max_signals: int
    unusual_share: float  # a pair of departments expected in fewer findings is unusual


@dataclass(frozen=True, slots=True)
class CrossRegionPolicy:
    baseline_days: int  # a county's usual count (and the dispersion, and the season) is
    season_prior_complaints: float  # over this many days; a weekday's share is shrunk to 1
    warmup_days: int
    surge_min: int
    surge_surprise: float  # -log10 of the chance of today's count under the forecast
    min_expected: float  # a county's expected daily count is never taken below this
    min_counties: int
    high_counties: int  # this many surging counties: a widespread surge


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    cooldown_s: float
    auto_resolve_s: float
    critical_ack_sla_s: float
    max_open_per_subject: int
    severity: Severities
    disposition: Dispositions = field(default_factory=Dispositions)

    def disposition_of(self, rule: str | None, severity: str) -> Disposition:
        """Where an alert of ``rule`` at ``severity`` is shown; the board for an alert
        of no rule this policy knows (one written before rules had ids)."""
        if rule is None or rule not in self.disposition.of_rule:
            return Disposition.BOARD
        ordinary, strong = self.severity.of_rule[rule]
        graded = strong is not ordinary and SEVERITY_RANK[severity] >= SEVERITY_RANK[strong]
        return self.disposition.of(AlertRule(rule), graded)


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    base_score: float
    tiers: TierPolicy
    signals: dict[str, Signal]
    complaints: ComplaintPolicy
    iot: IotPolicy
    peers: PeerPolicy
    cross_sector: CrossSectorPolicy
    cross_region: CrossRegionPolicy
    alerts: AlertPolicy
    dedup_memory: int
    supervision: SupervisionPolicy
    red_list: RedListPolicy  # seed 九: the red list's entry rules and incentives
    sectors: dict[str, SectorPolicy]  # seed 六: the key sectors' weights and tier bounds
    digest: str = ""  # SHA-256 of the policy file's text: which file is in force
    # Each key sector's bounds merged with [tiers] once, not again for every record graded.
    _sector_tiers: dict[str, TierPolicy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged = {
            name: dataclasses.replace(self.tiers, **own.bounds)
            for name, own in self.sectors.items()
            if own.bounds
        }
        object.__setattr__(self, "_sector_tiers", merged)

    @property
    def alert_cooldown_s(self) -> float:
        return self.alerts.cooldown_s

    def tiers_for(self, sector: str) -> TierPolicy:
        """The tier bounds of ``sector`` (a key sector's own, else the policy's)."""
        return self._sector_tiers.get(sector, self.tiers)

    def weight(self, sector: str, signal: str) -> float:
        """How much a record of ``signal`` weighs in ``sector``: an adverse one the
        sector's weight (seed 六: the same penalty weighs more where harm is greater)."""
        own = self.sectors.get(sector)
        return own.adverse_weight if own is not None and self.adverse(signal) else 1.0

    def adverse(self, signal: str | None) -> bool:
        """Whether ``signal`` is an adverse credit record (positive points)."""
        spec = self.signals.get(signal) if signal is not None else None
        return spec is not None and spec.points > 0


def _signal(name: str, table: dict[str, Any]) -> Signal:
    where = f"signals.{name}."
    points = _get(table, "points", float, where)
    half_life_days = _get(table, "half_life_days", float, where)
    cap = _get(table, "cap", float, where)
    if half_life_days <= 0:
        raise PolicyError(f"policy: '{where}half_life_days' must be positive")
    if points == 0 or (cap / points) < 1:
        raise PolicyError(f"policy: '{where}cap' must have the sign of points and be >= points")
    floor = None
    floor_days = 0.0
    if "floor" in table:
        try:
            floor = Tier(_get(table, "floor", str, where))
        except ValueError:
            raise PolicyError(f"policy: '{where}floor' must be one of A, B, C, D") from None
        floor_days = _get(table, "floor_days", float, where)
        if floor_days <= 0:
            raise PolicyError(f"policy: '{where}floor_days' must be positive")
    return Signal(
        name, points, half_life_days * SECONDS_PER_DAY, cap, floor, floor_days * SECONDS_PER_DAY
    )


def _peers(table: dict[str, Any]) -> PeerPolicy:
    floors = _get(table, "spread_floor", dict, "peers.")
    peers = PeerPolicy(
        min_peers=_get(table, "min_peers", int, "peers."),
        alert_spreads=_get(table, "alert_spreads", float, "peers."),
        report_spreads=_get(table, "report_spreads", float, "peers."),
        spread_floor={name: _get(floors, name, float, "peers.spread_floor.") for name in floors},
        high_spreads=_get(table, "high_spreads", float, "peers."),
        alert_surprise=_get(table, "alert_surprise", float, "peers."),
        max_held_share=_get(table, "max_held_share", float, "peers."),
    )
    if peers.min_peers < 2 or not 0 < peers.report_spreads <= peers.alert_spreads:
        raise PolicyError("policy: need peers.min_peers >= 2, 0 < report_spreads <= alert_spreads")
    if peers.high_spreads < peers.alert_spreads:
        raise PolicyError("policy: need peers.high_spreads >= alert_spreads")
    if peers.alert_surprise < 0:
        raise PolicyError("policy: need peers.alert_surprise >= 0")
    if not 0 <= peers.max_held_share < 0.5:
        raise PolicyError("policy: need 0 <= peers.max_held_share < 0.5")
    if any(floor <= 0 for floor in peers.spread_floor.values()):
        raise PolicyError("policy: every peers.spread_floor must be positive")
    return peers


def _cross_sector(table: dict[str, Any]) -> CrossSectorPolicy:
    where = "cross_sector."
    policy = CrossSectorPolicy(
        window_s=_get(table, "window_days", float, where) * SECONDS_PER_DAY,
        min_sources=_get(table, "min_sources", int, where),
        max_signals=_get(table, "max_signals", int, where),
        unusual_share=_get(table, "unusual_share", float, where),
    )
    if policy.window_s <= 0 or policy.min_sources < 2 or policy.max_signals < policy.min_sources:
        raise PolicyError(
            "policy: need cross_sector.window_days > 0, min_sources >= 2 "
            "and max_signals >= min_sources"
        )
    if not 0 < policy.unusual_share < 1:
        raise PolicyError("policy: need 0 < cross_sector.unusual_share < 1")
    return policy


def _cross_region(table: dict[str, Any]) -> CrossRegionPolicy:
    where = "cross_region."
    policy = CrossRegionPolicy(
        baseline_days=_get(table, "baseline_days", int, where),
        season_prior_complaints=_get(table, "season_prior_complaints", float, where),
        warmup_days=_get(table, "warmup_days", int, where),
        surge_min=_get(table, "surge_min", int, where),
        surge_surprise=_get(table, "surge_surprise", float, where),
        min_expected=_get(table, "min_expected", float, where),
        min_counties=_get(table, "min_counties", int, where),
        high_counties=_get(table, "high_counties", int, where),
    )
    if not 1 <= policy.baseline_days <= MAX_WINDOW:
        raise PolicyError(f"policy: need 1 <= cross_region.baseline_days <= {MAX_WINDOW}")
    if policy.warmup_days < 0 or policy.surge_min < 1:
        raise PolicyError("policy: need cross_region.warmup_days >= 0 and surge_min >= 1")
    if policy.season_prior_complaints < 0 or policy.min_expected <= 0:
        raise PolicyError(
            "policy: need cross_region.season_prior_complaints >= 0 and min_expected > 0"
        )
    if policy.surge_surprise <= 0 or policy.min_counties < 2:
        raise PolicyError("policy: need cross_region.surge_surprise > 0 and min_counties >= 2")
    if policy.high_counties < policy.min_counties:
        raise PolicyError("policy: need cross_region.high_counties >= min_counties")
    return policy


def _alerts(table: dict[str, Any]) -> AlertPolicy:
    where = "alerts."
    severities = parse_severities(_get(table, "severity", dict, where))
    policy = AlertPolicy(
        cooldown_s=_get(table, "cooldown_days", float, where) * SECONDS_PER_DAY,
        auto_resolve_s=_get(table, "auto_resolve_days", float, where) * SECONDS_PER_DAY,
        critical_ack_sla_s=_get(table, "critical_ack_sla_minutes", float, where) * 60,
        max_open_per_subject=_get(table, "max_open_per_subject", int, where),
        severity=severities,
        disposition=parse_dispositions(_get(table, "disposition", dict, where), severities),
    )
    if min(policy.cooldown_s, policy.critical_ack_sla_s) <= 0 or policy.max_open_per_subject < 1:
        raise PolicyError(
            "policy: alerts.cooldown_days and critical_ack_sla_minutes must be positive, "
            "max_open_per_subject at least 1"
        )
    if policy.auto_resolve_s < policy.cooldown_s:
        raise PolicyError("policy: alerts.auto_resolve_days must be at least cooldown_days")
    return policy


#: The fields of [tiers], which a key sector may set for itself.
TIER_BOUNDS = ("b_from", "c_from", "d_from", "hysteresis")


def _tiers(table: dict[str, Any], where: str) -> TierPolicy:
    """Tier bounds from ``table``, checked."""
    tiers = TierPolicy(*(_get(table, k, float, where) for k in TIER_BOUNDS))
    if not 0 < tiers.b_from < tiers.c_from < tiers.d_from < 100:
        raise PolicyError(f"policy: '{where}' must satisfy 0 < b_from < c_from < d_from < 100")
    bounds = (0.0, tiers.b_from, tiers.c_from, tiers.d_from, 100.0)
    narrowest = min(upper - lower for lower, upper in zip(bounds, bounds[1:], strict=False))
    if not 0 <= tiers.hysteresis < narrowest / 2:
        raise PolicyError(
            f"policy: '{where}hysteresis' must be >= 0 and under half the narrowest tier "
            f"({narrowest / 2:g}), or a subject could never enter that tier by its score"
        )
    return tiers


def _sectors(table: dict[str, Any], tiers: TierPolicy) -> dict[str, SectorPolicy]:
    """Seed 六: each key sector's weight on adverse records and its tier bounds."""
    key = {s.value for s in KEY_SECTORS}
    if set(table) != key:
        missing, unknown = sorted(key - set(table)), sorted(set(table) - key)
        raise PolicyError(
            f"policy: 'sectors' must name the 8 key sectors; missing {missing}, unknown {unknown}"
        )
    sectors = {}
    for name, values in table.items():
        where = f"sectors.{name}."
        weight = _get(values, "adverse_weight", float, where)
        if not 0 < weight <= 5:
            raise PolicyError(f"policy: '{where}adverse_weight' must be within (0, 5]")
        bounds = {k: _get(values, k, float, where) for k in TIER_BOUNDS if k in values}
        _tiers({**dataclasses.asdict(tiers), **bounds}, where)  # checked with [tiers]
        sectors[name] = SectorPolicy(weight, bounds)
    return sectors


def parse_policy(document: dict[str, Any]) -> Policy:
    """Build a :class:`Policy` from a parsed TOML document, validating every value."""
    version = _get(document, "version", str, "")
    tiers = _tiers(_get(document, "tiers", dict, ""), "tiers.")
    complaints = _get(document, "complaints", dict, "")
    iot = _get(document, "iot", dict, "")
    signals = _get(document, "signals", dict, "")
    parsed_signals = {name: _signal(name, table) for name, table in signals.items()}
    policy = Policy(
        version=version,
        base_score=_get(_get(document, "score", dict, ""), "base", float, "score."),
        tiers=tiers,
        signals=parsed_signals,
        complaints=ComplaintPolicy(
            points_each=_get(complaints, "points_each", float, "complaints."),
            cap=_get(complaints, "cap", float, "complaints."),
            surge_min=_get(complaints, "surge_min", int, "complaints."),
            surge_ratio=_get(complaints, "surge_ratio", float, "complaints."),
            baseline_floor=_get(complaints, "baseline_floor", float, "complaints."),
            surge_days=_get(complaints, "surge_days", int, "complaints."),
            baseline_days=_get(complaints, "baseline_days", int, "complaints."),
        ),
        iot=IotPolicy(
            points_each=_get(iot, "points_each", float, "iot."),
            cap=_get(iot, "cap", float, "iot."),
            alert_exceedances=_get(iot, "alert_exceedances", int, "iot."),
            anomaly_threshold=_get(iot, "anomaly_threshold", float, "iot."),
            anomaly_high=_get(iot, "anomaly_high", float, "iot."),
        ),
        peers=_peers(_get(document, "peers", dict, "")),
        cross_sector=_cross_sector(_get(document, "cross_sector", dict, "")),
        cross_region=_cross_region(_get(document, "cross_region", dict, "")),
        alerts=_alerts(_get(document, "alerts", dict, "")),
        dedup_memory=_get(_get(document, "ingest", dict, ""), "dedup_memory", int, "ingest."),
        sectors=_sectors(_get(document, "sectors", dict, ""), tiers),
        supervision=parse_supervision(document, set(signals)),
        red_list=parse_red_list(
            _get(document, "red_list", dict, ""),
            {name: signal.points for name, signal in parsed_signals.items()},
        ),
    )
    # The workflows raise alerts too, and read only their part of the policy.
    policy = dataclasses.replace(
        policy,
        supervision=dataclasses.replace(policy.supervision, alert_severity=policy.alerts.severity),
    )
    complaint_days = (policy.complaints.surge_days, policy.complaints.baseline_days)
    if not 0 < complaint_days[0] < complaint_days[1] <= COMPLAINT_WINDOW_DAYS:
        raise PolicyError(
            "policy: need 0 < complaints.surge_days < baseline_days "
            f"<= {COMPLAINT_WINDOW_DAYS} (the days of complaints a subject's state keeps)"
        )
    if not 0 <= policy.base_score <= 100:
        raise PolicyError("policy: 'score.base' must be within 0..100")
    if not 0 < policy.iot.anomaly_threshold <= policy.iot.anomaly_high < 1:
        raise PolicyError("policy: need 0 < iot.anomaly_threshold <= iot.anomaly_high < 1")
    if policy.dedup_memory < 1:
        raise PolicyError("policy: 'ingest.dedup_memory' must be at least 1")
    return policy


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load the policy from ``path``, or the bundled default (a worker's
    ``CREDITWATCH_POLICY`` is read in ``streams/settings.py``)."""
    resolved = Path(path or DEFAULT_POLICY_PATH)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {resolved}") from None
    return policy_from_text(text, f"policy file {resolved}")


def policy_from_text(text: str, source: str = "the policy") -> Policy:
    """The policy a file's ``text`` holds (a proposed version arrives as text, not a
    file: pipeline/policy_versions.py); ``source`` names it in an error.

    >>> policy = policy_from_text(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    >>> policy.digest == load_policy().digest
    True
    >>> policy_from_text("tiers = 3", "proposal p1")
    Traceback (most recent call last):
    ...
    detectors.policy_values.PolicyError: policy: missing 'version'
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return dataclasses.replace(parse_policy(document), digest=digest)


@cache
def default_policy() -> Policy:
    """The bundled policy file, loaded once (a worker runs ``streams.settings.worker_policy``)."""
    return load_policy()
