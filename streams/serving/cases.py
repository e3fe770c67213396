"""The cases in the Redis serving view (issue 17): applied from ``risk.cases``.

| key | type | holds |
|---|---|---|
| ``cw:case:{case_id}`` | string | the case JSON as on ``risk.cases`` |
| ``cw:case-revisions`` | hash | case id → revision applied (a replay applies only newer ones) |
| ``cw:cases:open`` | zset | open case ids by opening time |
| ``cw:cases:due`` | zset | open, not yet escalated case ids by SLA due time |
| ``cw:case-verdicts`` | hash | ``case|alert`` → ``rule|kind|verdict`` (precision per rule) |

Like the rest of the view, it holds nothing the topic cannot give back: the view's
writer applies ``risk.cases`` live and replays it in a rebuild (streams/serving/view.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


#: Apply a case unless a newer revision of it is there: index it as open or closed, due
#: or not, and keep its verdicts. KEYS: the case, revisions, open, due, verdicts;
#: ARGV: value, case id, revision, closed (1/0), opened (epoch), due (epoch, or "" when
#: closed or escalated), then verdict field and value pairs.
APPLY_CASE = """
local applied = redis.call('HGET', KEYS[2], ARGV[2])
if applied and tonumber(applied) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
end
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
end
for i = 7, #ARGV, 2 do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
end
return 1
"""


def case_applier(redis: aioredis.Redis) -> Callable[..., Awaitable[Any]]:
    """The serving view's applier of ``risk.cases`` (streams/serving/view.py): live, and
    when the view is rebuilt from the topics; idempotent by case revision."""
    script = redis.register_script(APPLY_CASE)

    def apply_case(value: bytes, client: Any = None) -> Awaitable[Any]:
        current = Case.from_json(orjson.loads(value))
        waiting = not current.closed and current.escalated_at is None
        verdicts = [part for pair in verdict_of(current).items() for part in pair]
        return script(
            keys=[
                case(current.case_id),
                CASE_REVISIONS,
                OPEN_CASES,
                CASES_DUE,
                CASE_VERDICTS,
            ],
            args=[
                value,
                current.case_id,
                current.revision,
                1 if current.closed else 0,
                epoch(current.opened_at),
                epoch(current.due_at) if waiting else "",
                *verdicts,
            ],
            client=client,
        )

    return apply_case


async def read_case(redis: aioredis.Redis, case_id: str) -> dict[str, Any] | None:
    raw = await redis.get(case(case_id))
    return None if raw is None else dict(orjson.loads(raw))


async def open_cases(redis: aioredis.Redis) -> list[dict[str, Any]]:
    """Every open case, oldest first."""
    ids = await redis.zrange(OPEN_CASES, 0, -1)
    raw = await redis.mget([case(i.decode()) for i in ids]) if ids else []
    return [orjson.loads(doc) for doc in raw if doc is not None]


async def open_and_overdue(redis: aioredis.Redis, now_s: float) -> tuple[int, int]:
    """How many cases are open, and how many of them are past their due time, from the indexes
    alone (no case is read: the gauges ask every few seconds, whatever the number of cases).

    An open case is either waiting, in ``cw:cases:due`` by its due time, or escalated, which
    happens only once it is overdue (``pipeline.cases``) and leaves the due time as it was.
    """
    pipe = redis.pipeline()  # MULTI: the three counts of one moment
    pipe.zcard(OPEN_CASES)
    pipe.zcard(CASES_DUE)
    pipe.zcount(CASES_DUE, "-inf", now_s)
    open_count, waiting, waiting_overdue = await pipe.execute()
    return open_count, open_count - waiting + waiting_overdue


async def verdicts(redis: aioredis.Redis) -> list[str]:
    """Every alert's verdict as ``rule|kind|verdict``."""
    return [v.decode() for v in (await redis.hgetall(CASE_VERDICTS)).values()]
