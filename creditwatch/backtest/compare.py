"""What two policies made of one history, and where they differ.

An :class:`Outcome` is one policy's result at the end of the replay: each
subject's tier (with its county and sector), the tier changes and list
changes it published, who is on a list, and the alerts it opened, by kind and
by what became of them (board, digest, case: ``[alerts.disposition]``, counted
as :mod:`creditwatch.evaluation.alert_budget` counts them). A
:class:`Comparison` sets two outcomes side by side; the same policy twice
compares :attr:`~Comparison.unchanged`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from typing import Literal

from creditwatch.backtest.replay import Replay
from creditwatch.evaluation.alert_budget import OUTCOMES, AlertBudget
from creditwatch.evaluation.scenario_offline import OfflinePipeline
from detectors.scoring import TIER_ORDER
from topics.vocabulary import Tier

TIERS = tuple(t.value for t in TIER_ORDER)
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Graded:
    """A subject at the end of the replay."""

    tier: str
    region: str  # county code
    sector: str


@dataclass(frozen=True)
class Outcome:
    """What one policy made of the history."""

    version: str
    digest: str  # SHA-256 of the policy file
    source: str  # where it was loaded from
    graded: dict[str, Graded]  # by subject
    first_grades: int  # tier changes that graded a subject for the first time
    tier_moves: Counter[tuple[str, str]]  # the other tier changes, by (previous, tier)
    list_changes: Counter[tuple[str, str]]  # by (list, action)
    listed: frozenset[tuple[str, str]]  # (subject, list) on the list at the end
    alerts: Counter[tuple[str, str]]  # by (kind, outcome), outcomes as in the alert budget
    budget: AlertBudget

    @classmethod
    def of(cls, pipeline: OfflinePipeline, source: str, days: float, records: int) -> Outcome:
        run, states, policy = pipeline.run, pipeline.states, pipeline.context.policy
        graded = {
            subject: Graded(state.tier, state.region, state.sector)
            for subject, state in states.subjects.items()
            if state.tier is not None
        }
        listed = frozenset(
            (subject, kind)
            for subject, case in states.cases.items()
            for kind, listing in case.listings.items()
            if listing.active
        )
        alerts: Counter[tuple[str, str]] = Counter()
        for ((kind, _rule, _severity), outcome), count in run.tally.counts.items():
            alerts[kind, outcome] += count
        first = sum(n for (previous, _), n in run.tier_changes.items() if previous is None)
        moves: Counter[tuple[str, str]] = Counter(
            {(p, t): n for (p, t), n in run.tier_changes.items() if p is not None}
        )
        return cls(
            version=policy.version,
            digest=policy.digest,
            source=source,
            graded=graded,
            first_grades=first,
            tier_moves=moves,
            list_changes=Counter((c.list.value, c.action.value) for c in run.list_changes),
            listed=listed,
            alerts=alerts,
            budget=run.tally.budget(len(graded), days, records),
        )

    def tier_counts(self) -> Counter[str]:
        return Counter(g.tier for g in self.graded.values())


@dataclass(frozen=True, slots=True)
class Move:
    """A subject whose tier at the end differs between the policies."""

    subject: str
    region: str
    sector: str
    current: str  # its tier under the current policy
    new: str  # and under the new one

    @property
    def riskier(self) -> bool:
        return TIER_ORDER.index(Tier(self.new)) > TIER_ORDER.index(Tier(self.current))


@dataclass(frozen=True, slots=True)
class Area:
    """Subjects of one county (or sector) and how many of them the new policy moves."""

    code: str
    subjects: int
    riskier: int
    safer: int


@dataclass(frozen=True)
class Comparison:
    """The current and the new policy's outcomes over the same records."""

    current: Outcome
    new: Outcome
    records: int
    first: datetime | None  # event time of the first record replayed
    last: datetime | None
    rejected: dict[str, int] = field(default_factory=dict)  # stored records not replayed

    @property
    def days(self) -> float:
        return self.current.budget.days

    @property
    def subjects(self) -> int:
        return len(self.current.graded)

    @cached_property
    def moves(self) -> list[Move]:
        """Every subject whose tier at the end differs, by subject."""
        moved = []
        for subject, now in sorted(self.current.graded.items()):
            then = self.new.graded.get(subject)
            if then is not None and then.tier != now.tier:
                moved.append(Move(subject, now.region, now.sector, now.tier, then.tier))
        return moved

    def tiers(self) -> list[tuple[str, int, int]]:
        """(tier, subjects in it under the current policy, under the new) at the end."""
        current, new = self.current.tier_counts(), self.new.tier_counts()
        return [(tier, current[tier], new[tier]) for tier in TIERS]

    def transitions(self) -> Counter[tuple[str, str]]:
        """Moved subjects by (tier under the current policy, under the new)."""
        return Counter((m.current, m.new) for m in self.moves)

    def areas(self, by: Literal["region", "sector"]) -> list[Area]:
        """Per county (``region``) or sector: its subjects and their moves, by code."""
        subjects = Counter(getattr(g, by) for g in self.current.graded.values())
        riskier = Counter(getattr(m, by) for m in self.moves if m.riskier)
        safer = Counter(getattr(m, by) for m in self.moves if not m.riskier)
        return [Area(code, n, riskier[code], safer[code]) for code, n in sorted(subjects.items())]

    def tier_changes(self) -> list[tuple[str, int, int]]:
        """Tier changes published: ("first", first grades), then ("riskier", …), ("safer", …)."""
        rows = [("first", self.current.first_grades, self.new.first_grades)]
        for direction, riskier in (("riskier", True), ("safer", False)):
            counts = [
                sum(
                    n
                    for (previous, tier), n in outcome.tier_moves.items()
                    if (TIER_ORDER.index(Tier(tier)) > TIER_ORDER.index(Tier(previous))) == riskier
                )
                for outcome in (self.current, self.new)
            ]
            rows.append((direction, counts[0], counts[1]))
        return rows

    def list_changes(self) -> list[tuple[str, str, int, int]]:
        """(list, action, under the current policy, under the new): entries and exits."""
        keys = sorted(set(self.current.list_changes) | set(self.new.list_changes))
        return [(k[0], k[1], self.current.list_changes[k], self.new.list_changes[k]) for k in keys]

    def listed(self) -> list[tuple[str, int, int, int, int]]:
        """Per list: subjects on it at the end under each policy, then how many are on it
        only under the new policy, and only under the current one."""
        kinds = sorted({k for _, k in self.current.listed | self.new.listed})
        rows = []
        for kind in kinds:
            now = {s for s, k in self.current.listed if k == kind}
            then = {s for s, k in self.new.listed if k == kind}
            rows.append((kind, len(now), len(then), len(then - now), len(now - then)))
        return rows

    def alerts(self) -> list[tuple[str, str, int, int]]:
        """(kind, outcome, under the current policy, under the new), outcomes in the budget's
        order; only those either policy has."""
        keys = set(self.current.alerts) | set(self.new.alerts)
        ordered = sorted(keys, key=lambda k: (k[0], OUTCOMES.index(k[1])))
        return [(k[0], k[1], self.current.alerts[k], self.new.alerts[k]) for k in ordered]

    @property
    def unchanged(self) -> bool:
        """Whether the new policy changes nothing the report shows."""
        pairs = [
            *((a, b) for _, a, b in self.tiers()),
            *((a, b) for _, a, b in self.tier_changes()),
            *((a, b) for _, _, a, b in self.list_changes()),
            *((a, b) for _, _, a, b in self.alerts()),
        ]
        moved_lists = any(only_new or only_current for *_, only_new, only_current in self.listed())
        return not self.moves and not moved_lists and all(a == b for a, b in pairs)


def compare(done: Replay, current_source: str, new_source: str, zone: tzinfo = UTC) -> Comparison:
    """The two pipelines' outcomes after a replay, side by side; times shown in ``zone``."""
    first, last = done.first, done.last
    days = 0.0
    if first is not None and last is not None:
        days = (last - first).total_seconds() / SECONDS_PER_DAY
        first, last = first.astimezone(zone), last.astimezone(zone)
    return Comparison(
        Outcome.of(done.current, current_source, days, done.records),
        Outcome.of(done.new, new_source, days, done.records),
        done.records,
        first,
        last,
        dict(done.rejected),
    )
