"""Sending alerts and dead letters, with their metrics: one way for every agent."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from faust.types import EventT

from streams import metrics
from streams.channels import alerts, dead_letters
from topics.decode import Rejected
from topics.risk import Alert, DeadLetter


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


async def send_dead_letter(event: EventT, rejected: Rejected) -> None:
    """Keep a record nobody can process, byte for byte, with the reason."""
    message = event.message
    await dead_letters.send(key=message.key, value=dead_letter(event, rejected).dumps())
    metrics.dead_letters.labels(message.topic, rejected.reason).inc()


async def send_alert(alert: Alert) -> None:
    """Publish an alert keyed by its subject (area-wide alerts: by their dedup key)."""
    key = (alert.subject or alert.dedup_key).encode()
    await alerts.send(key=key, value=alert.dumps())
    metrics.alerts_raised.labels(alert.kind, alert.severity, alert.region, alert.sector).inc()
    metrics.event_to_alert.labels(alert.kind).observe(time.time() - alert.created_at.timestamp())
