"""The ingest agent: decode, validate, dedup, update subject state, emit outputs.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC).
"""

from __future__ import annotations

import time
from functools import cache

import faust
from faust.types import EventT
from prometheus_client import Counter, Histogram

from detectors.iot import StreamAnomalyDetector
from detectors.policy import default_policy
from detectors.state import SubjectState
from pipeline.subject import Outputs, detect_iot_anomaly, device_key, process
from streams import metrics
from streams.agents.casework import Casework
from streams.agents.fanout import Fanout
from streams.agents.live_models import LiveModels, dump_model, load_model
from streams.agents.publish import send_alert, send_dead_letter, send_tier_change
from streams.app import app
from streams.runtime.batches import each_batch
from streams.runtime.channels import inputs
from streams.runtime.tables import BatchCache, DecodedValues, bytes_table
from topics.decode import Rejected, decode_input
from topics.enforcement import EnforcementEvent
from topics.iot import IotReading

policy = default_policy()


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
    for alert in outputs.alerts:
        await send_alert(alert)
    if outputs.tier_change is not None:
        await send_tier_change(outputs.tier_change)


live_models = LiveModels(device_models)
#: Subject states kept decoded between batches (~1.7 KB each).
LIVE_STATES_MAX = 50_000
live_states: DecodedValues[SubjectState] = DecodedValues(LIVE_STATES_MAX)


_IOT_SCORING_TIME = metrics.model_scoring_time.labels("iot")


@cache
def _topic_metrics(topic: str) -> tuple[Counter, Histogram]:
    """The per-event metrics of a topic, looked up once (labels() costs per call)."""
    return metrics.events_consumed.labels(topic), metrics.event_lag.labels(topic)


async def ingest_one(
    event: EventT,
    states: BatchCache[SubjectState],
    model_writes: BatchCache[StreamAnomalyDetector],
    fanout: Fanout,
    casework: Casework,
) -> None:
    """Process one input message against the batch's working copies."""
    started = time.perf_counter()
    message = event.message
    consumed, lag = _topic_metrics(message.topic)
    consumed.inc()
    record = decode_input(message.topic, message.key, message.value)
    if isinstance(record, Rejected):
        await send_dead_letter(event, record)
        return
    key = record.subject.encode()
    enforcement = record if isinstance(record, EnforcementEvent) else None
    if enforcement is not None:
        await casework.before(event, enforcement)
    state, outputs = process(states.get(key), record, policy)
    if outputs.duplicate:
        metrics.duplicate_events.labels(message.topic).inc()
        return
    states.put(key, state, event)
    if isinstance(record, IotReading):
        model_key = device_key(record)
        detector = live_models.get(model_key)
        scoring_started = time.perf_counter()
        anomaly = detect_iot_anomaly(detector, record, state, policy)
        _IOT_SCORING_TIME.observe(time.perf_counter() - scoring_started)
        live_models.learned(model_key, anomaly is not None, event, model_writes)
        if anomaly is not None:
            outputs.alerts.append(anomaly)
    await send_outputs(outputs)
    if enforcement is not None:
        await casework.after(event, enforcement, state)
    fanout.add(outputs)
    lag.observe(time.time() - outputs.event_time_s)
    metrics.processing_time.observe(time.perf_counter() - started)


async def ingest_batch(events: list[EventT]) -> None:
    """Process a batch of input messages: each subject's state loaded and stored once."""
    states = BatchCache(subjects, SubjectState.from_bytes, SubjectState.to_bytes, live_states)
    model_writes = BatchCache(device_models, load_model, dump_model)
    fanout = Fanout()
    casework = Casework(states)
    for event in events:
        await ingest_one(event, states, model_writes, fanout, casework)
    await fanout.send()
    await casework.flush()
    dirty_subjects.update(await states.flush())
    await model_writes.flush()


@app.agent(inputs, concurrency=1)
async def ingest(stream: faust.StreamT[bytes]) -> None:
    # A batch is acknowledged only after it is handled, so a crash replays it;
    # redelivered records are then dropped by the per-subject event-id memory.
    await each_batch(stream, ingest_batch)
