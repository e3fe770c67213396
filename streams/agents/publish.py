"""Sending every output record, with its metrics: one way for every agent."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from faust.types import EventT

from streams import metrics
from streams.runtime.channels import (
    alert_candidates,
    alerts,
    dead_letters,
    list_changes,
    produce,
    publications,
    tier_changes,
    workflow_notices,
)
from topics.decode import Rejected
from topics.lists import ListChange, list_change_key
from topics.publications import Publication, publication_key
from topics.risk import Alert, DeadLetter, TierChange, dead_letter_key
from topics.risk import dead_letter as build_dead_letter
from topics.workflow import WorkflowNotice


def dead_letter(event: EventT, rejected: Rejected) -> DeadLetter:
    """The dead letter of an event's message: bounded whatever the message's size."""
    message = event.message
    return build_dead_letter(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        rejected.reason,
        rejected.detail,
        rejected.field,
    )


async def send_dead_letter(event: EventT, rejected: Rejected) -> None:
    """Keep a record nobody can process, with the reason: whole, or if it is too large
    to copy, an excerpt, its size and digest, and where the original is."""
    message = event.message
    letter = dead_letter(event, rejected)
    await produce(dead_letters, dead_letter_key(message.key), letter.dumps())
    metrics.dead_letters.labels(message.topic, rejected.reason).inc()


def alert_key(subject: str | None, dedup_key: str) -> bytes:
    """Alerts are keyed by subject; area-wide ones by their dedup key."""
    return (subject or dedup_key).encode()


async def send_alert(alert: Alert) -> None:
    """Hand a detector's alert to the alert manager (streams/agents/alert_manager.py)."""
    await produce(alert_candidates, alert_key(alert.subject, alert.dedup_key), alert.dumps())


async def publish_alert_snapshot(snapshot: Mapping[str, Any]) -> None:
    """Publish one lifecycle snapshot on ``risk.alerts``, with its metrics."""
    key = alert_key(snapshot["subject"], snapshot["dedup_key"])
    await produce(alerts, key, orjson.dumps(snapshot))
    if snapshot["event"] == "opened":
        labels = (snapshot[f] for f in ("kind", "severity", "region", "sector"))
        metrics.alerts_raised.labels(*labels).inc()
        delay = time.time() - datetime.fromisoformat(snapshot["created_at"]).timestamp()
        metrics.event_to_alert.labels(snapshot["kind"]).observe(delay)


async def send_tier_change(change: TierChange) -> None:
    await produce(tier_changes, change.subject.encode(), change.dumps())
    metrics.tier_changes.labels(change.previous_tier or "none", change.tier).inc()


async def send_list_change(change: ListChange) -> None:
    key = list_change_key(change.subject, change.list).encode()
    await produce(list_changes, key, change.dumps())
    metrics.list_changes.labels(change.list, change.action).inc()


async def send_notice(notice: WorkflowNotice) -> None:
    await produce(workflow_notices, notice.subject.encode(), notice.dumps())
    metrics.workflow_notices.labels(notice.kind).inc()


async def send_publication(publication: Publication) -> None:
    key = publication_key(publication.subject, publication.event_id).encode()
    await produce(publications, key, publication.dumps())
