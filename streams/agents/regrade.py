"""Policy change re-grades (issue 14, item 5): the subjects of a partition graded under
another policy are re-scored and re-tiered under the worker's.

Each input partition records, in the ``policy-graded`` table under its own key,
the policy its subjects were last graded under. Once this worker has recovered
its partitions (at start-up, and after a rebalance that hands it partitions
graded by another worker), every partition graded under another policy has
each of its subjects re-graded (:func:`pipeline.subject.on_policy_change`). A tier
that moves goes out as an ordinary tier change (the next version) whose first
reason is ``policy_changed``, and a red-list entry or exit the new policy's rules
make goes out as a list change; every re-scored state is stored, so the
subject's profile shows the new score beside the new policy version. It runs
in Faust's rebalance-complete signal, which Faust awaits before it resumes the
streams: no record of a partition is processed before the partition is
re-graded, and revocation has waited for the last batch.

A crash half-way re-grades the partition again at the next start: subjects
already stored are left as they are, tier changes not yet stored are sent
again with the same version, which the serving view applies once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from pipeline.context import StepContext
from pipeline.grading import GradedUnder, needs_regrade
from pipeline.subject import on_policy_change
from streams.agents.policy_in_force import catch_up
from streams.runtime.partitions import keys_of_partition, owned_partitions, partition_owner
from streams.runtime.tables import BatchCache

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)

#: Subjects re-graded between two turns of the event loop (and held decoded at once).
REGRADE_CHUNK = 1_000


def register(w: Wiring) -> None:
    @w.app.on_rebalance_complete.connect
    async def regrade_after_recovery(sender: Any, /, *args: Any, **kwargs: Any) -> None:
        # Under the newest approved policy version, not the file's, after a restart.
        await catch_up(w)
        try:
            async with w.subjects.lock:
                await regrade_owned_partitions(w, w.context, time.time())
        except Exception:
            # Not stamped, so the partition is re-graded at the next rebalance or start.
            log.exception("creditwatch: re-grading under the new policy failed")


async def regrade_owned_partitions(w: Wiring, context: StepContext, at_s: float) -> None:
    """Re-grade every partition this worker owns that was graded under another policy."""
    for partition in owned_partitions(w.app, w.tables.subjects):
        graded = graded_under(w, partition)
        if needs_regrade(graded, context.policy):
            await regrade_partition(w, partition, graded, context, at_s)


def _graded_key(partition: int) -> bytes:
    return f"{partition}|graded".encode()


def _graded(raw: bytes) -> GradedUnder:
    return GradedUnder(**orjson.loads(raw))


def graded_under(w: Wiring, partition: int) -> GradedUnder | None:
    stored = w.tables.graded_under.get(_graded_key(partition))
    return _graded(stored) if stored is not None else None


async def regrade_partition(
    w: Wiring, partition: int, graded: GradedUnder | None, context: StepContext, at_s: float
) -> None:
    """Re-grade the subjects of one partition, then stamp it with the policy in force."""
    started = time.monotonic()
    owner = partition_owner(partition)
    subject_keys = keys_of_partition(w.tables.subjects, partition)
    changes = 0
    for start in range(0, len(subject_keys), REGRADE_CHUNK):
        chunk = subject_keys[start : start + REGRADE_CHUNK]
        states = w.subjects.batch()
        for key in chunk:
            state = states.get(key)
            if state is None:
                continue
            changed, change, list_changes = on_policy_change(
                key.decode(), state, graded, context, at_s
            )
            if changed:
                states.put(key, state, owner)
            if change is not None:
                await w.publish.tier_change(change)
                changes += 1
            for list_change in list_changes:
                await w.publish.list_change(list_change)
        # Every profile names the policy in force: the unchanged ones are read from the table.
        w.subjects.changed.update(dict.fromkeys(chunk))
        await w.subjects.store(states)
        await asyncio.sleep(0)
    stamp = BatchCache(w.tables.graded_under, _graded, orjson.dumps, w.outbox)
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
