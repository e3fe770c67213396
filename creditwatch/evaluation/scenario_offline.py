"""Input records through the pure steps in this process: no broker, no worker, seconds not minutes.

:class:`OfflinePipeline` runs every record through the same steps the agents
call (``pipeline.subject.step``, then the peer, cross-sector and cross-region
steps and the alert manager), one record at a time in the order given (event
time), and wakes a subject whose case file falls due as the enforcement
records' event time passes it (``pipeline.subject.on_time``), as the ingest
agent's agenda does. Two callers: ``creditwatch eval scenarios --offline``
(a scenario's records: tuning, many seeds at once) and ``creditwatch policy
backtest`` (the record store's history under two policies, side by side:
:mod:`creditwatch.backtest`). It leaves out what only the real pipeline has
(batching, partitions, changelogs, redelivery; one event-time clock instead
of one per partition), so a scenario's figures to report come from the real
run (:mod:`.scenario_runner`).

The cross-sector warning takes its two hops as the agents do, the linkage
group's and the sector's (``pipeline.cross_sector.group_step`` and
``mix_step``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from creditwatch.evaluation.alert_budget import AlertTally
from creditwatch.evaluation.scenario_scoring import ObservedAlert
from detectors.alert_book import AlertBook
from detectors.casefile import CaseFile
from detectors.cross_region import CategorySeries
from detectors.cross_sector import LinkedSignals
from detectors.department_mix import DepartmentMix
from detectors.iot import StreamAnomalyDetector
from detectors.peers import PeerGroup
from detectors.state import SubjectState
from pipeline import alert_manager, cross_region, cross_sector, peers, subject
from pipeline.context import StepContext
from pipeline.subject import Outputs
from topics.decode import InputRecord, Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.internal import ComplaintCount, CrossSectorCandidate, LinkageMessage
from topics.iot import IotReading
from topics.lists import ListChange
from topics.risk import Alert, TierChange, to_json_dict


class InputMessage(Protocol):
    """A message of an input topic, as produced: a scenario's record
    (:class:`~creditwatch.evaluation.scenario_labels.ScenarioRecord`) or one the
    record store keeps (:class:`creditwatch.backtest.history.StoredRecord`)."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass
class OfflineRun:
    """What the in-process run produced: the alerts as ``risk.alerts`` would carry them,
    the records the decoder rejected (the dead letters), by reason, the alert
    budget's count of every snapshot, the tier changes (by previous and new tier)
    and the list changes. The subjects' final tiers are in the pipeline's states."""

    alerts: list[ObservedAlert] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    consumed: int = 0
    tally: AlertTally = field(default_factory=AlertTally)  # every snapshot, for the budget
    tier_changes: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    list_changes: list[ListChange] = field(default_factory=list)


@dataclass
class _States:
    subjects: dict[str, SubjectState] = field(default_factory=dict)
    cases: dict[str, CaseFile] = field(default_factory=dict)
    models: dict[bytes, StreamAnomalyDetector] = field(default_factory=dict)
    peer_groups: dict[str, PeerGroup] = field(default_factory=dict)
    linked: dict[str, LinkedSignals] = field(default_factory=dict)
    categories: dict[str, CategorySeries] = field(default_factory=dict)
    mixes: dict[str, DepartmentMix] = field(default_factory=dict)
    books: dict[str, AlertBook] = field(default_factory=dict)


@dataclass
class _Agenda:
    """When to wake which subject: the ingest agent's agenda (streams/agents/agenda.py)
    with one clock, the enforcement records' event time, for the whole run."""

    watermark_s: float = 0.0
    due: list[tuple[float, str]] = field(default_factory=list)  # a heap
    next_wake: dict[str, float] = field(default_factory=dict)

    def schedule(self, subject: str, due_s: float) -> None:
        if self.next_wake.get(subject, due_s + 1) <= due_s:
            return  # woken at or before then, and scheduled again then
        self.next_wake[subject] = due_s
        heapq.heappush(self.due, (due_s, subject))

    def advance(self, at_s: float) -> list[str]:
        """Move the clock to ``at_s``; the subjects now due, earliest first."""
        if at_s <= self.watermark_s:
            return []
        self.watermark_s = at_s
        woken: list[str] = []
        while self.due and self.due[0][0] <= at_s:
            due_s, subject = heapq.heappop(self.due)
            if self.next_wake.get(subject) == due_s:  # else superseded by an earlier wake
                del self.next_wake[subject]
                woken.append(subject)
        return woken


