"""Which departments' adverse records usually meet in one sector's cross-sector findings.

Seed 十六's cross-sector warning has two parts. The linkage is a rule
(:mod:`detectors.cross_sector`): adverse records from two or more departments
about one subject, or one legal representative's subjects, within a window.
Whether the *combination* is unusual is a question about the sector: a
restaurant fined by market regulation and by the tax office is a pattern
inspectors see every week; one fined by market regulation and listed by a court
as a dishonest debtor is not. :class:`DepartmentMix`, one per sector, answers
it with a River :class:`~river.proba.Multinomial` over the department pairs of
the sector's findings.

A finding's combination is judged by its rarest pair. A pair seen in ``k`` of
the sector's ``n`` earlier findings is expected in ``(k + 1) / (n + 2)`` of
them (Laplace's rule: a uniform prior on its rate); under ``unusual_share`` it
is unusual. The prior makes a young sector's model modest by itself: with
fewer than ``1 / unusual_share - 2`` findings nothing is unusual, so a new
sector raises no storm. Prequential: a finding is judged before it is learned,
and an unusual one is not learned, so a pattern stays unusual for its sector
instead of making itself ordinary.

>>> from detectors.policy import default_policy
>>> policy = default_policy().cross_sector
>>> mix = DepartmentMix()
>>> for _ in range(40):
...     _ = mix.observe(("market_regulation", "taxation"), policy)
>>> mix.observe(("market_regulation", "taxation"), policy).unusual
False
>>> odd = mix.observe(("market_regulation", "court"), policy)
>>> odd.unusual, odd.pair, odd.seen, odd.findings
(True, ('court', 'market_regulation'), 0, 41)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import orjson
from river import proba

from detectors import river_codec
from detectors.policy import CrossSectorPolicy

STATE_FORMAT = 1
PAIR_JOINER = "+"


def pairs_of(departments: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of distinct departments, each sorted.

    >>> pairs_of(["taxation", "court", "taxation"])
    [('court', 'taxation')]
    """
    return list(combinations(sorted(set(departments)), 2))


@dataclass(frozen=True, slots=True)
class MixAssessment:
    """How usual a finding's combination of departments is for its sector."""

    pair: tuple[str, str]  # its rarest pair
    seen: int  # earlier findings of the sector with that pair
    findings: int  # earlier findings of the sector
    share: float  # the pair's expected share of findings, (seen + 1) / (findings + 2)
    unusual: bool


@dataclass(slots=True)
class DepartmentMix:
    """One sector's cross-sector findings: how often each pair of departments met in one."""

    pairs: proba.Multinomial = field(default_factory=proba.Multinomial)
    findings: int = 0

    def assess(self, departments: Sequence[str], policy: CrossSectorPolicy) -> MixAssessment | None:
        """The combination's rarest pair and whether it is unusual; ``None`` for fewer than two
        departments (a pattern across sectors from one department has no pair)."""
        pairs = pairs_of(departments)
        if not pairs:
            return None
        seen, pair = min((self.pairs.counts[PAIR_JOINER.join(p)], p) for p in pairs)
        share = (seen + 1) / (self.findings + 2)
        return MixAssessment(pair, seen, self.findings, share, share < policy.unusual_share)

    def learn(self, departments: Sequence[str]) -> None:
        for pair in pairs_of(departments):
            self.pairs.update(PAIR_JOINER.join(pair))
        self.findings += 1

    def observe(
        self, departments: Sequence[str], policy: CrossSectorPolicy
    ) -> MixAssessment | None:
        """Judge a finding's combination, then learn it unless it is unusual."""
        assessment = self.assess(departments, policy)
        if assessment is not None and not assessment.unusual:
            self.learn(departments)
        return assessment

    # --- encoding: JSON, the River part through the allow-listed codec, never pickle.
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": STATE_FORMAT,
                "findings": self.findings,
                "pairs": river_codec.encode(self.pairs),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DepartmentMix:
        document = orjson.loads(data)
        if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
            raise ValueError("unknown department-mix format")
        findings = document["findings"]
        if isinstance(findings, bool) or not isinstance(findings, int) or findings < 0:
            raise ValueError("department-mix findings must be a count")
        return cls(river_codec.decode(document["pairs"], proba.Multinomial), findings)
