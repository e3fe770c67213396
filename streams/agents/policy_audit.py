"""Seed 十七: a change of the policy in force is an audited, state-changing action.

The policy file changes by editing it and restarting the workers, so the
worker is where a change takes effect: here it is audited, and the subjects
are re-graded under it (streams/agents/regrade.py).

At start-up a worker compares the digest of its policy file with the one last
audited (kept in Redis); if they differ it appends a ``policy.change`` record
with the version and both digests, then records the new digest. Two workers
starting together with a new file may both append it: at least once, never
missed.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from streams.agents.policy_in_force import catch_up
from streams.serving import redis_keys as keys
from topics.audit import AuditAction

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)


def register(w: Wiring) -> None:
    @w.app.task
    async def audit_policy_in_force() -> None:
        await catch_up(w)  # the policy in force may be a newer approved version
        await audit_policy_change(w)


async def audit_policy_change(w: Wiring) -> None:
    """Audit the policy in force if it is not the one last audited (digest in Redis)."""
    policy = w.context.policy
    try:
        previous = await w.redis.get(keys.POLICY_IN_FORCE)
    except aioredis.RedisError as exc:
        log.warning("creditwatch: policy change not audited, Redis unavailable: %s", exc)
        return
    previous_digest = previous.decode() if previous else None
    if previous_digest == policy.digest:
        return
    await w.publish.audit(
        f"worker:{socket.gethostname()}",
        AuditAction.POLICY_CHANGE,
        f"policy {policy.version}",
        {"version": policy.version, "sha256": policy.digest, "previous_sha256": previous_digest},
    )
    await w.redis.set(keys.POLICY_IN_FORCE, policy.digest)
    log.info("creditwatch: policy %s (%s) in force, audited", policy.version, policy.digest[:12])