class OfflinePipeline:
    """The agents' steps wired in-process, keyed as the topics key them."""

    def __init__(self, context: StepContext) -> None:
        self.context = context
        self.states = _States()
        self.run = OfflineRun()
        self.watermark_s = 0.0  # the newest event time of any record: the alert manager's clock
        self.agenda = _Agenda()

    def feed(self, records: Iterable[InputMessage]) -> OfflineRun:
        for record in records:
            self.one(record)
        return self.run

    def one(self, record: InputMessage) -> None:
        decoded = decode_input(record.topic, record.key, record.value)
        if isinstance(decoded, Rejected):
            self.run.consumed += 1
            reasons = self.run.dead_letters
            reasons[decoded.reason] = reasons.get(decoded.reason, 0) + 1
            return
        self.decoded(decoded)

    def decoded(self, decoded: InputRecord) -> None:
        """One record the decoder accepted (several pipelines may share a decoding)."""
        self.run.consumed += 1
        states = self.states
        if isinstance(decoded, EnforcementEvent):
            self._wake(decoded.occurred_at.timestamp())
        model = None
        if isinstance(decoded, IotReading):
            key = subject.device_key(decoded)
            model = states.models.get(key)
            if model is None:
                model = states.models[key] = StreamAnomalyDetector()
        state, case, outputs = subject.step(
            states.subjects.get(decoded.subject),
            states.cases.get(decoded.subject),
            decoded,
            self.context,
            model,
            self.agenda.watermark_s,
        )
        states.subjects[decoded.subject] = state
        if case is not None:
            states.cases[decoded.subject] = case
        self.watermark_s = max(self.watermark_s, outputs.event_time_s)
        self._outputs(decoded.subject, outputs)

    def _wake(self, now_s: float) -> None:
        """The step of every subject whose case file fell due by ``now_s``."""
        states = self.states
        for name in self.agenda.advance(now_s):
            state, case = states.subjects.get(name), states.cases.get(name)
            if state is None or case is None:
                continue
            state, case, outputs = subject.on_time(name, state, case, now_s, self.context)
            self._outputs(name, outputs)

    def _outputs(self, name: str, outputs: Outputs) -> None:
        """What a step produced, in the order the agent sends it."""
        run = self.run
        self._send(outputs.alerts)
        self._changed(outputs.tier_change)
        for casework in outputs.casework:
            self._send(casework.alerts)
            self._changed(casework.tier_change)
            run.list_changes += casework.list_changes
        if outputs.case_settled and outputs.next_due_s is not None:
            self.agenda.schedule(name, outputs.next_due_s)
        self._beyond_subject(outputs)

    def _changed(self, change: TierChange | None) -> None:
        if change is not None:
            previous = change.previous_tier.value if change.previous_tier is not None else None
            self.run.tier_changes[previous, change.tier.value] += 1

    def _beyond_subject(self, outputs: Outputs) -> None:
        self._peers(outputs)
        messages: list[tuple[str, LinkageMessage]] = []
        if outputs.adverse_report is not None:
            messages.append((outputs.adverse_report.group, outputs.adverse_report))
        if outputs.linkage_member is not None:
            messages.append(outputs.linkage_member)
        messages += [pair for c in outputs.casework for pair in c.linked_listings]
        for key, message in messages:
            self._linkage(key, message)
        self._complaints(outputs)

    def _peers(self, outputs: Outputs) -> None:
        states = self.states
        for update in outputs.peer_updates:
            group, raised = peers.step(states.peer_groups.get(update.group), [update], self.context)
            states.peer_groups[update.group] = group
            self._send(raised)

    def _linkage(self, key: str, message: LinkageMessage) -> None:
        states, context = self.states, self.context
        linked, outputs = cross_sector.group_step(states.linked.get(key), message, context)
        states.linked[key] = linked
        for output in outputs:
            if isinstance(output, CrossSectorCandidate):
                mix, alerts = cross_sector.mix_step(
                    states.mixes.get(output.sector), output, context
                )
                states.mixes[output.sector] = mix
                self._send(alerts)
            else:
                self._send([output])

    def _complaints(self, outputs: Outputs) -> None:
        counted = outputs.counted_complaint
        if counted is None:
            return
        count = ComplaintCount(
            counted.category, counted.county, counted.sector, counted.at_s, counted.event_id, 1
        )
        series, raised = cross_region.step(
            self.states.categories.get(counted.category), [count], self.context
        )
        self.states.categories[counted.category] = series
        self._send(raised)

    def _send(self, alerts: Sequence[Alert]) -> None:
        """Candidates through the alert manager, as its agent runs them: the snapshots
        are what ``risk.alerts`` carries; a digest's candidate goes on to its digest's
        manager (keyed by the digest, as the candidates topic keys it)."""
        manager = alert_manager.AlertContext(self.context.policy, (), self.watermark_s)
        pending = list(alerts)
        while pending:
            alert = pending.pop(0)
            key = alert.subject or alert.dedup_key
            book, outputs = alert_manager.step(
                self.states.books.get(key), to_json_dict(alert), manager
            )
            self.states.books[key] = book
            for output in outputs:
                if isinstance(output, Alert):
                    pending.append(output)
                    continue
                self.run.tally.add(output)
                observed = ObservedAlert.from_snapshot(output)
                if observed is not None and output.get("event") == "opened":
                    self.run.alerts.append(observed)


def run_offline(records: Iterable[InputMessage], context: StepContext) -> OfflineRun:
    """Every record through the pure steps, in order; the alerts opened and the dead letters."""
    return OfflinePipeline(context).feed(records)


def expected_dead_letters(records: Iterable[InputMessage]) -> int:
    """How many of ``records`` the decoder rejects: each must reach the dead-letter topic."""
    return sum(isinstance(decode_input(r.topic, r.key, r.value), Rejected) for r in records)
