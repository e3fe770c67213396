"""One ingest batch's working copies: each subject's state, case file and model loaded and
stored once, the outputs re-keyed for the group detectors sent together at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from detectors.iot import StreamAnomalyDetector
from pipeline.subject import Outputs
from streams.agents.casework import Casework
from streams.agents.fanout import Fanout
from streams.agents.live_models import LiveModels, dump_model, load_model
from streams.runtime.tables import BatchCache

if TYPE_CHECKING:
    from streams.wiring import Wiring


class SubjectBatch:
    def __init__(self, w: Wiring, models: LiveModels) -> None:
        self.w, self.models = w, models
        self.states = w.subjects.batch()
        self.casework = Casework(w.tables, w.outbox)
        self.model_writes: BatchCache[StreamAnomalyDetector] = BatchCache(
            w.tables.device_models, load_model, dump_model, w.outbox
        )
        self.fanout = Fanout()

    async def send(self, outputs: Outputs) -> None:
        """Everything a step produced, in its order (the re-keyed rows go with the batch)."""
        publish = self.w.publish
        for alert in outputs.alerts:
            await publish.alert(alert)
        if outputs.tier_change is not None:
            await publish.tier_change(outputs.tier_change)
        for decided in outputs.casework:
            for alert in decided.alerts:
                await publish.alert(alert)
            if decided.tier_change is not None:
                await publish.tier_change(decided.tier_change)
            for change in decided.list_changes:
                await publish.list_change(change)
            for notice in decided.notices:
                await publish.notice(notice)
            for group, listing in decided.linked_listings:
                await publish.linkage(group, listing)
        self.fanout.add(outputs)

    async def flush(self) -> None:
        await self.fanout.send(self.w.publish)
        await self.casework.flush()
        await self.w.subjects.store(self.states)
        await self.model_writes.flush()
