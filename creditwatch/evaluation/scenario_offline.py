"""A scenario through the pure steps in this process: no broker, no worker, seconds not minutes.

``creditwatch eval scenarios --offline`` runs every record through the same
steps the agents call (``pipeline.subject.step``, then the peer, cross-sector
and cross-region steps and the alert manager), in event-time order, one record
at a time. It is for tuning and for many seeds at once; it leaves out what
only the real pipeline has (batching, partitions, changelogs, redelivery), so
the figures to report come from the real run (:mod:`.scenario_runner`).

``department_mix=True`` runs the cross-sector warning in its two hops, the
linkage group's and the sector's (``pipeline.cross_sector.group_step`` and
``mix_step``), as the agents will once the sector's hop is wired; by default
it runs the one hop they run today.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from creditwatch.evaluation.alert_budget import AlertTally
from creditwatch.evaluation.scenario_labels import ScenarioRecord
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
from topics.decode import Rejected, decode_input
from topics.internal import ComplaintCount, CrossSectorCandidate, LinkageMessage
from topics.iot import IotReading
from topics.risk import Alert, to_json_dict


@dataclass
class OfflineRun:
    """What the in-process run produced: the alerts as ``risk.alerts`` would carry them,
    the records the decoder rejected (the dead letters), by reason, and the alert
    budget's count of every snapshot."""

    alerts: list[ObservedAlert] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    consumed: int = 0
    tally: AlertTally = field(default_factory=AlertTally)  # every snapshot, for the budget


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


class OfflinePipeline:
    """The agents' steps wired in-process, keyed as the topics key them."""

    def __init__(self, context: StepContext, *, department_mix: bool = False) -> None:
        self.context = context
        self.department_mix = department_mix
        self.states = _States()
        self.run = OfflineRun()
        self.watermark_s = 0.0

    def feed(self, records: Iterable[ScenarioRecord]) -> OfflineRun:
        for record in records:
            self.one(record)
        return self.run

    def one(self, record: ScenarioRecord) -> None:
        self.run.consumed += 1
        decoded = decode_input(record.topic, record.key, record.value)
        if isinstance(decoded, Rejected):
            reasons = self.run.dead_letters
            reasons[decoded.reason] = reasons.get(decoded.reason, 0) + 1
            return
        states = self.states
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
            self.watermark_s,
        )
        states.subjects[decoded.subject] = state
        if case is not None:
            states.cases[decoded.subject] = case
        self.watermark_s = max(self.watermark_s, outputs.event_time_s)
        self._send(outputs.alerts)
        for casework in outputs.casework:
            self._send(casework.alerts)
        self._beyond_subject(outputs)

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
        if not self.department_mix:
            linked, raised = cross_sector.step(states.linked.get(key), message, context)
            states.linked[key] = linked
            self._send(raised)
            return
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


def run_offline(
    records: Sequence[ScenarioRecord], context: StepContext, *, department_mix: bool = False
) -> OfflineRun:
    """Every record through the pure steps, in order; the alerts opened and the dead letters."""
    return OfflinePipeline(context, department_mix=department_mix).feed(records)


def expected_dead_letters(records: Iterable[ScenarioRecord]) -> int:
    """How many of ``records`` the decoder rejects: each must reach the dead-letter topic."""
    return sum(isinstance(decode_input(r.topic, r.key, r.value), Rejected) for r in records)
