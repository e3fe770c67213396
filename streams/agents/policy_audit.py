"""Seed 十七: a change of the policy in force is an audited, state-changing action.

The policy file changes by editing it and restarting the workers, so the
worker is where a change takes effect, in two ways:

- **Audit.** At start-up a worker compares the digest of its policy file with
  the one last audited (kept in Redis); if they differ it appends a
  ``policy.change`` record with the version and both digests, then records the
  new digest. Two workers starting together with a new file may both append
  it: at least once, never missed.
- **Re-grade** (issue 14, item 5). Each input partition records, in the
  ``policy-graded`` table under its own key, the policy its subjects were last
  graded under. Once this worker has recovered its partitions (at start-up,
  and after a rebalance that hands it partitions graded by another worker),
  every partition graded under another policy has each of its subjects
  re-scored and re-tiered under this worker's (:func:`pipeline.grading.regrade`).
  A tier that moves goes out as an ordinary tier change (the next version)
  whose first reason is ``policy_changed``; every re-scored state is stored,
  so the subject's profile shows the new score beside the new policy version.
  It runs in Faust's rebalance-complete signal, which Faust awaits before it
  resumes the streams: no record of a partition is processed before the
  partition is re-graded, and revocation has waited for the last batch.

A crash half-way re-grades the partition again at the next start: subjects
already stored are left as they are, tier changes not yet stored are sent
again with the same version, which the serving view applies once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from faust.types import EventT, TableT

from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.grading import GradedUnder, needs_regrade, regrade
from streams.agents.audit import audit_action
from streams.agents.ingest import dirty_subjects, live_states, subjects
from streams.agents.publish import send_tier_change
from streams.app import app
from streams.runtime.tables import BatchCache, bytes_table
from streams.serving import redis_keys as keys
from streams.serving.view import redis
from streams.settings import step_context, worker_policy
from topics.audit import AuditAction

log = logging.getLogger(__name__)

#: Subjects re-graded between two turns of the event loop (and held decoded at once).
REGRADE_CHUNK = 1_000

graded_under_table = bytes_table(
    "policy-graded",
    "Per input partition: the policy (version and digest) its subjects were last graded "
    "under (streams.agents.policy_audit).",
)


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


@app.on_rebalance_complete.connect
async def regrade_after_recovery(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    try:
        await regrade_owned_partitions(step_context(), time.time())
    except Exception:
        # Not stamped, so the partition is re-graded at the next rebalance or start.
        log.exception("creditwatch: re-grading under the new policy failed")


async def regrade_owned_partitions(context: StepContext, at_s: float) -> None:
    """Re-grade every partition this worker owns that was graded under another policy."""
    for partition in owned_partitions(subjects):
        graded = graded_under(partition)
        if needs_regrade(graded, context.policy):
            await regrade_partition(partition, graded, context, at_s)


def owned_partitions(table: TableT) -> list[int]:
    """The partitions of ``table`` this worker holds as active (not standby)."""
    changelog = table.changelog_topic.get_topic_name()
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog)


def _graded_key(partition: int) -> bytes:
    return f"{partition}|graded".encode()


def graded_under(partition: int) -> GradedUnder | None:
    stored = graded_under_table.get(_graded_key(partition))
    return GradedUnder(**orjson.loads(stored)) if stored is not None else None


async def regrade_partition(
    partition: int, graded: GradedUnder | None, context: StepContext, at_s: float
) -> None:
    """Re-grade the subjects of one partition, then stamp it with the policy in force."""
    started = time.monotonic()
    owner = partition_owner(partition)
    subject_keys = keys_of_partition(subjects, partition)
    changes = 0
    for start in range(0, len(subject_keys), REGRADE_CHUNK):
        chunk = subject_keys[start : start + REGRADE_CHUNK]
        states = BatchCache(subjects, SubjectState.from_bytes, SubjectState.to_bytes, live_states)
        for key in chunk:
            state = states.get(key)
            if state is None:
                continue
            changed, change = regrade(key.decode(), state, graded, context, at_s)
            if changed:
                states.put(key, state, owner)
            if change is not None:
                await send_tier_change(change)
                changes += 1
        # Every profile names the policy in force: the unchanged ones are read from the table.
        dirty_subjects.update(dict.fromkeys(chunk))
        dirty_subjects.update(await states.flush())
        await asyncio.sleep(0)
    stamp: BatchCache[GradedUnder] = BatchCache(
        graded_under_table, lambda raw: GradedUnder(**orjson.loads(raw)), orjson.dumps
    )
    stamp.put(_graded_key(partition), GradedUnder.of(context.policy), owner)
    await stamp.flush()
    if subject_keys:
        # An operator changing the policy wants to see what it did and how long it took.
        log.warning(
            "creditwatch: partition %d re-graded under policy %s: %d subjects, "
            "%d tier changes, %.1f s",
            partition,
            context.policy.version,
            len(subject_keys),
            changes,
            time.monotonic() - started,
        )


class _Message:
    __slots__ = ("partition",)

    def __init__(self, partition: int) -> None:
        self.partition = partition


class _PartitionOwner:
    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = _Message(partition)


def partition_owner(partition: int) -> EventT:
    """What a table write takes for "an event of ``partition``" when no event is at hand.

    :func:`streams.runtime.tables.write_through` reads only the owner's
    ``message.partition`` (the store and changelog partition of the key), and
    Faust's RocksDB store reads the same from the current event.
    """
    return cast(EventT, _PartitionOwner(partition))


def keys_of_partition(table: TableT, partition: int) -> list[bytes]:
    """The keys ``table`` holds for one partition, as recovered from its changelog.

    Faust has no public way to list one partition of a table. Its memory store
    (and ours, :mod:`streams.runtime.fast_recovery`) records each recovered
    key's partition in ``_key_partition``; a key written since is graded under
    the policy in force already. RocksDB keeps one database per partition.
    """
    store: Any = table.data
    owners = getattr(store, "_key_partition", None)
    if owners is not None:
        held = store.data
        return [key for key, p in list(owners.items()) if p == partition and key in held]
    databases = getattr(store, "_dbs", None)
    if databases is not None:
        database = databases.get(partition)
        return [] if database is None else list(store._visible_keys(database))
    raise TypeError(f"cannot list one partition of a {type(store).__name__} store")
