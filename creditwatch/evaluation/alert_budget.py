"""The alert budget: how many items a supervision centre sees, per 1,000 subjects per day.

Counted from the alert snapshots on ``risk.alerts``, each alert once, by the
snapshot that opened it (its kind, rule and severity then), and sorted by what
became of it (docs/alerts.md):

* **board**: an alert of its own on the live board (disposition ``board``, not muted);
* **digests**: daily digests on the board, each standing for a day's alerts of one
  rule in one county;
* **in digests**: alerts counted in a digest instead of standing on the board;
* **case**: alerts kept in the subject's case (its profile and history) only;
* **muted**: alerts recorded but muted by a silence or an inhibiting alert;
* **repeats**: snapshots of an open alert seen again: folded into its count, no new item
  (a digest's growing count is its "in digests", not repeats).

A centre works through *board items*: board alerts plus digests. The day is a
day of *event time* (the records' own clock), given by the caller: in
``creditwatch eval scenarios`` the scenario's simulated days; in
``creditwatch demo`` the traffic the worker has processed, its input records
over the simulator's records per day (the simulator stamps records with the
wall clock at a fixed rate), so a worker that lags is not credited with time it
has not read. Used by both, and by nothing in the worker.

A digest is a day's item, however much of the day has passed: digests are
counted per calendar day they are for (the day in their key), not scaled up
from a part of a day, so an hour's run shows the digests opened so far
today, a lower bound of the day's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from topics.risk import is_digest
from topics.vocabulary import SEVERITY_RANK, Disposition

SECONDS_PER_DAY = 86_400.0
#: The columns of the budget, in the order they are printed.
OUTCOMES = ("board", "digests", "in digests", "case", "muted", "repeats")
#: Outcomes a centre has to work through on the board.
BOARD_ITEMS = ("board", "digests")

#: (kind, rule, severity) of an alert as it opened.
Row = tuple[str, str, str]


def outcome_of(opened: Mapping[str, Any]) -> str:
    """What became of an alert, from the snapshot that opened it."""
    if opened.get("muted_by") is not None:
        return "muted"
    if is_digest(opened):
        return "digests"
    disposition = opened.get("disposition") or Disposition.BOARD.value
    return {Disposition.DIGEST.value: "in digests", Disposition.CASE.value: "case"}.get(
        disposition, "board"
    )


def rule_of(alert: Mapping[str, Any]) -> str:
    """The alert's rule; for alerts written before the field, guessed from the dedup key."""
    if alert.get("rule"):
        return str(alert["rule"])
    parts = str(alert.get("dedup_key", "")).split(":")
    return parts[1] if alert.get("subject") is not None and len(parts) > 1 else parts[0]


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


@dataclass
class AlertTally:
    """Alert snapshots counted as they arrive; :meth:`budget` turns them into rates."""

    counts: Counter[tuple[Row, str]] = field(default_factory=Counter)
    first_s: float | None = None
    last_s: float | None = None
    digest_days: set[str] = field(default_factory=set)  # the days digests were opened for
    _opened: set[str] = field(default_factory=set)

    def add(self, snapshot: Mapping[str, Any]) -> None:
        row: Row = (
            str(snapshot.get("kind")),
            rule_of(snapshot),
            str(snapshot.get("severity")),
        )
        for stamp in (snapshot.get("created_at"), snapshot.get("last_seen_at")):
            at = _epoch(stamp) if stamp is not None else None
            if at is not None:
                self.first_s = at if self.first_s is None else min(self.first_s, at)
                self.last_s = at if self.last_s is None else max(self.last_s, at)
        alert_id, event = str(snapshot.get("alert_id")), snapshot.get("event", "opened")
        if event == "repeated" and not is_digest(snapshot):
            self.counts[row, "repeats"] += 1
        elif alert_id not in self._opened and event == "opened":
            self._opened.add(alert_id)
            self.counts[row, outcome_of(snapshot)] += 1
            if is_digest(snapshot):
                self.digest_days.add(str(snapshot["dedup_key"]).rsplit(":", 1)[-1])

    @property
    def days(self) -> float:
        """Event-time days between the first alert and the latest, for want of better."""
        if self.first_s is None or self.last_s is None:
            return 0.0
        return (self.last_s - self.first_s) / SECONDS_PER_DAY

    def budget(self, subjects: int, days: float | None = None, records: int = 0) -> AlertBudget:
        """The rates so far; ``records`` is the input records they came from."""
        days = self.days if days is None else days
        return AlertBudget(subjects, days, Counter(self.counts), records, len(self.digest_days))


