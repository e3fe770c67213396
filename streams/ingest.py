"""The ingest agent: decode, validate, dedup, update subject state, emit outputs.

One agent reads all three input topics so one ordered stream per partition owns
each subject's state (the topics are co-partitioned by subject USCC).
"""

from __future__ import annotations

import base64
import logging
import time
import weakref
from datetime import UTC, datetime
from typing import cast

import faust
from faust.streams import _current_event
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
        metrics.alerts_raised.labels(alert.kind, alert.severity, alert.region, alert.sector).inc()
        metrics.event_to_alert.labels(alert.kind).observe(time.time() - outputs.event_time_s)
    change = outputs.tier_change
    if change is not None:
        await tier_changes.send(key=key, value=change.dumps())
        metrics.tier_changes.labels(change.previous_tier or "none", change.tier).inc()


#: Events per batch, and how long to wait to fill one. A batch loads and stores
#: each subject's state once, however many of its records it holds.
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.02


def store_state(key: bytes, state: SubjectState, owner: EventT) -> None:
    """Write a subject's state to the table on behalf of ``owner``.

    Faust routes a table write to the changelog partition of the *current
    event*. A batch has no single current event, so each write names an event
    of its own subject, whose partition owns that subject's state.
    """
    token = _current_event.set(weakref.ref(owner))
    try:
        subjects[key] = state.to_bytes()
    finally:
        _current_event.reset(token)


async def ingest_one(
    event: EventT, batch_states: dict[bytes, SubjectState], changed: dict[bytes, EventT]
) -> None:
    """Process one input message against the batch's working copy of states."""
    started = time.perf_counter()
    message = event.message
    metrics.events_consumed.labels(message.topic).inc()
    record = decode_input(message.topic, message.key, message.value)
    if isinstance(record, Rejected):
        await dead_letters.send(key=message.key, value=dead_letter(event, record).dumps())
        metrics.dead_letters.labels(message.topic, record.reason).inc()
        return
    key = record.subject.encode()
    state = batch_states.get(key)
    if state is None:
        stored = subjects.get(key)
        state = SubjectState.from_bytes(stored) if stored is not None else None
    state, outputs = process(state, record, policy)
    batch_states[key] = state
    if outputs.duplicate:
        metrics.duplicate_events.labels(message.topic).inc()
        return
    changed[key] = event
    await send_outputs(key, outputs)
    metrics.event_lag.labels(message.topic).observe(time.time() - outputs.event_time_s)
    metrics.processing_time.observe(time.perf_counter() - started)


@app.agent(inputs, concurrency=1)
async def ingest(stream: faust.StreamT[bytes]) -> None:
    # take_events acks a batch only after this loop body has handled it, so a
    # crash replays the batch; redelivered records are then dropped by the
    # per-subject event-id memory.
    batches = cast(faust.Stream[bytes], stream).take_events(BATCH_MAX, within=BATCH_WITHIN_S)
    async for events in batches:
        batch_states: dict[bytes, SubjectState] = {}
        changed: dict[bytes, EventT] = {}
        for event in events:
            await ingest_one(event, batch_states, changed)
        for key, owner in changed.items():
            store_state(key, batch_states[key], owner)
        dirty_subjects.update(changed)
