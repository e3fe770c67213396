"""The ingest agent: decode, load the subject's state, call its step, store, send.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC). What a
record does is decided in :func:`pipeline.subject.step`; before an enforcement
record, the subjects whose deadlines its partition's event time passes get
their own step, :func:`pipeline.subject.on_time`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache

import faust
from faust.types import EventT
from prometheus_client import Counter, Histogram

from detectors.iot import Explanation, StreamAnomalyDetector
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.subject import Outputs, device_key, on_time, step
from pipeline.supervision import needs_case_file
from streams import metrics
from streams.agents.casework import Casework
from streams.agents.fanout import LISTED, Fanout, send_linkage
from streams.agents.live_models import LiveModels, dump_model, load_model
from streams.agents.publish import (
    send_alert,
    send_dead_letter,
    send_list_change,
    send_notice,
    send_publication,
    send_tier_change,
)
from streams.app import app
from streams.runtime.batches import each_batch
from streams.runtime.channels import inputs
from streams.runtime.tables import BatchCache, DecodedValues, bytes_table
from streams.settings import step_context
from topics.decode import Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.iot import IotReading

subjects = bytes_table(
    "subject-state", "Rolling risk state per subject USCC (detectors.state.SubjectState)."
)
device_models = bytes_table(
    "device-models",
    "IoT anomaly model per device and metric (detectors.iot, JSON state), checkpointed "
    "every few readings (streams.agents.live_models). A device belongs to one subject, so its "
    "model lives in that subject's partition.",
)

#: Subjects whose state changed since the serving view was last refreshed, with
#: their latest state (``None``: read it from the table).
dirty_subjects: dict[bytes, SubjectState | None] = {}


async def send_outputs(outputs: Outputs) -> None:
    """Everything a step produced, in its order (the re-keyed rows go with the batch)."""
    for alert in outputs.alerts:
        await send_alert(alert)
    if outputs.tier_change is not None:
        await send_tier_change(outputs.tier_change)
    for decided in outputs.casework:
        for alert in decided.alerts:
            await send_alert(alert)
        if decided.tier_change is not None:
            await send_tier_change(decided.tier_change)
        for change in decided.list_changes:
            await send_list_change(change)
        for notice in decided.notices:
            await send_notice(notice)
        for publication in decided.publications:
            await send_publication(publication)
        for group, listing in decided.linked_listings:
            await send_linkage(group, {"type": LISTED, "listing": asdict(listing)})


live_models = LiveModels(device_models)
#: Subject states kept decoded between batches (~1.7 KB each).
LIVE_STATES_MAX = 50_000
live_states: DecodedValues[SubjectState] = DecodedValues(LIVE_STATES_MAX)


_IOT_SCORING_TIME = metrics.model_scoring_time.labels("iot")


class TimedModel:
    """A series model whose scoring and learning time goes to the scoring-time metric."""

    __slots__ = ("model",)

    def __init__(self, model: StreamAnomalyDetector) -> None:
        self.model = model

    def observe(
        self, timestamp: datetime | float | None, value: float
    ) -> tuple[float, Explanation]:
        started = time.perf_counter()
        try:
            return self.model.observe(timestamp, value)
        finally:
            _IOT_SCORING_TIME.observe(time.perf_counter() - started)


@cache
def _topic_metrics(topic: str) -> tuple[Counter, Histogram]:
    """The per-event metrics of a topic, looked up once (labels() costs per call)."""
    return metrics.events_consumed.labels(topic), metrics.event_lag.labels(topic)


@dataclass(slots=True)
class IngestBatch:
    """One batch's working copies: each subject's state, case file and model loaded and
    stored once, the re-keyed rows sent together at the end."""

    context: StepContext
    states: BatchCache[SubjectState] = field(
        default_factory=lambda: BatchCache(
            subjects, SubjectState.from_bytes, SubjectState.to_bytes, live_states
        )
    )
    model_writes: BatchCache[StreamAnomalyDetector] = field(
        default_factory=lambda: BatchCache(device_models, load_model, dump_model)
    )
    fanout: Fanout = field(default_factory=Fanout)
    casework: Casework = field(default_factory=Casework)

    async def flush(self) -> None:
        await self.fanout.send()
        await self.casework.flush()
        dirty_subjects.update(await self.states.flush())
        await self.model_writes.flush()


async def ingest_one(event: EventT, batch: IngestBatch) -> None:
    """Decode one input message, run its subject's step on the batch's working copies."""
    started = time.perf_counter()
    message = event.message
    consumed, lag = _topic_metrics(message.topic)
    consumed.inc()
    record = decode_input(message.topic, message.key, message.value)
    if isinstance(record, Rejected):
        await send_dead_letter(event, record)
        return
    key = record.subject.encode()
    context, states, casework = batch.context, batch.states, batch.casework
    case, model, model_key, watermark_s = None, None, b"", 0.0
    if isinstance(record, EnforcementEvent):
        await wake_due(event, record.occurred_at.timestamp(), batch)
        if needs_case_file(record, context.policy):
            case, watermark_s = casework.cases.get(key), casework.watermark(event)
    elif isinstance(record, IotReading):
        model_key = device_key(record)
        model = TimedModel(live_models.get(model_key))
    state, case, outputs = step(states.get(key), case, record, context, model, watermark_s)
    if outputs.duplicate:
        metrics.duplicate_events.labels(message.topic).inc()
        return
    states.put(key, state, event)
    if model is not None:
        live_models.learned(model_key, outputs.model_flagged, event, batch.model_writes)
    await send_outputs(outputs)
    if outputs.case_settled:
        assert case is not None, "a settled step returns its case file"
        casework.store(event, record.subject, case, outputs.next_due_s)
    batch.fanout.add(outputs)
    lag.observe(time.time() - outputs.event_time_s)
    metrics.processing_time.observe(time.perf_counter() - started)


async def wake_due(event: EventT, now_s: float, batch: IngestBatch) -> None:
    """Run the step of every subject whose case file fell due before ``now_s``, the
    event time the event's partition reaches with it."""
    states, casework = batch.states, batch.casework
    for subject in casework.due(event, now_s):
        key = subject.encode()
        case, state = casework.cases.get(key), states.get(key)
        if case is None or state is None:
            continue
        state, case, outputs = on_time(subject, state, case, now_s, batch.context)
        await send_outputs(outputs)
        casework.store(event, subject, case, outputs.next_due_s)
        states.put(key, state, event)


async def ingest_batch(events: list[EventT]) -> None:
    """Process a batch of input messages: each subject's state loaded and stored once."""
    batch = IngestBatch(step_context())
    for event in events:
        await ingest_one(event, batch)
    await batch.flush()


@app.agent(inputs, concurrency=1)
async def ingest(stream: faust.StreamT[bytes]) -> None:
    # A batch is acknowledged only after it is handled, so a crash replays it;
    # redelivered records are then dropped by the per-subject event-id memory.
    await each_batch(stream, ingest_batch)
