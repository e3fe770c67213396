"""The alert manager: one :class:`~detectors.alert_book.AlertBook` per subject.

Detectors send candidate alerts, and people (through the API) and the
escalation timer send commands, to ``risk.internal.alert-candidates``, keyed
like ``risk.alerts``; so one manager owns each subject's alerts and sees every
change to them in order. A candidate the ingest agent (streams/agents/ingest.py)
raises itself is decided in place, without the hop through the broker, when
its book is kept in the partition of the record that raised it (the key's
partition on the candidates topic is that record's, and this worker holds it:
the topics have the same partition count, so Faust assigns partition *p* of
each to the same worker); otherwise, as for every other detector, it goes
through the topic to the manager's agent. The two take the books in turns, a
batch at a time (:meth:`AlertManager.batch`), so neither stores over the other
and a candidate from the topic waits for at most one ingest batch, not for
the ingest agent's backlog. The manager publishes lifecycle snapshots on
``risk.alerts``, and sends a daily digest's manager the alerts it counts
(pipeline/digests.py), the same way.

Silences live on the compacted topic ``risk.silences``, mirrored in Redis by
the serving agents; the manager reads the active ones from Redis every few
seconds (and keeps its last good copy if Redis is away).

Wiring only: what a candidate or a command does to the book is decided in
pipeline/alert_manager.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property, partial
from typing import TYPE_CHECKING

import orjson
import redis.asyncio as aioredis
from faust.types import EventT

from detectors.alert_book import AlertBook
from detectors.policy import Policy
from pipeline.alert_manager import AlertContext, Output, escalation, in_force, step
from streams.agents.keyed import DECODED_MAX, take_message
from streams.agents.publish import alert_key
from streams.runtime.batches import batch_agent
from streams.runtime.partitions import active_partitions, key_partition
from streams.runtime.tables import BatchCache
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


class AlertManager:
    """The alert books of the partitions this worker holds, and the silences in force."""

    def __init__(self, w: Wiring) -> None:
        self.w = w
        self.silences: list[Silence] = []
        self.decoded = w.tables.keep_decoded(DECODED_MAX)
        self.turn = asyncio.Lock()

    def handle(self, book: AlertBook | None, value: bytes) -> tuple[AlertBook, list[Output]]:
        """A message of ``risk.internal.alert-candidates`` against its book."""
        return handle_alert_message(self.w.context.policy, self.silences, book, value)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[AlertBatch]:
        """The books for one batch, the manager's agent's or the ingest agent's, one batch
        at a time; the holder flushes them. A batch that fails forgets the decoded books:
        they may have changed in memory and not in the table."""
        async with self.turn:
            try:
                yield AlertBatch(self)
            except BaseException:
                self.decoded.clear()
                raise


class AlertBatch:
    """One batch's working copies of the alert books (the manager's agent's or the ingest
    agent's), each loaded and stored once."""

    def __init__(self, manager: AlertManager) -> None:
        self.manager, self.w = manager, manager.w
        table = self.w.tables.alert_books
        self.books = BatchCache(
            table, AlertBook.from_bytes, AlertBook.to_bytes, self.w.outbox, manager.decoded
        )
        self.topic = self.w.channels.alert_candidates.get_topic_name()

    async def take(self, event: EventT) -> None:
        """A message of ``risk.internal.alert-candidates``: a candidate or a command."""
        await take_message(
            self.w, self.books, event, self.manager.handle, partial(self.emit, event)
        )

    async def raise_alert(self, alert: Alert, event: EventT) -> None:
        """A candidate raised while working ``event``: decided here if its book is kept in
        ``event``'s partition, else sent to the manager that keeps it."""
        key = alert_key(alert.subject, alert.dedup_key)
        if not self.decides_here(key, event.message.partition):
            await self.w.publish.alert(alert)
            return
        book, outputs = self.manager.handle(self.books.get(key), alert.dumps())
        self.books.put(key, book, event)
        for output in outputs:
            await self.emit(event, output)

    def decides_here(self, key: bytes, partition: int) -> bool:
        """Whether the book of ``key`` is in ``partition``, held by this worker."""
        return partition in self.held and key_partition(self.w.app, self.topic, key) == partition

    @cached_property
    def held(self) -> set[int]:
        """The partitions of the candidates topic this worker holds (as of the batch's
        first alert: a rebalance waits for the batch)."""
        return active_partitions(self.w.app, self.topic)

    async def emit(self, event: EventT, output: Output) -> None:
        """A snapshot goes to ``risk.alerts``; a digest's candidate to the digest's manager."""
        if isinstance(output, Alert):
            await self.raise_alert(output, event)
        else:
            await self.w.publish.alert_snapshot(output)

    async def flush(self) -> None:
        await self.books.flush()


def register(w: Wiring) -> AlertManager:
    """The manager's agent, the silences it applies (refreshed from Redis) and escalation;
    return the manager, for the ingest agent to decide its own alerts with."""
    manager = AlertManager(w)
    context, redis, active_silences = w.context, w.redis, manager.silences

    async def manage_alerts(events: list[EventT]) -> None:
        async with manager.batch() as batch:
            for event in events:
                await batch.take(event)
            await batch.flush()

    batch_agent(w.app, w.channels.alert_candidates, f"{__name__}.manage_alerts", manage_alerts)

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

    return manager
