"""Seed 十七: a change of the policy in force is an audited, state-changing action.

The policy file changes by editing it and restarting the workers, so the
worker is where a change takes effect. At start-up a worker compares the
digest of its policy file with the one last audited (kept in Redis); if they
differ it appends a ``policy.change`` record with the version and both
digests, then records the new digest. Two workers starting together with a new
file may both append it: at least once, never missed.
"""

from __future__ import annotations

import logging
import socket

import redis.asyncio as aioredis

from streams.agents.audit import audit_action
from streams.app import app
from streams.serving import redis_keys as keys
from streams.serving.view import redis
from streams.settings import worker_policy
from topics.audit import AuditAction

log = logging.getLogger(__name__)


@app.task
async def audit_policy_in_force() -> None:
    policy = worker_policy()
    try:
        previous = await redis.get(keys.POLICY_IN_FORCE)
    except aioredis.RedisError as exc:
        log.warning("creditwatch: policy change not audited, Redis unavailable: %s", exc)
        return
    previous_digest = previous.decode() if previous else None
    if previous_digest == policy.digest:
        return
    await audit_action(
        f"worker:{socket.gethostname()}",
        AuditAction.POLICY_CHANGE,
        f"policy {policy.version}",
        {
            "version": policy.version,
            "sha256": policy.digest,
            "previous_sha256": previous_digest,
        },
    )
    await redis.set(keys.POLICY_IN_FORCE, policy.digest)
    log.info("creditwatch: policy %s (%s) in force, audited", policy.version, policy.digest[:12])
