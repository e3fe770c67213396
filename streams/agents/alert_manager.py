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
from functools import partial
from typing import TYPE_CHECKING

import orjson
import redis.asyncio as aioredis

from detectors.alert_book import AlertBook
from detectors.policy import Policy
from pipeline.alert_manager import AlertContext, Output, escalation, in_force, step
from streams.agents.keyed import keyed_agent
from streams.agents.publish import Publisher
from streams.serving import redis_keys as keys
from topics.internal import decode_alert_message
from topics.risk import Alert
from topics.silences import Silence

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)
SILENCE_REFRESH_S = 1.0
ESCALATION_CHECK_S = 10.0


def handle_alert_message(
    policy: Policy, silences: list[Silence], book: AlertBook | None, value: bytes
) -> tuple[AlertBook, list[Output]]:
    """A candidate or a command against the subject's book, under the silences in force."""
    context = AlertContext(policy, silences, time.time())
    return step(book, decode_alert_message(value), context)


async def send_output(publish: Publisher, output: Output) -> None:
    """A snapshot goes to ``risk.alerts``; a digest's candidate to the digest's manager."""
    if isinstance(output, Alert):
        await publish.alert(output)
    else:
        await publish.alert_snapshot(output)


def register(w: Wiring) -> None:
    """The manager's agent, the silences it applies (refreshed from Redis), and escalation."""
    context, redis = w.context, w.redis  # the policy in force may change (policy_follow.py)
    active_silences: list[Silence] = []

    def handle(book: AlertBook | None, value: bytes) -> tuple[AlertBook, list[Output]]:
        return handle_alert_message(context.policy, active_silences, book, value)

    channel, table = w.channels.alert_candidates, w.tables.alert_books
    name = f"{__name__}.manage_alerts"
    keyed_agent(w, name, channel, table, AlertBook, handle, partial(send_output, w.publish))

    @w.app.timer(SILENCE_REFRESH_S)
    async def refresh_silences() -> None:
        try:
            stored = await redis.hgetall(keys.SILENCES)
        except aioredis.RedisError as exc:
            known = len(active_silences)
            log.warning("Redis unavailable, keeping %d known silences: %s", known, exc)
            return
        found = [Silence.loads(raw) for raw in stored.values()]
        active_silences[:] = in_force(found, time.time())

    @w.app.timer(ESCALATION_CHECK_S)
    async def escalate_overdue() -> None:
        """Escalate critical alerts nobody acknowledged within the SLA (due times are in
        Redis). Every worker may run this; escalation is idempotent, so a duplicate
        command changes nothing."""
        try:
            due = await redis.zrangebyscore(keys.ESCALATION_DUE, "-inf", time.time())
            for alert_id in due:
                raw = await redis.get(keys.alert(alert_id.decode()))
                await redis.zrem(keys.ESCALATION_DUE, alert_id)
                if raw is None:
                    continue
                alert = orjson.loads(raw)
                command = escalation(alert, context.policy.alerts, time.time())
                await w.publish.command(command, alert["subject"], alert["dedup_key"])
        except aioredis.RedisError as exc:
            log.warning("Redis unavailable, escalation check deferred: %s", exc)
