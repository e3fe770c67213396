"""Mirror ``risk.access-tokens`` into Redis ``cw:tokens``, where requests are authenticated.

Kafka holds the tokens (compacted, keyed by token hash); Redis is a cache. The
agent applies every record idempotently (revocation is final, see
streams/http/token_store.py), and the token topic joins the serving view's replay
(:data:`streams.serving.view.APPLIERS`), so a Redis that lost its data gets its
tokens back in the same rebuild as its alerts and tiers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import faust

from streams.agents.publish import send_dead_letter
from streams.app import app
from streams.http.token_store import store_token
from streams.runtime.channels import access_tokens
from streams.serving.view import APPLIERS, redis, replay_outputs
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
    return await replay_outputs({ACCESS_TOKENS.name: apply_token}, client, bootstrap)
