"""Peer-group outliers: a subject whose risk features are far above its peers'.

Seed 十六 (风险预判预警): a restaurant with twelve complaints this month is
unremarkable in a district where restaurants average ten, and alarming where
they average none. Peers are the subjects of the same sector in the same county.

One :class:`PeerGroup` per group keeps, per feature, the sum and sum of squares
of its subjects' latest feature values, so the group's mean and spread are exact
over subjects (not over events, which would let busy subjects dominate) in
constant space: when a subject's features change it retracts its old values and
adds the new ones. A subject is judged against the group without itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from detectors.policy import PeerPolicy
from detectors.scoring import Score
from detectors.state import SubjectState
from topics.internal import Features

STATE_FORMAT = 1
FEATURES = ("score", "complaints_30d", "penalties", "iot_exceedances_24h")
PENALTY_SIGNALS = ("penalty_minor", "penalty_general", "penalty_serious")


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


@dataclass(frozen=True, slots=True)
class PeerFinding:
    peers: int
    deviations: tuple[PeerDeviation, ...]  # furthest first


@dataclass(slots=True)
class PeerGroup:
    """Feature sums over one peer group's subjects, and its recent outlier alerts."""

    subjects: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    squares: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    alerted: dict[str, float] = field(default_factory=dict)  # subject -> event time

    def update(self, old: Sequence[float] | None, new: Sequence[float] | None) -> None:
        """Replace a subject's features: ``old is None`` joins, ``new is None`` leaves."""
        self.subjects += (new is not None) - (old is not None)
        for i in range(len(FEATURES)):
            before = old[i] if old is not None else 0.0
            after = new[i] if new is not None else 0.0
            self.sums[i] += after - before
            self.squares[i] += after * after - before * before

    def assess(
        self,
        subject: str,
        features: Sequence[float],
        at_s: float,
        policy: PeerPolicy,
        cooldown_s: float,
    ) -> PeerFinding | None:
        """Judge a member (already counted by :meth:`update`) against the others."""
        peers = self.subjects - 1
        if peers < policy.min_peers:
            return None
        deviations = [
            deviation
            for i, name in enumerate(FEATURES)
            if (deviation := self._deviation(i, name, features[i], peers, policy)).spreads
            >= policy.report_spreads
        ]
        if not any(d.spreads >= policy.alert_spreads for d in deviations):
            return None
        for name in [s for s, t in self.alerted.items() if at_s - t >= cooldown_s]:
            del self.alerted[name]
        if subject in self.alerted:
            return None
        self.alerted[subject] = at_s
        deviations.sort(key=lambda d: -d.spreads)
        return PeerFinding(peers, tuple(deviations))

    def _deviation(
        self, i: int, name: str, value: float, peers: int, policy: PeerPolicy
    ) -> PeerDeviation:
        mean = (self.sums[i] - value) / peers
        variance = max(0.0, (self.squares[i] - value * value) / peers - mean * mean)
        spread = max(math.sqrt(variance), policy.spread_floor.get(name, 1.0))
        return PeerDeviation(name, value, round(mean, 3), round(spread, 3), (value - mean) / spread)

    # --- encoding: JSON of plain values, never pickle (it crosses processes).
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": STATE_FORMAT,
                "subjects": self.subjects,
                "sums": self.sums,
                "squares": self.squares,
                "alerted": self.alerted,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PeerGroup:
        document = orjson.loads(data)
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown peer-group format {document.get('format')!r}")
        return cls(
            subjects=int(document["subjects"]),
            sums=[float(v) for v in document["sums"]],
            squares=[float(v) for v in document["squares"]],
            alerted={k: float(v) for k, v in document["alerted"].items()},
        )