@dataclass(frozen=True)
class AlertBudget:
    """Counts of alert outcomes over ``days`` of event time for ``subjects`` subjects."""

    subjects: int
    days: float
    counts: Counter[tuple[Row, str]]
    records: int = 0  # input records over those days (0: not known)
    digest_days: int = 0  # calendar days the digests counted are for

    def rate(self, count: float, outcome: str = "board") -> float:
        """``count`` alerts of ``outcome`` per 1,000 subjects per day (0 when nothing was
        counted); digests per calendar day they are for, never more days than that.

        >>> AlertBudget(2_000, 0.5, Counter()).rate(10)
        10.0
        >>> AlertBudget(2_000, 0.5, Counter(), digest_days=1).rate(10, "digests")
        5.0
        """
        days = max(self.days, self.digest_days) if outcome == "digests" else self.days
        if self.subjects <= 0 or days <= 0:
            return 0.0
        return count * 1000.0 / self.subjects / days

    def per_day(self, outcome: str, rows: Sequence[Row] | None = None) -> float:
        """The ``outcome``'s alerts (of ``rows``; None: all) per 1,000 subjects per day."""
        return self.rate(self.total((outcome,), rows), outcome)

    def total(self, outcomes: Sequence[str], rows: Sequence[Row] | None = None) -> int:
        return sum(
            n
            for (row, outcome), n in self.counts.items()
            if outcome in outcomes and (rows is None or row in rows)
        )

    @property
    def board_items(self) -> float:
        """Board items (alerts and digests) per 1,000 subjects per day."""
        return sum(self.per_day(outcome) for outcome in BOARD_ITEMS)

    def rows(self) -> list[Row]:
        """Every (kind, rule, severity) counted, by kind, rule, then severity (highest first)."""
        found = {row for row, _ in self.counts}
        return sorted(found, key=lambda r: (r[0], r[1], -SEVERITY_RANK.get(r[2], -1)))

    def by(self, outcomes: Sequence[str], part: int) -> dict[str, float]:
        """Rates of ``outcomes`` by kind (``part`` 0), rule (1) or severity (2)."""
        totals: dict[str, float] = {}
        for (row, outcome), n in self.counts.items():
            if outcome in outcomes:
                totals[row[part]] = totals.get(row[part], 0.0) + self.rate(n, outcome)
        return dict(sorted(totals.items()))

    def summary(self) -> str:
        """One line: board items per 1,000 subjects per day, and what went elsewhere.

        >>> counts = Counter({(("rule", "tier_d", "critical"), "board"): 3,
        ...                   (("rule", "tier_d", "critical"), "repeats"): 5})
        >>> AlertBudget(1_000, 1.0, counts).summary()
        'board items 3.0 per 1,000 subjects per day (alerts 3.0, digests 0.0); case 0.0, in digests 0.0, muted 0.0, repeats folded 5.0'
        """  # noqa: E501
        r = {outcome: self.per_day(outcome) for outcome in OUTCOMES}
        return (
            f"board items {self.board_items:,.1f} per 1,000 subjects per day "
            f"(alerts {r['board']:,.1f}, digests {r['digests']:,.1f}); case {r['case']:,.1f}, "
            f"in digests {r['in digests']:,.1f}, muted {r['muted']:,.1f}, "
            f"repeats folded {r['repeats']:,.1f}"
        )

    def cells(self, row: Row | None = None) -> list[str]:
        """Each outcome of ``row`` (None: of every row) per 1,000 subjects per day."""
        rows = None if row is None else [row]
        return [f"{self.per_day(o, rows):,.2f}" for o in OUTCOMES]

    def table(self) -> str:
        """Per (kind, rule, severity), each outcome per 1,000 subjects per day."""
        header = ["kind", "rule", "severity", *OUTCOMES]
        rows = [header, *([*row, *self.cells(row)] for row in self.rows())]
        rows.append(["total", "", "", *self.cells()])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        return "\n".join(
            "  ".join(
                cell.ljust(width) if i < 3 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in rows
        )

    def heading(self) -> str:
        """What was counted, and the traffic's density: alerts per subject per day
        grow with the input records per subject per day."""
        density = (
            f", {self.records / self.subjects / self.days:,.1f} input records per subject per day"
            if self.records and self.subjects and self.days
            else ""
        )
        return (
            f"alert budget: {self.subjects:,} subjects, {self.days:.2f} days of event time"
            f"{density}; per 1,000 subjects per day"
        )

    def report(self) -> str:
        """The heading, the one-line summary and the table, for the terminal."""
        return "\n".join([self.heading(), self.summary(), self.table()])

    def to_json(self) -> dict[str, Any]:
        return {
            "subjects": self.subjects,
            "days": round(self.days, 4),
            "records": self.records,
            "digest_days": self.digest_days,
            "board_items_per_1000_per_day": round(self.board_items, 3),
            "rows": [
                {
                    "kind": row[0],
                    "rule": row[1],
                    "severity": row[2],
                    **{o: round(self.per_day(o, [row]), 3) for o in OUTCOMES},
                    "counts": {o: self.total((o,), [row]) for o in OUTCOMES},
                }
                for row in self.rows()
            ],
        }


def combine_budgets(budgets: Sequence[AlertBudget]) -> AlertBudget:
    """Several runs' budgets as one (``eval scenarios --seeds``): their counts, days and
    records added up, over the runs' mean number of subjects weighted by their days.

    >>> one = AlertBudget(1_000, 2.0, Counter({(("rule", "tier_d", "critical"), "board"): 4}))
    >>> two = AlertBudget(1_000, 2.0, Counter({(("rule", "tier_d", "critical"), "board"): 8}))
    >>> combine_budgets([one, two]).board_items
    3.0
    """
    days = sum(b.days for b in budgets)
    subject_days = sum(b.subjects * b.days for b in budgets)
    return AlertBudget(
        subjects=round(subject_days / days) if days else 0,
        days=days,
        counts=sum((b.counts for b in budgets), Counter()),
        records=sum(b.records for b in budgets),
        digest_days=sum(b.digest_days for b in budgets),
    )
