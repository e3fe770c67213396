"""The cases in the Redis serving view (issue 17): applied from ``risk.cases``.

| key | type | holds |
|---|---|---|
| ``cw:case:{case_id}`` | string | the case JSON as on ``risk.cases`` |
| ``cw:case-revisions`` | hash | case id → revision applied (a replay applies only newer ones) |
| ``cw:case-of:{key}`` | string | a subject's (or incident's) current case id |
| ``cw:cases:open`` | zset | open case ids by opening time |
| ``cw:cases:due`` | zset | open, not yet escalated case ids by SLA due time |
| ``cw:case-verdicts`` | hash | ``case|alert`` → ``rule|kind|verdict`` (precision per rule) |

Like the rest of the view, it holds nothing the topic cannot give back.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from pipeline.cases import Case, verdict_of
from streams.serving.redis_keys import PREFIX
from topics.wire_time import epoch

CASE_REVISIONS = f"{PREFIX}:case-revisions"
OPEN_CASES = f"{PREFIX}:cases:open"
CASES_DUE = f"{PREFIX}:cases:due"
CASE_VERDICTS = f"{PREFIX}:case-verdicts"


def case(case_id: str) -> str:
    return f"{PREFIX}:case:{case_id}"


def case_of(key: str) -> str:
    return f"{PREFIX}:case-of:{key}"


async def apply_case(redis: aioredis.Redis, value: bytes) -> None:
    """Apply one ``risk.cases`` record, unless a newer revision of the case is there."""
    document = orjson.loads(value)
    current = Case.from_json(document)
    case_id = current.case_id
    applied = await redis.hget(CASE_REVISIONS, case_id)
    if applied is not None and int(applied) >= current.revision:
        return
    pipe = redis.pipeline(transaction=True)
    pipe.set(case(case_id), value)
    pipe.hset(CASE_REVISIONS, case_id, current.revision)
    pipe.set(case_of(current.key), case_id)
    if current.closed:
        pipe.zrem(OPEN_CASES, case_id)
    else:
        pipe.zadd(OPEN_CASES, {case_id: epoch(current.opened_at)})
    if current.closed or current.escalated_at is not None:
        pipe.zrem(CASES_DUE, case_id)
    else:
        pipe.zadd(CASES_DUE, {case_id: epoch(current.due_at)})
    verdicts = verdict_of(current)
    if verdicts:
        pipe.hset(CASE_VERDICTS, mapping=verdicts)
    await pipe.execute()


async def read_case(redis: aioredis.Redis, case_id: str) -> dict[str, Any] | None:
    raw = await redis.get(case(case_id))
    return None if raw is None else dict(orjson.loads(raw))


async def open_cases(redis: aioredis.Redis) -> list[dict[str, Any]]:
    """Every open case, oldest first."""
    ids = await redis.zrange(OPEN_CASES, 0, -1)
    raw = await redis.mget([case(i.decode()) for i in ids]) if ids else []
    return [orjson.loads(doc) for doc in raw if doc is not None]


async def verdicts(redis: aioredis.Redis) -> list[str]:
    """Every alert's verdict as ``rule|kind|verdict``."""
    return [v.decode() for v in (await redis.hgetall(CASE_VERDICTS)).values()]
