"""Peer-group outliers: a subject whose risk features are far above its peers'.

Seed 十六 (风险预判预警): a restaurant with twelve complaints this month is
unremarkable in a district where restaurants average ten, and alarming where
they average none. Peers are the subjects of the same sector in the same county.

One :class:`PeerGroup` per group keeps, per feature, a River
:class:`~river.stats.Var` (Welford's running mean and variance) over its
subjects' *latest* values, so the statistics are over subjects, not events
(which would let busy subjects dominate), in constant space: when a subject's
features change, its old values are reverted and its new ones judged against
the others, then learned.

A subject is an outlier when a feature is far above the others in spreads
(``alert_spreads``, the spread never below the policy's floor) and, for a count
(complaints, IoT exceedances), improbable too: the count's tail surprise under
a law with the peers' mean and variance (:mod:`detectors.count_tails`) reaches
``alert_surprise``. Counts are skewed, so in a busy group a few subjects sit
three or four spreads up by chance; the tail knows that, the spreads do not.

The model is prequential and robust to the outliers
it finds: a subject it flags is *held out* of the statistics (remembered
apart, a bounded few per group) until its values are ordinary again, so one
outlier does not widen the spread that a second one is measured against, nor
become its own baseline.

>>> from detectors.policy import default_policy
>>> policy = default_policy()
>>> group = PeerGroup()
>>> for n in range(12):
...     _ = group.update(f"S{n}", None, (30.0, float(n % 3), 0.0, 0.0), 0.0, policy.peers, 0.0)
>>> finding = group.update("X", None, (31.0, 15.0, 0.0, 0.0), 0.0, policy.peers, 0.0)
>>> top = finding.deviations[0]
>>> finding.peers, top.feature, round(top.spreads, 1), round(top.surprise, 1)
(12, 'complaints_30d', 7.0, 12.5)
>>> sorted(group.held), group.members
(['X'], 13)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from river import stats

from detectors import river_codec
from detectors.count_tails import surprise
from detectors.policy import PeerPolicy
from detectors.scoring import Score
from detectors.state import SubjectState
from topics.internal import Features, PeerUpdate

STATE_FORMAT = 2
#: Format 1 (feature sums and sums of squares) is converted on load.
READABLE_FORMATS = (1, 2)
FEATURES = ("score", "complaints_30d", "penalties", "iot_exceedances_24h")
#: Features that count events: judged by their tail surprise as well.
COUNT_FEATURES = frozenset({"complaints_30d", "iot_exceedances_24h"})
PENALTY_SIGNALS = ("penalty_minor", "penalty_general", "penalty_serious")
#: The peers' variance is the sample variance (divisor n - 1): with the few
#: peers a small group has, the population variance would understate it.
DDOF = 1


def peer_group(sector: str, region: str) -> str:
    return f"{sector}|{region}"


def peer_features(state: SubjectState, score: Score) -> Features:
    """A subject's features as of its own clock (``score``: just computed for it, with
    its window counts), rounded so small drift is not news."""
    penalties = sum(state.signals.get(name, 0.0) for name in PENALTY_SIGNALS)
    return (
        round(score.value, 1),
        float(score.complaints_30d),
        round(penalties, 2),
        float(score.iot_exceedances_24h),
    )


@dataclass(frozen=True, slots=True)
class PeerDeviation:
    feature: str
    value: float
    peer_mean: float
    spread: float
    spreads: float  # (value - peer_mean) / spread
    surprise: float | None = None  # of a count far enough above: -log10 P(X >= value)

    def rounded(self) -> PeerDeviation:
        """As an alert shows it: the peers' mean and spread to three decimals."""
        return replace(self, peer_mean=round(self.peer_mean, 3), spread=round(self.spread, 3))

    def flags(self, policy: PeerPolicy) -> bool:
        """Far above the peers, and for a count improbable under their law too."""
        if self.spreads < policy.alert_spreads:
            return False
        return self.surprise is None or self.surprise >= policy.alert_surprise


@dataclass(frozen=True, slots=True)
class PeerFinding:
    peers: int
    deviations: tuple[PeerDeviation, ...]  # furthest first


def _fresh() -> list[stats.Var]:
    return [stats.Var(ddof=DDOF) for _ in FEATURES]


