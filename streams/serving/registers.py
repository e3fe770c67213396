"""Mirror the association member register, the voluntary registrations and the decisions
on a subject's own applications into Redis.

``registry.memberships`` (seed 十八) decides what an association's token may
see, so a request reads it from Redis ``cw:members:{association}``; the
register is sent by associations and the registry of social organisations, so
a record that breaks its contract goes to ``risk.dlq`` with the reason and the
records around it are applied. ``risk.registrations`` (seed 五) is written by
the self-service API only. Both topics are compacted and among those the
serving view is rebuilt from (:class:`streams.serving.view.ServingView`), so a
Redis that lost its data gets them back. So are the repair decisions of
``risk.workflow`` (approved, rejected with the reasons and the earliest date,
voided): a subject reads them through self-service (issue 18).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import faust
import orjson

from streams.http.access_keys import members
from streams.serving import redis_keys as keys
from topics.decode import Rejected
from topics.memberships import KEY_SEPARATOR, decode_membership, plain_id
from topics.registrations import RegistrationStatus, decode_registration
from topics.validation import InvalidRecord
from topics.vocabulary import NoticeKind

if TYPE_CHECKING:
    from streams.wiring import Wiring


def apply_membership(value: bytes, client: Any) -> Awaitable[Any]:
    """Store one membership (the latest record of a pair wins: the topic is keyed by it).

    Raises InvalidRecord for a record that breaks the contract: nothing unreadable
    may widen what an association sees."""
    membership = decode_membership(value)
    result: Awaitable[Any] = client.hset(members(membership.association), membership.subject, value)
    return result


async def forget_membership(key: bytes | None, client: Any) -> bool:
    """Apply a compaction tombstone (``"{association}|{subject}"``, no value): the
    membership is deleted. False when the key is not a membership's."""
    association, separator, subject = (
        (key or b"").decode("utf-8", "replace").partition(KEY_SEPARATOR)
    )
    if not (separator and plain_id(association) and subject):
        return False
    await client.hdel(members(association), subject)
    return True


# A decided registration is never made pending again (a replayed older record).
# KEYS: registrations, pending index, the subject's set. ARGV: id, json, status, filed (epoch).
APPLY_REGISTRATION = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and ARGV[3] == 'pending' then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and doc['status'] ~= 'pending' then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[3] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""


def apply_registration(value: bytes, client: Any) -> Awaitable[Any]:
    """Store one registration's state and index it (pending ones for officials)."""
    registration = decode_registration(value)
    pending = registration.status is RegistrationStatus.PENDING
    result: Awaitable[Any] = client.eval(
        APPLY_REGISTRATION,
        3,
        keys.REGISTRATIONS,
        keys.PENDING_REGISTRATIONS,
        keys.subject_registrations(registration.subject),
        registration.registration_id,
        value,
        "pending" if pending else str(registration.status),
        registration.filed_at.timestamp(),
    )
    return result


#: The notices that answer a subject's own application (what self-service shows it).
DECISIONS = frozenset(
    {NoticeKind.REPAIR_APPROVED, NoticeKind.REPAIR_REJECTED, NoticeKind.REPAIR_VOIDED}
)


def apply_decision(value: bytes, client: Any) -> Awaitable[Any]:
    """Keep a repair decision for its subject (``cw:subject:{uscc}:decisions``); other
    notices are for departments and are not kept here. The notice id makes a replay
    idempotent."""
    notice = orjson.loads(value)
    if notice["kind"] not in DECISIONS:
        return _nothing()
    key = keys.subject_decisions(notice["subject"])
    result: Awaitable[Any] = client.hset(key, notice["notice_id"], value)
    return result


async def _nothing() -> None:
    return None


def register(w: Wiring) -> None:
    async def serve_memberships(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                if event.value is None and await forget_membership(event.key, w.redis):
                    continue  # a tombstone: the pair is gone from the register
                await apply_membership(event.value, w.redis)
            except InvalidRecord as exc:
                rejected = Rejected(exc.reason.value, exc.detail, exc.field)
                await w.publish.dead_letter(event, rejected)

    name = f"{__name__}.serve_memberships"
    w.app.agent(w.channels.memberships, name=name, concurrency=1)(serve_memberships)
