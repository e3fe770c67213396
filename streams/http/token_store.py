"""Access tokens in Redis: store one (revocation is final), look one up by hash.

Written by the token agent (streams/serving/tokens.py) from ``risk.access-tokens`` and
by ``creditwatch token`` directly, so a new token works before any worker has
read the topic. The same Lua script serves both, with a synchronous client, a
``redis.asyncio`` client or a pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

from streams.http.access_keys import TOKENS
from topics.access import AccessToken, parse_access_token
from topics.validation import InvalidRecord

log = logging.getLogger(__name__)

# A token is never un-revoked: records of one token can arrive out of order
# (the CLI writes Redis at once, the agent replays the topic later), and a
# replayed "created" record must not revive a revoked token.
# KEYS: the tokens hash. ARGV: token hash, record JSON, revoked (1/0).
APPLY_TOKEN = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and ARGV[3] == '0' then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and doc['revoked_at'] ~= nil and doc['revoked_at'] ~= cjson.null
  then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def store_token(client: Any, value: bytes) -> Any:
    """Apply one ``risk.access-tokens`` record; returns what ``client.eval`` returns.

    That is 1/0 on a synchronous client, an awaitable on ``redis.asyncio`` and
    the pipeline itself on a pipeline. Raises InvalidRecord for a record that
    is not a token, so nothing unreadable can grant access.
    """
    token = parse_access_token(value)
    revoked = "1" if token.revoked else "0"
    return client.eval(APPLY_TOKEN, 1, TOKENS, token.token_hash, value, revoked)


async def find_token(client: Any, token_hash: str) -> AccessToken | None:
    """The stored token with this hash, revoked or not; None if unknown or unreadable."""
    raw = await client.hget(TOKENS, token_hash)
    if raw is None:
        return None
    try:
        return parse_access_token(raw)
    except InvalidRecord as exc:
        log.error("unreadable token record in Redis for %s…: %s", token_hash[:12], exc)
        return None