@dataclass(slots=True)
class PeerGroup:
    """Per-feature River statistics over one peer group's ordinary members, the members
    held out of them while flagged, and the group's recent outlier alerts."""

    features: list[stats.Var] = field(default_factory=_fresh)
    held: dict[str, Features] = field(default_factory=dict)  # subject -> latest features
    alerted: dict[str, float] = field(default_factory=dict)  # subject -> event time

    @property
    def counted(self) -> int:
        """Members in the statistics: the peers a member is judged against."""
        return round(self.features[0].n)

    @property
    def members(self) -> int:
        return self.counted + len(self.held)

    def apply(
        self, update: PeerUpdate, policy: PeerPolicy, cooldown_s: float
    ) -> PeerFinding | None:
        """:meth:`update` with a peer-features message's fields."""
        return self.update(update.subject, update.old, update.new, update.at_s, policy, cooldown_s)

    def update(
        self,
        subject: str,
        old: Sequence[float] | None,
        new: Sequence[float] | None,
        at_s: float,
        policy: PeerPolicy,
        cooldown_s: float,
    ) -> PeerFinding | None:
        """A subject's features changed from ``old`` to ``new`` (``old is None``: it joins,
        ``new is None``: it leaves). Judge ``new`` against the others, then learn it unless
        it is flagged; return a finding when it is an outlier not alerted within the cooldown.
        """
        if self.held.pop(subject, None) is None and old is not None:
            self._revert(old)
        if new is None:
            return None
        deviations = self.assess(new, policy)
        flagged = deviations is not None and any(d.flags(policy) for d in deviations)
        if flagged and len(self.held) < self._most_held(policy):
            self.held[subject] = tuple(new)
        else:
            self._learn(new)
        if not flagged or deviations is None:
            return None
        for name in [s for s, t in self.alerted.items() if at_s - t >= cooldown_s]:
            del self.alerted[name]
        if subject in self.alerted:
            return None
        self.alerted[subject] = float(at_s)
        reported = tuple(d.rounded() for d in deviations if d.spreads >= policy.report_spreads)
        return PeerFinding(self.counted, reported)

    def assess(self, values: Sequence[float], policy: PeerPolicy) -> list[PeerDeviation] | None:
        """How far ``values`` are above the counted members, furthest first; ``None`` while
        the group has fewer than the policy's minimum of peers. Changes nothing."""
        if self.counted < policy.min_peers:
            return None
        deviations = [
            self._deviation(var, name, values[i], policy)
            for i, (name, var) in enumerate(zip(FEATURES, self.features, strict=True))
        ]
        deviations.sort(key=lambda d: -d.spreads)
        return deviations

    def _most_held(self, policy: PeerPolicy) -> int:
        """Members that may be held out at once: a share of the group, at least one. Beyond
        it the group itself is changing, and its statistics must follow."""
        return max(1, math.floor(policy.max_held_share * (self.members + 1)))

    def _learn(self, values: Sequence[float]) -> None:
        for var, x in zip(self.features, values, strict=True):
            var.update(x)

    def _revert(self, values: Sequence[float]) -> None:
        if self.counted == 0:
            return  # values this state never learned (say, it was lost): nothing to take back
        for var, x in zip(self.features, values, strict=True):
            var.revert(x)
            if var.n <= 0:  # Welford's revert leaves rounding dust behind at zero
                var.mean.n, var.mean._mean, var._S = 0.0, 0.0, 0.0

    @staticmethod
    def _deviation(var: stats.Var, name: str, value: float, policy: PeerPolicy) -> PeerDeviation:
        mean, variance = var.mean.get(), max(var.get(), 0.0)
        spread = max(math.sqrt(variance), policy.spread_floor.get(name, 1.0))
        spreads = (value - mean) / spread
        tail = None  # computed only where it can matter: it costs a sum
        if name in COUNT_FEATURES and spreads >= policy.alert_spreads:
            tail = surprise(value, mean, variance)
        return PeerDeviation(name, value, mean, spread, spreads, tail)

    # --- encoding: JSON, the River parts through the allow-listed codec, never pickle.
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": STATE_FORMAT,
                "features": [river_codec.encode(var) for var in self.features],
                "held": self.held,
                "alerted": self.alerted,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PeerGroup:
        document = orjson.loads(data)
        version = document.get("format") if isinstance(document, dict) else None
        if version not in READABLE_FORMATS:
            raise ValueError(f"unknown peer-group format {version!r}")
        alerted = {str(k): float(v) for k, v in document["alerted"].items()}
        if version == 1:
            return cls(_from_sums(document), {}, alerted)
        features = [river_codec.decode(v, stats.Var) for v in document["features"]]
        if len(features) != len(FEATURES):
            raise ValueError(f"a peer group has {len(FEATURES)} features, not {len(features)}")
        held = {str(s): _features(v) for s, v in document["held"].items()}
        return cls(features, held, alerted)


def _features(values: Any) -> Features:
    if not isinstance(values, list) or len(values) != len(FEATURES):
        raise ValueError(f"held features must be a list of {len(FEATURES)} numbers")
    return tuple(river_codec.to_float(x, "held features") for x in values)


def _from_sums(document: dict[str, Any]) -> list[stats.Var]:
    """Format 1's sums and sums of squares as River statistics over the same subjects.

    Format 1 held no flagged subjects apart, so every member is counted.
    """
    n = float(document["subjects"])
    features = _fresh()
    for var, total, squares in zip(features, document["sums"], document["squares"], strict=True):
        if n > 0:
            mean = float(total) / n
            var.mean.n, var.mean._mean = n, mean
            var._S = max(0.0, float(squares) - n * mean * mean)
    return features
