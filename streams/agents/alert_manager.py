"""The alert manager: one :class:`~detectors.alert_book.AlertBook` per subject.

Detectors send candidate alerts, and people (through the API) and the
escalation timer send commands, to ``risk.internal.alert-candidates``, keyed
like ``risk.alerts``; so one agent owns each subject's alerts and sees every
change to them in order. It publishes lifecycle snapshots on ``risk.alerts``,
and sends a daily digest's manager the alerts it counts (pipeline/digests.py).

Silences live on the compacted topic ``risk.silences``, mirrored in Redis by
the serving agents; the manager reads the active ones from Redis every few
seconds (and keeps its last good copy if Redis is away).

Wiring only: what a candidate or a command does to the book is decided in
pipeline/alert_manager.py.
"""

from __future__ import annotations

import logging
import time

import faust
import orjson
import redis.asyncio as aioredis

from detectors.alert_book import AlertBook
from pipeline.alert_manager import AlertContext, Output, escalation, in_force, step
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import alert_key, publish_alert_snapshot, send_alert
from streams.app import app
from streams.runtime.channels import alert_candidates, produce
from streams.runtime.tables import bytes_table
from streams.serving import redis_keys as keys
from streams.serving.view import redis
from streams.settings import worker_policy
from topics.internal import Command, decode_alert_message, encode_command
from topics.risk import Alert
from topics.silences import Silence

log = logging.getLogger(__name__)
alert_books = bytes_table(
    "alert-books", "Open alerts per subject with counts and status (detectors.alert_book)."
)
SILENCE_REFRESH_S = 1.0
ESCALATION_CHECK_S = 10.0

#: The silences the manager applies, refreshed from Redis.
active_silences: list[Silence] = []


async def send_command(command: Command, subject: str | None, dedup_key: str) -> None:
    """Queue an action on an alert for the agent that owns it."""
    await produce(alert_candidates, alert_key(subject, dedup_key), encode_command(command))


def handle_alert_message(book: AlertBook | None, value: bytes) -> tuple[AlertBook, list[Output]]:
    context = AlertContext(worker_policy(), active_silences, time.time())
    return step(book, decode_alert_message(value), context)


async def send_output(output: Output) -> None:
    """A snapshot goes to ``risk.alerts``; a digest's candidate to the digest's manager."""
    if isinstance(output, Alert):
        await send_alert(output)
    else:
        await publish_alert_snapshot(output)


@app.agent(alert_candidates, concurrency=1)
async def manage_alerts(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        alert_books,
        AlertBook.from_bytes,
        AlertBook.to_bytes,
        handle_alert_message,
        send_output,
    )


@app.timer(SILENCE_REFRESH_S)
async def refresh_silences() -> None:
    try:
        stored = await redis.hgetall(keys.SILENCES)
    except aioredis.RedisError as exc:
        log.warning("Redis unavailable, keeping %d known silences: %s", len(active_silences), exc)
        return
    found = [Silence.loads(raw) for raw in stored.values()]
    active_silences[:] = in_force(found, time.time())


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
            command = escalation(alert, worker_policy().alerts, time.time())
            await send_command(command, alert["subject"], alert["dedup_key"])
    except aioredis.RedisError as exc:
        log.warning("Redis unavailable, escalation check deferred: %s", exc)
