"""One ingest batch's working copies: each subject's state, case file, model and alert book
loaded and stored once, the outputs re-keyed for the group detectors sent together at the end.

The case files live beside the subjects' risk state, in the agent that owns
it, so a repair or a corrected record moves the subject's score and tier at
once, in the same batch, with the same version sequence. What the workflows
decide is in :mod:`pipeline.subject` (``step`` for a record, ``on_time`` for a
subject whose deadline its partition's event time passed); this module only
loads and stores. Only enforcement records that open, close or publish
something have a case file; complaints and readings never touch one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faust.types import EventT

from detectors.casefile import CaseFile
from detectors.iot import StreamAnomalyDetector
from pipeline.subject import Outputs
from streams.agents.agenda import Agenda
from streams.agents.alert_manager import AlertBatch
from streams.agents.fanout import Fanout
from streams.agents.live_models import LiveModels, TimedModel, dump_model, load_model
from streams.runtime.tables import BatchCache

if TYPE_CHECKING:
    from streams.wiring import Wiring


class SubjectBatch:
    def __init__(self, w: Wiring, models: LiveModels, alerts: AlertBatch) -> None:
        self.w, self.models, self.alerts = w, models, alerts
        tables, outbox = w.tables, w.outbox
        self.states = w.subjects.batch()
        self.cases = BatchCache(tables.case_files, CaseFile.from_bytes, CaseFile.to_bytes, outbox)
        self.agenda = Agenda(tables.agenda, outbox)
        self.model_writes: BatchCache[StreamAnomalyDetector] = BatchCache(
            tables.device_models, load_model, dump_model, outbox
        )
        self.fanout = Fanout()

    def store_case(
        self, event: EventT, subject: str, case: CaseFile, next_due_s: float | None
    ) -> None:
        """Keep a settled case file, and wake its subject when it next falls due."""
        self.cases.put(subject.encode(), case, event)
        if next_due_s is not None:
            self.agenda.schedule(event, subject, next_due_s)

    def learned(self, key: bytes, model: TimedModel, flagged: bool, event: EventT) -> None:
        """A device's model learned a reading: checkpoint it with the batch when due."""
        self.models.learned(key, model, flagged, event, self.model_writes)

    async def send(self, outputs: Outputs, event: EventT) -> None:
        """Everything a step working ``event`` produced, in its order (the re-keyed rows go
        with the batch)."""
        publish = self.w.publish
        for alert in outputs.alerts:
            await self.alerts.raise_alert(alert, event)
        if outputs.tier_change is not None:
            await publish.tier_change(outputs.tier_change)
        for decided in outputs.casework:
            for alert in decided.alerts:
                await self.alerts.raise_alert(alert, event)
            if decided.tier_change is not None:
                await publish.tier_change(decided.tier_change)
            for change in decided.list_changes:
                await publish.list_change(change)
            for notice in decided.notices:
                await publish.notice(notice)
            for publication in decided.publications:
                await publish.publication(publication)
            for group, listing in decided.linked_listings:
                await publish.linkage(group, listing)
            for person, fact in decided.person_facts:
                await publish.person_fact(person, fact)
        self.fanout.add(outputs)

    async def flush(self) -> None:
        await self.fanout.send(self.w.publish)
        await self.cases.flush()
        await self.alerts.flush()
        await self.agenda.flush()
        await self.w.subjects.store(self.states)
        await self.model_writes.flush()
