"""The ingest agent: decode, validate, dedup, update subject state, emit outputs.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC).
"""

from __future__ import annotations

import base64
import logging
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Generic, TypeVar, cast

import faust
import orjson
from faust.streams import _current_event
from faust.types import EventT, TableT
from prometheus_client import Counter, Histogram

from detectors.iot import StreamAnomalyDetector
from detectors.policy import default_policy
from detectors.state import SubjectState
from streams import metrics
from streams.app import app, settings
from streams.channels import alerts, dead_letters, inputs, tier_changes
from streams.processing import Outputs, detect_iot_anomaly, device_key, process
from topics.decode import Rejected, decode_input
from topics.iot import IotReading
from topics.risk import DeadLetter

V = TypeVar("V")
log = logging.getLogger(__name__)
policy = default_policy()


def _bytes_table(name: str, help: str) -> TableT:
    """A table of raw bytes keyed by raw bytes: values encode themselves (never pickle)."""
    return app.Table(
        name,
        default=None,
        # The changelog takes its serializers from key_type/value_type; the schema
        # alone would leave it on JSON, and recovery would fail on binary values.
        key_type=bytes,
        value_type=bytes,
        schema=faust.Schema(
            key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        ),
        partitions=settings.partitions,
        help=help,
    )


subjects = _bytes_table(
    "subject-state", "Rolling risk state per subject USCC (detectors.state.SubjectState)."
)
device_models = _bytes_table(
    "device-models",
    "IoT anomaly model per device and metric (detectors.iot, JSON state). A device "
    "belongs to one subject, so its model lives in that subject's partition.",
)

#: Subjects whose state changed since the serving view was last refreshed, with
#: their latest state (``None``: read it from the table).
dirty_subjects: dict[bytes, SubjectState | None] = {}


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dead_letter(event: EventT, rejected: Rejected) -> DeadLetter:
    message = event.message
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key_b64=_b64(message.key),
        value_b64=_b64(message.value),
        reason=rejected.reason,
        detail=rejected.detail,
        field=rejected.field,
        received_at=datetime.now(UTC),
    )


async def send_outputs(key: bytes, outputs: Outputs) -> None:
    for alert in outputs.alerts:
        await alerts.send(key=key, value=alert.dumps())
        metrics.alerts_raised.labels(alert.kind, alert.severity, alert.region, alert.sector).inc()
        metrics.event_to_alert.labels(alert.kind).observe(time.time() - outputs.event_time_s)
    change = outputs.tier_change
    if change is not None:
        await tier_changes.send(key=key, value=change.dumps())
        metrics.tier_changes.labels(change.previous_tier or "none", change.tier).inc()


#: Events per batch, and how long to wait to fill one. A batch loads and stores
#: each subject's state (and each device's model) once, however many records it holds.
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.02


class BatchCache(Generic[V]):
    """Working copies of one table's values during a batch: each key loaded and stored once."""

    def __init__(
        self, table: TableT, decode: Callable[[bytes], V], encode: Callable[[V], bytes]
    ) -> None:
        self.table, self.decode, self.encode = table, decode, encode
        self.values: dict[bytes, V] = {}
        self.owners: dict[bytes, EventT] = {}  # changed keys, each with one of its events

    def get(self, key: bytes) -> V | None:
        if key not in self.values:
            stored = self.table.get(key)
            if stored is None:
                return None
            self.values[key] = self.decode(stored)
        return self.values[key]

    def put(self, key: bytes, value: V, owner: EventT) -> None:
        self.values[key] = value
        self.owners[key] = owner

    def flush(self) -> dict[bytes, V]:
        """Write every changed value; return the changed keys and values.

        Faust routes a table write to the changelog partition of the *current
        event*. A batch has no single current event, so each write names an
        event of its own key, whose partition owns that key.
        """
        for key, owner in self.owners.items():
            token = _current_event.set(weakref.ref(owner))
            try:
                self.table[key] = self.encode(self.values[key])
            finally:
                _current_event.reset(token)
        return {key: self.values[key] for key in self.owners}


def _load_detector(raw: bytes) -> StreamAnomalyDetector:
    return StreamAnomalyDetector.from_dict(orjson.loads(raw))


def _dump_detector(detector: StreamAnomalyDetector) -> bytes:
    return orjson.dumps(detector.to_dict())


@cache
def _topic_metrics(topic: str) -> tuple[Counter, Histogram]:
    """The per-event metrics of a topic, looked up once (labels() costs per call)."""
    return metrics.events_consumed.labels(topic), metrics.event_lag.labels(topic)


async def ingest_one(
    event: EventT, states: BatchCache[SubjectState], models: BatchCache[StreamAnomalyDetector]
) -> None:
    """Process one input message against the batch's working copies."""
    started = time.perf_counter()
    message = event.message
    consumed, lag = _topic_metrics(message.topic)
    consumed.inc()
    record = decode_input(message.topic, message.key, message.value)
    if isinstance(record, Rejected):
        await dead_letters.send(key=message.key, value=dead_letter(event, record).dumps())
        metrics.dead_letters.labels(message.topic, record.reason).inc()
        return
    key = record.subject.encode()
    state, outputs = process(states.get(key), record, policy)
    if outputs.duplicate:
        metrics.duplicate_events.labels(message.topic).inc()
        return
    states.put(key, state, event)
    if isinstance(record, IotReading):
        model_key = device_key(record)
        detector = models.get(model_key) or StreamAnomalyDetector()
        scoring_started = time.perf_counter()
        anomaly = detect_iot_anomaly(detector, record, state, policy)
        metrics.model_scoring_time.labels("iot").observe(time.perf_counter() - scoring_started)
        models.put(model_key, detector, event)
        if anomaly is not None:
            outputs.alerts.append(anomaly)
    await send_outputs(key, outputs)
    lag.observe(time.time() - outputs.event_time_s)
    metrics.processing_time.observe(time.perf_counter() - started)


@app.agent(inputs, concurrency=1)
async def ingest(stream: faust.StreamT[bytes]) -> None:
    # take_events acks a batch only after this loop body has handled it, so a
    # crash replays the batch; redelivered records are then dropped by the
    # per-subject event-id memory.
    batches = cast(faust.Stream[bytes], stream).take_events(BATCH_MAX, within=BATCH_WITHIN_S)
    async for events in batches:
        states = BatchCache(subjects, SubjectState.from_bytes, SubjectState.to_bytes)
        models = BatchCache(device_models, _load_detector, _dump_detector)
        for event in events:
            await ingest_one(event, states, models)
        dirty_subjects.update(states.flush())
        models.flush()
