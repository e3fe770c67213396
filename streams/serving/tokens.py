"""Mirror ``risk.access-tokens`` into Redis ``cw:tokens``, where requests are authenticated.

Kafka holds the tokens (compacted, keyed by token hash); Redis is a cache. The
agent applies every record idempotently (revocation is final, see
streams/http/token_store.py), and the token topic is one of the topics the
serving view is rebuilt from (:class:`streams.serving.view.ServingView`), so a
Redis that lost its data gets its tokens back in the same rebuild as its
alerts and tiers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from streams.serving.view import apply_token, replay_outputs
from topics.access import parse_access_token
from topics.catalogue import ACCESS_TOKENS
from topics.decode import Rejected
from topics.validation import InvalidRecord

if TYPE_CHECKING:
    from streams.wiring import Wiring


def register(w: Wiring) -> None:
    async def serve_tokens(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                parse_access_token(event.value)
            except InvalidRecord as exc:
                rejected = Rejected(exc.reason.value, exc.detail, exc.field)
                await w.publish.dead_letter(event, rejected)
                continue
            await apply_token(event.value, w.redis)

    name = f"{__name__}.serve_tokens"
    w.app.agent(w.channels.access_tokens, name=name, concurrency=1)(serve_tokens)


async def rebuild_tokens(client: Any, bootstrap: str) -> int:
    """Apply every record of ``risk.access-tokens``, from the beginning, to Redis.

    The serving rebuild already does this when Redis lost its data; this is for
    refilling the tokens alone. Returns the number of records applied.
    """
    return await replay_outputs(bootstrap, {ACCESS_TOKENS.name: apply_token}, client)
