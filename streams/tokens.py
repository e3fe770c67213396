"""Mirror ``risk.access-tokens`` into Redis ``cw:tokens``, where requests are authenticated.

Kafka holds the tokens (compacted, keyed by token hash); Redis is a cache. The
agent applies every record idempotently (revocation is final, see
streams/token_store.py), and the token topic joins the serving view's replay
(:data:`streams.serving.APPLIERS`), so a Redis that lost its data gets its
tokens back in the same rebuild as its alerts and tiers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.app import app, settings
from streams.channels import access_tokens
from streams.end_offsets import true_end_offsets
from streams.publish import send_dead_letter
from streams.serving import APPLIERS, redis
from streams.settings import bootstrap_servers
from streams.token_store import store_token
from topics.access import parse_access_token
from topics.catalogue import ACCESS_TOKENS
from topics.decode import Rejected
from topics.validation import InvalidRecord

log = logging.getLogger(__name__)


async def _nothing() -> None:
    return None


def apply_token(value: bytes, client: Any = None) -> Awaitable[Any]:
    """Store one token record in Redis; an unreadable record is logged and skipped,
    so one bad record cannot stop a replay of the whole view."""
    try:
        return store_token(client if client is not None else redis, value)
    except InvalidRecord as exc:
        log.error("skipping unreadable record on %s: %s", ACCESS_TOKENS.name, exc)
        return _nothing()


APPLIERS[ACCESS_TOKENS.name] = apply_token


@app.agent(access_tokens, concurrency=1)
async def serve_tokens(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        try:
            parse_access_token(event.value)
        except InvalidRecord as exc:
            await send_dead_letter(event, Rejected(exc.reason.value, exc.detail, exc.field))
            continue
        await apply_token(event.value)


async def rebuild_tokens(client: Any = None, bootstrap: str | None = None) -> int:
    """Apply every record of ``risk.access-tokens``, from the beginning, to Redis.

    The serving rebuild already does this when Redis lost its data; this is for
    refilling the tokens alone. Returns the number of records applied.
    """
    bootstrap = bootstrap or bootstrap_servers(settings.kafka)
    client = client if client is not None else redis
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    applied = 0
    try:
        partitions = [
            TopicPartition(ACCESS_TOKENS.name, p)
            for p in sorted(consumer.partitions_for_topic(ACCESS_TOKENS.name) or ())
        ]
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await true_end_offsets(bootstrap, await consumer.end_offsets(partitions))
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.value is not None:
                        await apply_token(message.value, client)
                        applied += 1
                    if message.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return applied
