"""Score the alerts a pipeline raised against a scenario's incidents and controls.

Pure functions on plain data, no broker: :func:`evaluate` takes the labels and
the alerts read back from ``risk.alerts``.

Per incident kind:

* **recall** = incidents detected / incidents. Detected: an alert of the
  expected kind and dedup key, created (in event time) inside the incident's
  window ``[start, end]``.
* **precision** = matching alerts / alerts *in scope*. In scope are the alerts
  of that kind about a labelled subject, device or complaint category, i.e.
  about an incident or a control of that kind. Alerts about the simulated
  city's own subjects are left out: nobody labelled them, and the city's
  risky subjects misbehave at random, so some of those alerts are right and
  some wrong with no way to tell. They are counted, not scored.
* **median detection delay** = median over detected incidents of the first
  matching alert's ``created_at`` minus the incident's start, both event time,
  so the number does not depend on the machine's speed.

Controls: every alert a control names is a false positive on a control; their
total is compared with a budget (default 0).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from creditwatch.evaluation.scenario_labels import (
    SCORED_ALERT_KINDS,
    Control,
    Incident,
    IncidentKind,
    scope_of,
)
from topics.vocabulary import Disposition

RECALL_TARGET = 0.95
PRECISION_TARGET = 0.90


@dataclass(frozen=True, slots=True)
class ObservedAlert:
    """The fields of a ``risk.alerts`` record that scoring needs."""

    alert_id: str
    kind: str
    dedup_key: str
    created_at: datetime
    subject: str | None = None
    title: str = ""
    disposition: str = Disposition.BOARD.value

    @property
    def seen(self) -> bool:
        """Whether a centre sees it without looking the subject up: on the board, or
        named in a daily digest; not an alert kept in the subject's case only."""
        return self.disposition != Disposition.CASE.value

    @classmethod
    def from_json(cls, value: bytes) -> ObservedAlert | None:
        """Parse one record value; ``None`` for anything that is not an alert."""
        snapshot = snapshot_of(value)
        return None if snapshot is None else cls.from_snapshot(snapshot)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> ObservedAlert | None:
        """The fields of one decoded record; ``None`` for anything that is not an alert."""
        try:
            created_at = datetime.fromisoformat(data["created_at"])
            return cls(
                alert_id=str(data["alert_id"]),
                kind=str(data["kind"]),
                dedup_key=str(data["dedup_key"]),
                created_at=created_at,
                subject=data.get("subject"),
                title=str(data.get("title") or ""),
                disposition=str(data.get("disposition") or Disposition.BOARD.value),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def snapshot_of(value: bytes) -> dict[str, Any] | None:
    """One ``risk.alerts`` record value as a dict; ``None`` if it is not a JSON object."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class IncidentResult:
    """How an incident fared; ``other_alerts`` are alerts of other kinds or keys about its
    subjects inside its window (say, a limit-breach rule that caught a drift), by kind."""

    incident: Incident
    detected_at: datetime | None
    matching_alerts: int
    other_alerts: dict[str, int] = field(default_factory=dict)

    @property
    def delay(self) -> timedelta | None:
        return None if self.detected_at is None else self.detected_at - self.incident.start


@dataclass(frozen=True, slots=True)
class ControlResult:
    control: Control
    alerts: tuple[ObservedAlert, ...]


@dataclass(frozen=True, slots=True)
class KindScore:
    """The numbers of one incident kind."""

    kind: IncidentKind
    incidents: int
    detected: int
    alerts_in_scope: int
    matching_alerts: int
    control_alerts: int
    median_delay: timedelta | None

    @property
    def recall(self) -> float | None:
        return self.detected / self.incidents if self.incidents else None

    @property
    def precision(self) -> float | None:
        """``None`` when nothing in scope was alerted: no alert, no wrong alert."""
        return self.matching_alerts / self.alerts_in_scope if self.alerts_in_scope else None

    @property
    def f1(self) -> float | None:
        """The harmonic mean of recall and precision; ``None`` when either is.

        >>> KindScore(IncidentKind.PEER_OUTLIER, 10, 9, 10, 10, 0, None).f1
        0.9473684210526316
        """
        recall, precision = self.recall, self.precision
        if recall is None or precision is None:
            return None
        return 2 * recall * precision / (recall + precision) if recall + precision else 0.0

    @property
    def false_positives(self) -> int:
        return self.alerts_in_scope - self.matching_alerts

    @property
    def meets_targets(self) -> bool:
        recall, precision = self.recall, self.precision
        return (recall is not None and recall >= RECALL_TARGET) and (
            precision is not None and precision >= PRECISION_TARGET
        )


@dataclass(frozen=True)
class Evaluation:
    kinds: tuple[KindScore, ...]
    incidents: tuple[IncidentResult, ...]
    controls: tuple[ControlResult, ...]
    fp_budget: int
    total_alerts: int
    #: alert kind -> alerts of a scored kind that no label concerns (the city's own)
    unlabelled: dict[str, int]
    #: alert kind -> alerts of other kinds (rule, iot …) about labelled subjects: noted only
    other_on_labelled: dict[str, int]

    @property
    def control_false_positives(self) -> int:
        return sum(len(c.alerts) for c in self.controls)

    @property
    def within_budget(self) -> bool:
        return self.control_false_positives <= self.fp_budget


def unique_alerts(alerts: Iterable[ObservedAlert]) -> list[ObservedAlert]:
    """One per alert id: a replay after a worker restart re-sends the same alert."""
    return list({a.alert_id: a for a in alerts}.values())


def _result(
    incident: Incident, in_scope: Sequence[ObservedAlert], alerts: Sequence[ObservedAlert]
) -> IncidentResult:
    hits = sorted(a.created_at for a in in_scope if incident.matches(a.dedup_key, a.created_at))
    others = Counter(
        a.kind
        for a in alerts
        if a.subject in incident.subjects
        and incident.start <= a.created_at <= incident.end
        and not incident.matches(a.dedup_key, a.created_at)
    )
    return IncidentResult(incident, hits[0] if hits else None, len(hits), dict(others))


def _in_scope(alert: ObservedAlert, kind: IncidentKind, scope: set[str]) -> bool:
    return alert.seen and alert.kind == kind.alert_kind.value and scope_of(alert.dedup_key) in scope


def _score_kind(
    kind: IncidentKind,
    incidents: Sequence[Incident],
    controls: Sequence[Control],
    alerts: Sequence[ObservedAlert],
) -> tuple[KindScore, list[IncidentResult], list[ControlResult]]:
    scope = {scope_of(i.dedup_key) for i in incidents}
    scope |= {scope_of(k) for c in controls for k in c.dedup_keys}
    in_scope = [a for a in alerts if _in_scope(a, kind, scope)]
    results = [_result(i, in_scope, alerts) for i in incidents]
    matching = [a for a in in_scope if any(i.matches(a.dedup_key, a.created_at) for i in incidents)]
    control_results = [
        ControlResult(c, tuple(a for a in in_scope if a.dedup_key in c.dedup_keys))
        for c in controls
    ]
    delays = [r.delay for r in results if r.delay is not None]
    score = KindScore(
        kind=kind,
        incidents=len(incidents),
        detected=len(delays),
        alerts_in_scope=len(in_scope),
        matching_alerts=len(matching),
        control_alerts=sum(len(c.alerts) for c in control_results),
        median_delay=_median(delays),
    )
    return score, results, control_results


def _median(delays: Sequence[timedelta]) -> timedelta | None:
    if not delays:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in delays))


def evaluate(
    incidents: Sequence[Incident],
    controls: Sequence[Control],
    alerts: Iterable[ObservedAlert],
    *,
    fp_budget: int = 0,
) -> Evaluation:
    """Score ``alerts`` against the labels; see the module docstring for the definitions."""
    unique = unique_alerts(alerts)
    kinds = [k for k in IncidentKind if any(i.kind is k for i in incidents)]
    scores, results, control_results = [], [], []
    for kind in kinds:
        score, kind_results, kind_controls = _score_kind(
            kind,
            [i for i in incidents if i.kind is kind],
            [c for c in controls if c.kind is kind],
            unique,
        )
        scores.append(score)
        results += kind_results
        control_results += kind_controls
    return Evaluation(
        kinds=tuple(scores),
        incidents=tuple(results),
        controls=tuple(control_results),
        fp_budget=fp_budget,
        total_alerts=len(unique),
        unlabelled=_unlabelled(incidents, controls, unique),
        other_on_labelled=_other_on_labelled(incidents, controls, unique),
    )


def _scopes(incidents: Sequence[Incident], controls: Sequence[Control]) -> set[str]:
    return {scope_of(i.dedup_key) for i in incidents} | {
        scope_of(k) for c in controls for k in c.dedup_keys
    }


def _unlabelled(
    incidents: Sequence[Incident], controls: Sequence[Control], alerts: Sequence[ObservedAlert]
) -> dict[str, int]:
    scopes = _scopes(incidents, controls)
    return dict(
        Counter(
            a.kind
            for a in alerts
            if a.kind in SCORED_ALERT_KINDS and scope_of(a.dedup_key) not in scopes
        )
    )


def _other_on_labelled(
    incidents: Sequence[Incident], controls: Sequence[Control], alerts: Sequence[ObservedAlert]
) -> dict[str, int]:
    labelled = {s for i in incidents for s in i.subjects} | {
        s for c in controls for s in c.subjects
    }
    scopes = _scopes(incidents, controls)
    return dict(
        Counter(
            a.kind
            for a in alerts
            if a.subject in labelled
            and not (a.kind in SCORED_ALERT_KINDS and scope_of(a.dedup_key) in scopes)
        )
    )


def combine(evaluations: Sequence[Evaluation]) -> Evaluation:
    """Several seeds' evaluations as one: counts summed per kind, the median delay over every
    detected incident of the kind, incidents and controls side by side."""
    kinds = []
    for kind in IncidentKind:
        scores = [s for e in evaluations for s in e.kinds if s.kind is kind]
        if not scores:
            continue
        delays = [
            r.delay
            for e in evaluations
            for r in e.incidents
            if r.incident.kind is kind and r.delay is not None
        ]
        kinds.append(
            KindScore(
                kind=kind,
                incidents=sum(s.incidents for s in scores),
                detected=sum(s.detected for s in scores),
                alerts_in_scope=sum(s.alerts_in_scope for s in scores),
                matching_alerts=sum(s.matching_alerts for s in scores),
                control_alerts=sum(s.control_alerts for s in scores),
                median_delay=_median(delays),
            )
        )
    return Evaluation(
        kinds=tuple(kinds),
        incidents=tuple(r for e in evaluations for r in e.incidents),
        controls=tuple(c for e in evaluations for c in e.controls),
        fp_budget=sum(e.fp_budget for e in evaluations),
        total_alerts=sum(e.total_alerts for e in evaluations),
        unlabelled=_summed(e.unlabelled for e in evaluations),
        other_on_labelled=_summed(e.other_on_labelled for e in evaluations),
    )


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(total)
