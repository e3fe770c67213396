"""The ingest agent: decode, load the subject's state, call its step, store, send.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC). What a
record does is decided in :func:`pipeline.subject.step`; before an enforcement
record, the subjects whose deadlines its partition's event time passes get
their own step, :func:`pipeline.subject.on_time`. A batch's working copies
are in :class:`~streams.agents.subject_batch.SubjectBatch`.

The alerts a batch raises are decided in place when their books are kept in
the record's partition (streams/agents/alert_manager.py), one hop through the
broker fewer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from faust.types import EventT

from pipeline.subject import device_key, on_time, step
from pipeline.supervision import needs_case_file
from streams import metrics
from streams.agents import alert_manager
from streams.agents.live_models import LIVE_MODELS_MAX, LiveModels
from streams.agents.subject_batch import SubjectBatch
from streams.runtime.batches import batch_agent
from streams.runtime.loop_turns import Turns
from topics.decode import Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.iot import IotReading

if TYPE_CHECKING:
    from streams.wiring import Wiring


def register(w: Wiring) -> None:
    models = LiveModels(w.tables.device_models, w.tables.keep_decoded(LIVE_MODELS_MAX))
    alerts = alert_manager.register(w)

    async def ingest_batch(events: list[EventT]) -> None:
        # A batch is acknowledged only after it is handled, so a crash replays it;
        # redelivered records are then dropped by the per-subject event-id memory.
        # A policy put in force re-grades between batches; the alert manager's agent
        # takes the alert books between them too.
        async with w.subjects.lock, alerts.batch() as books:
            batch, turns = SubjectBatch(w, models, books), Turns()
            for event in events:
                await ingest_one(event, batch)
                # The alerts and outputs made so far, and the other agents' records,
                # would otherwise wait out the whole batch (loop_turns.py).
                await turns.take()
            await batch.flush()

    batch_agent(w.app, w.channels.inputs, f"{__name__}.ingest", ingest_batch)


async def ingest_one(event: EventT, batch: SubjectBatch) -> None:
    """Decode one input message, run its subject's step on the batch's working copies."""
    started = time.perf_counter()
    message = event.message
    consumed, lag = metrics.per_topic(message.topic)
    consumed.inc()
    record = decode_input(message.topic, message.key, message.value)
    if isinstance(record, Rejected):
        await batch.w.publish.dead_letter(event, record)
        return
    key = record.subject.encode()
    context = batch.w.context
    case, model, model_key, watermark_s = None, None, b"", 0.0
    if isinstance(record, EnforcementEvent):
        await wake_due(event, record.occurred_at.timestamp(), batch)
    if needs_case_file(record, context.policy):  # enforcement records, and role records
        watermark_s = batch.agenda.watermark(message.partition)
        case = batch.cases.get(key)
    if isinstance(record, IotReading):
        model_key = device_key(record)
        model = batch.models.get(model_key)
    state, case, outputs = step(batch.states.get(key), case, record, context, model, watermark_s)
    if outputs.duplicate:
        metrics.duplicate_events.labels(message.topic).inc()
        return
    batch.states.put(key, state, event)
    if model is not None:
        batch.learned(model_key, model, outputs.model_flagged, event)
    await batch.send(outputs, event)
    if outputs.case_settled:
        assert case is not None, "a settled step returns its case file"
        batch.store_case(event, record.subject, case, outputs.next_due_s)
    lag.observe(time.time() - outputs.event_time_s)
    metrics.processing_time.observe(time.perf_counter() - started)


async def wake_due(event: EventT, now_s: float, batch: SubjectBatch) -> None:
    """Run the step of every subject whose case file fell due before ``now_s``, the
    event time the event's partition reaches with it."""
    for subject in batch.agenda.advance(event, now_s):
        key = subject.encode()
        case, state = batch.cases.get(key), batch.states.get(key)
        if case is None or state is None:
            continue
        state, case, outputs = on_time(subject, state, case, now_s, batch.w.context)
        await batch.send(outputs, event)
        batch.store_case(event, subject, case, outputs.next_due_s)
        batch.states.put(key, state, event)
