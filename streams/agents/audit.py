"""The audit trail's single writer: chain each request onto ``risk.audit``.

Seed 十七 (no tampering). Requests arrive on ``risk.internal.audit-requests``
(one partition, so one worker owns the chain at a time); the agent numbers
each one and links it to the previous record by hash (pipeline/audit_trail.py).

Where the chain's head lives: the trail itself. When the agent gains the
partition it reads the last records of ``risk.audit`` and continues from the
last one; it then awaits the broker's acknowledgement of each record before
chaining the next. A table kept beside the log would be a second copy that a
crash can leave out of step with it (the record written but not the table
entry, or the reverse), and each way forges a gap or a duplicate ``seq`` that
``creditwatch audit verify`` would report as tampering. Requests redelivered
after a crash are recognised by ``request_id`` among the last records and
skipped.

Web handlers and the policy audit send requests with
:meth:`streams.agents.publish.Publisher.audit`; CLI commands use
creditwatch/admin_io.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust

from pipeline.audit_trail import TAIL_WINDOW, ChainHead, head_of, next_record
from streams.runtime.end_offsets import read_tail
from streams.settings import bootstrap_servers
from topics.audit import (
    encode_record,
    parse_audit_request,
)
from topics.catalogue import RISK_AUDIT
from topics.decode import Rejected
from topics.validation import InvalidRecord

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)


async def read_head(bootstrap: str, window: int = TAIL_WINDOW) -> ChainHead:
    """The head of the trail as it is on the broker: its last readable record."""
    head, unreadable = head_of(await read_tail(bootstrap, RISK_AUDIT.name, window))
    for exc in unreadable:
        log.error("unreadable record at the end of %s: %s", RISK_AUDIT.name, exc)
    return head


class HeadMemory:
    """The head to chain on: kept in memory, read from the trail after a (re)assignment."""

    def __init__(self, read: Callable[[], Awaitable[ChainHead]]) -> None:
        self.read = read
        self.head: ChainHead | None = None
        self.generation = 0  # counts revocations, so a head read while one happened is not kept

    async def current(self) -> ChainHead:
        if self.head is not None:
            return self.head
        generation = self.generation
        head = await self.read()
        if generation == self.generation:
            self.head = head
        return head

    def forget(self, sender: Any = None, /, *args: Any, **kwargs: Any) -> None:
        """This worker may lose the partition (a rebalance): read the head again."""
        self.head = None
        self.generation += 1


def register(w: Wiring) -> None:
    bootstrap = bootstrap_servers(w.settings.kafka)
    memory = HeadMemory(lambda: read_head(bootstrap))
    w.app.on_partitions_revoked.connect(memory.forget)
    trail = w.channels.audit_trail

    async def chain_audit_records(stream: faust.StreamT[bytes]) -> None:
        """One writer, through the consumer group's single partition owner.

        Two writers could only overlap in a rebalance race (no fencing); the
        trail would then show a repeated ``seq``, which ``audit verify`` reports.
        """
        async for event in stream.events():
            try:
                request = parse_audit_request(event.value)
            except InvalidRecord as exc:
                rejected = Rejected(exc.reason.value, exc.detail, exc.field)
                await w.publish.dead_letter(event, rejected)
                continue
            head = await memory.current()
            record = next_record(head, request, datetime.now(UTC))
            if record is None:
                continue
            # Sent now (not attached to the event) and acknowledged before the next
            # request is chained: the trail on the broker is always what the head says.
            value = encode_record(record)
            delivery = await trail.send(key=str(record.seq).encode(), value=value, force=True)
            await delivery
            head.advance(record)

    name = f"{__name__}.chain_audit_records"
    w.app.agent(w.channels.audit_requests, name=name, concurrency=1)(chain_audit_records)
