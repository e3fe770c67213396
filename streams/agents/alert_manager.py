"""The alert manager: one :class:`~detectors.alert_book.AlertBook` per subject.

Detectors send candidate alerts, and people (through the API) and the
escalation timer send commands, to ``risk.internal.alert-candidates``, keyed
like ``risk.alerts``; so one agent owns each subject's alerts and sees every
change to them in order. It publishes lifecycle snapshots on ``risk.alerts``.

Silences live on the compacted topic ``risk.silences``, mirrored in Redis by
the serving agents; the manager reads the active ones from Redis every few
seconds (and keeps its last good copy if Redis is away).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis

from detectors.alert_book import Action, AlertBook, Command, Silence, Snapshot
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import alert_key, publish_alert_snapshot
from streams.app import app
from streams.runtime.channels import alert_candidates, produce
from streams.runtime.tables import bytes_table
from streams.serving import redis_keys as keys
from streams.serving.view import redis
from streams.settings import worker_policy
from topics.wire_time import epoch

log = logging.getLogger(__name__)
policy = worker_policy()
alert_books = bytes_table(
    "alert-books", "Open alerts per subject with counts and status (detectors.alert_book)."
)
SILENCE_REFRESH_S = 1.0
ESCALATION_CHECK_S = 10.0

#: The silences the manager applies, refreshed from Redis.
active_silences: list[Silence] = []


def silence_of(document: Mapping[str, Any]) -> Silence:
    return Silence(
        silence_id=document["silence_id"],
        matchers=dict(document["matchers"]),
        starts_s=epoch(document["starts_at"]),
        ends_s=epoch(document["ends_at"]),
        reason=document["reason"],
        author=document["author"],
    )


def command_message(command: Command) -> bytes:
    return orjson.dumps({"command": asdict(command)})


async def send_command(command: Command, subject: str | None, dedup_key: str) -> None:
    """Queue an action on an alert for the agent that owns it."""
    await produce(alert_candidates, alert_key(subject, dedup_key), command_message(command))


def handle_alert_message(book: AlertBook | None, value: bytes) -> tuple[AlertBook, list[Snapshot]]:
    book = book if book is not None else AlertBook()
    document = orjson.loads(value)
    if "command" in document:
        fields = document["command"]
        command = Command(**{**fields, "action": Action(fields["action"])})
        return book, book.command(command)
    return book, book.receive(document, active_silences, policy.alerts, time.time())


@app.agent(alert_candidates, concurrency=1)
async def manage_alerts(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        alert_books,
        AlertBook.from_bytes,
        AlertBook.to_bytes,
        handle_alert_message,
        publish_alert_snapshot,
    )


@app.timer(SILENCE_REFRESH_S)
async def refresh_silences() -> None:
    try:
        stored = await redis.hgetall(keys.SILENCES)
    except aioredis.RedisError as exc:
        log.warning("Redis unavailable, keeping %d known silences: %s", len(active_silences), exc)
        return
    now = time.time()
    found = [silence_of(orjson.loads(raw)) for raw in stored.values()]
    active_silences[:] = [s for s in found if s.ends_s > now]


@app.timer(ESCALATION_CHECK_S)
async def escalate_overdue() -> None:
    """Escalate critical alerts nobody acknowledged within the SLA (due times are in Redis).

    Every worker may run this; escalation is idempotent, so a duplicate command
    changes nothing.
    """
    try:
        due = await redis.zrangebyscore(keys.ESCALATION_DUE, "-inf", time.time())
        for alert_id in due:
            raw = await redis.get(keys.alert(alert_id.decode()))
            await redis.zrem(keys.ESCALATION_DUE, alert_id)
            if raw is None:
                continue
            alert = orjson.loads(raw)
            note = f"not acknowledged within {policy.alerts.critical_ack_sla_s / 60:g} minutes"
            command = Command(Action.ESCALATE, alert["alert_id"], "system", note, time.time())
            await send_command(command, alert["subject"], alert["dedup_key"])
    except aioredis.RedisError as exc:
        log.warning("Redis unavailable, escalation check deferred: %s", exc)
