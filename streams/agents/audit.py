"""The audit trail's single writer: chain each request onto ``risk.audit``.

Seed 十七 (no tampering). Requests arrive on ``risk.internal.audit-requests``
(one partition, so one worker owns the chain at a time); the agent numbers
each one and links it to the previous record by hash (topics/audit_chain.py).

Where the chain's head lives: the trail itself. When the agent gains the
partition it reads the last records of ``risk.audit`` and continues from the
last one; it then awaits the broker's acknowledgement of each record before
chaining the next. A table kept beside the log would be a second copy that a
crash can leave out of step with it (the record written but not the table
entry, or the reverse), and each way forges a gap or a duplicate ``seq`` that
``creditwatch audit verify`` would report as tampering. Requests redelivered
after a crash are recognised by ``request_id`` among the last records and
skipped.

Web handlers call :func:`audit`; CLI commands use creditwatch/admin_io.py.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.agents.publish import send_dead_letter
from streams.app import app, settings
from streams.runtime.channels import audit_requests, audit_trail
from streams.runtime.end_offsets import true_end_offsets
from streams.settings import bootstrap_servers
from topics.audit import (
    AuditRecord,
    AuditRequest,
    encode_record,
    encode_request,
    new_request,
    parse_audit_record,
    parse_audit_request,
)
from topics.audit_chain import chain
from topics.catalogue import RISK_AUDIT
from topics.decode import Rejected
from topics.validation import InvalidRecord

log = logging.getLogger(__name__)

#: Records read back at start to find the head and recognise redelivered requests.
TAIL_WINDOW = 1000
#: Empty polls in a row after which the trail's tail counts as unreadable.
MAX_EMPTY_POLLS = 30


@dataclass
class ChainHead:
    """The last record appended, and the request ids of the latest ones."""

    last: AuditRecord | None = None
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def seen(self, request_id: str) -> bool:
        return request_id in self.recent

    def advance(self, record: AuditRecord) -> None:
        self.last = record
        self.recent[record.request_id] = None
        while len(self.recent) > TAIL_WINDOW:
            self.recent.popitem(last=False)


#: None until read from the trail; forgotten when this worker may lose the partition.
_head: ChainHead | None = None
#: Counts revocations, so a head read while one happened is not kept.
_generation = 0


@app.on_partitions_revoked.connect
def _forget_head(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    global _head, _generation
    _head = None
    _generation += 1


async def current_head() -> ChainHead:
    """The head to chain on: kept in memory, read from the trail after a (re)assignment."""
    global _head
    if _head is not None:
        return _head
    generation = _generation
    head = await read_head(bootstrap_servers(settings.kafka))
    if generation == _generation:
        _head = head
    return head


async def read_head(bootstrap: str, window: int = TAIL_WINDOW) -> ChainHead:
    """The head of the trail as it is on the broker: its last readable record."""
    head = ChainHead()
    for raw in await _read_tail(bootstrap, window):
        try:
            record = parse_audit_record(raw)
        except InvalidRecord as exc:
            # Not ours (we write only readable records): `audit verify` reports it.
            log.error("unreadable record at the end of %s: %s", RISK_AUDIT.name, exc)
            continue
        if head.last is None or record.seq > head.last.seq:
            head.advance(record)
        else:
            head.recent[record.request_id] = None
    return head


async def _read_tail(bootstrap: str, window: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        if not consumer.partitions_for_topic(RISK_AUDIT.name):
            return []  # no trail yet
        tp = TopicPartition(RISK_AUDIT.name, 0)
        consumer.assign([tp])
        reported = await consumer.end_offsets([tp])
        end = (await true_end_offsets(bootstrap, reported))[tp]
        if end == 0:
            return []
        start = max(0, end - window)
        consumer.seek(tp, start)
        values: list[bytes] = []
        offset, empty_polls = start, 0
        while offset < end:
            batches = await consumer.getmany(tp, timeout_ms=1000)
            empty_polls = 0 if batches else empty_polls + 1
            if empty_polls >= MAX_EMPTY_POLLS:
                # Chaining on a guessed head would fork the trail; fail, and retry on restart.
                raise RuntimeError(f"{RISK_AUDIT.name} stops at offset {offset}, not at {end}")
            for message in batches.get(tp, []):
                offset = message.offset + 1
                if message.value is not None:
                    values.append(message.value)
        return values
    finally:
        await consumer.stop()


@app.agent(audit_requests, concurrency=1)
async def chain_audit_records(stream: faust.StreamT[bytes]) -> None:
    """One writer, through the consumer group's single partition owner.

    Two writers could only overlap in a rebalance race (no fencing); the trail
    would then show a repeated ``seq``, which ``audit verify`` reports.
    """
    async for event in stream.events():
        try:
            request = parse_audit_request(event.value)
        except InvalidRecord as exc:
            await send_dead_letter(event, Rejected(exc.reason.value, exc.detail, exc.field))
            continue
        head = await current_head()
        if head.seen(request.request_id):
            continue  # appended before a crash or rebalance; the offset was not committed
        record = chain(head.last, request, datetime.now(UTC))
        # Sent now (not attached to the event) and acknowledged before the next
        # request is chained: the trail on the broker is always what the head says.
        delivery = await audit_trail.send(
            key=str(record.seq).encode(), value=encode_record(record), force=True
        )
        await delivery
        head.advance(record)


async def audit(request: AuditRequest) -> None:
    """Queue ``request`` for the trail and wait until the broker has it.

    Await it before answering a state-changing request, so an action is never
    reported done without its audit entry being durable. The chaining itself
    happens shortly after, in :func:`chain_audit_records`.
    """
    delivery = await audit_requests.send(
        key=request.actor.encode(), value=encode_request(request), force=True
    )
    await delivery


async def audit_action(
    actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
) -> AuditRequest:
    """Audit an action taken now; returns the request sent (its id names the entry)."""
    request = new_request(actor, action, target, details)
    await audit(request)
    return request
