"""The ingest agent: decode, validate, dedup, update subject state, emit outputs.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC).
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime

import faust
from faust.types import EventT

from detectors.policy import default_policy
from detectors.state import SubjectState
from streams import metrics
from streams.app import app, settings
from streams.channels import alerts, dead_letters, inputs, tier_changes
from streams.processing import Outputs, process
from topics.decode import Rejected, decode_input
from topics.risk import DeadLetter

log = logging.getLogger(__name__)
policy = default_policy()

subjects = app.Table(
    "subject-state",
    default=None,
    schema=faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ),
    partitions=settings.partitions,
    help="Rolling risk state per subject USCC (detectors.state.SubjectState).",
)

#: Subjects whose state changed since the serving view was last refreshed.
dirty_subjects: set[bytes] = set()


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
        metrics.alerts_raised.labels(alert.kind, alert.severity, alert.region).inc()
        metrics.event_to_alert.labels(alert.kind).observe(time.time() - outputs.event_time_s)
    change = outputs.tier_change
    if change is not None:
        await tier_changes.send(key=key, value=change.dumps())
        metrics.tier_changes.labels(change.previous_tier or "none", change.tier).inc()


@app.agent(inputs, concurrency=1)
async def ingest(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        started = time.perf_counter()
        message = event.message
        metrics.events_consumed.labels(message.topic).inc()
        record = decode_input(message.topic, message.key, message.value)
        if isinstance(record, Rejected):
            await dead_letters.send(key=message.key, value=dead_letter(event, record).dumps())
            metrics.dead_letters.labels(message.topic, record.reason).inc()
            continue
        key = record.subject.encode()
        stored = subjects.get(key)
        state = SubjectState.from_bytes(stored) if stored is not None else None
        state, outputs = process(state, record, policy)
        if outputs.duplicate:
            metrics.duplicate_events.labels(message.topic).inc()
            continue
        subjects[key] = state.to_bytes()
        dirty_subjects.add(key)
        await send_outputs(key, outputs)
        metrics.event_lag.labels(message.topic).observe(time.time() - outputs.event_time_s)
        metrics.processing_time.observe(time.perf_counter() - started)
