"""The policy in force on a worker, and the start-up read of ``risk.policy-versions``
(issue 17, item 4).

An approved policy version on the topic outranks the worker's policy file: the
file is the policy a deployment starts from, and going back to it is a
proposal like any other. So before a worker re-grades or audits anything at
start-up, it reads the topic to its end (:func:`catch_up`) and puts the newest
approved version in force; from then on streams/agents/policy_follow.py
follows the topic. Every record read is mirrored into Redis
(``cw:policy:versions``) for the API and the approval page, so a Redis that
lost them has them back at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiokafka import ConsumerRecord, TopicPartition

from detectors.policy import Policy, PolicyError
from pipeline.context import StepContext
from pipeline.policy_versions import to_put_in_force
from streams.runtime.end_offsets import read_to_end
from streams.serving import redis_keys as keys
from streams.settings import bootstrap_servers
from topics.catalogue import RISK_POLICY_VERSIONS
from topics.policy_versions import PolicyVersion

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)

#: How long start-up waits for the policy topic before it goes on with the policy it has.
CATCH_UP_TIMEOUT_S = 30.0
#: The policy topic's only partition.
PARTITION = TopicPartition(RISK_POLICY_VERSIONS.name, 0)


class PolicyInForce:
    """The policy in force on this worker (in ``context``, which every component holds),
    its file's text, and how far this worker has read the policy topic."""

    def __init__(self, context: StepContext, text: str) -> None:
        self.context, self.text = context, text
        self.caught_up = asyncio.Event()
        self.catching_up = asyncio.Lock()
        self.next_offset = 0


async def catch_up(w: Wiring) -> None:
    """Read the policy topic to its end once, and put its newest approved version in force
    without re-grading (the start-up's re-grade, which calls this first, does that).

    Faust starts a worker's tasks only after its first rebalance, so the
    follower's task would come too late for the start-up re-grade. A broker that
    cannot answer within :data:`CATCH_UP_TIMEOUT_S` leaves the policy as it is;
    the follower reads the topic on from where this stopped.
    """
    async with w.policy.catching_up:
        if w.policy.caught_up.is_set():
            return
        try:
            await asyncio.wait_for(_read_to_end(w), CATCH_UP_TIMEOUT_S)
        except Exception as exc:  # TimeoutError, or the broker failed
            log.warning("creditwatch: policy versions not read at start-up: %r", exc)
        finally:
            w.policy.caught_up.set()


async def _read_to_end(w: Wiring) -> None:
    newest: PolicyVersion | None = None
    async for batches in read_to_end(bootstrap_servers(w.settings.kafka), [PARTITION]):
        for message in batches.get(PARTITION, []):
            record = await mirror(w, message)
            newest = record if approved(record) else newest
    if newest is not None:
        load(w, newest)


def approved(record: PolicyVersion | None) -> bool:
    return record is not None and record.approved_at is not None


async def mirror(w: Wiring, message: ConsumerRecord[bytes, bytes]) -> PolicyVersion | None:
    """The record, mirrored into Redis; None (logged, left on the topic) if it is not one."""
    w.policy.next_offset = message.offset + 1
    try:
        record = PolicyVersion.loads(message.value)
    except Exception as exc:
        log.error(
            "creditwatch: %s offset %d is not a policy version, skipped: %s",
            RISK_POLICY_VERSIONS.name,
            message.offset,
            exc,
        )
        return None
    try:
        await w.redis.hset(keys.POLICY_VERSIONS, record.proposal_id, message.value)
    except aioredis.RedisError as exc:
        log.warning("creditwatch: policy version %s not mirrored: %s", record.proposal_id, exc)
    return record


def load(w: Wiring, record: PolicyVersion) -> Policy | None:
    """Put an approved version in force in the context every step reads; the policy, or
    None if it was in force already (or cannot be loaded: logged)."""
    try:
        policy = to_put_in_force(record, w.context.policy)
    except PolicyError as exc:  # checked when proposed; a newer worker may read it differently
        log.error("creditwatch: approved policy %s not loaded: %s", record.proposal_id, exc)
        return None
    if policy is None:
        return None
    w.context.put_in_force(policy)
    w.policy.text = record.text
    log.warning(
        "creditwatch: policy %s (%s) approved by %s put in force",
        policy.version,
        policy.digest[:12],
        record.approved_by,
    )
    return policy
