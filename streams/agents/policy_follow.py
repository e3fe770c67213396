"""Every worker follows ``risk.policy-versions`` and puts an approved policy in force
without a restart (issue 17, item 4).

The topic has one partition and is not read by a consumer group: each worker
reads all of it with a consumer of its own, first to its end at start-up
(streams/agents/policy_in_force.py), then as records arrive. An approved
version is put in force in the one :class:`~pipeline.context.StepContext` every
component holds, under the subjects' lock so no ingest batch is half-way
through; the partitions this worker owns are re-graded at once
(streams/agents/regrade.py) and the change is audited
(streams/agents/policy_audit.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer

from streams.agents.policy_audit import audit_policy_change
from streams.agents.policy_in_force import PARTITION, approved, catch_up, load, mirror
from streams.agents.regrade import regrade_owned_partitions
from streams.runtime.fetch_wait import FETCH_LOOP_POLL_MS
from streams.settings import bootstrap_servers
from topics.policy_versions import PolicyVersion

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)

#: How long the follower waits for a new record before asking again (ms): the topic gets a
#: record a day at most, and each ask costs the worker and the broker CPU while nothing comes.
#: The embedded broker holds a fetch this long even when a record arrives (fetch_wait.py), so
#: an approved version can take up to this long to be put in force there.
FOLLOW_WAIT_MS = 2000
#: Seconds between two attempts after the broker failed the follower.
RETRY_S = 5.0


def register(w: Wiring) -> None:
    @w.app.task
    async def follow_policy_versions() -> None:
        await follow(w)


async def follow(w: Wiring) -> None:
    """Catch up (if start-up has not), then follow the topic; resume after a broker failure."""
    await catch_up(w)
    while True:
        try:
            await _follow(w)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker went away: keep the policy, try again
            log.warning("creditwatch: following the policy versions failed: %s", exc)
            await asyncio.sleep(RETRY_S)


async def _follow(w: Wiring) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(w.settings.kafka),
        enable_auto_commit=False,
        fetch_max_wait_ms=FOLLOW_WAIT_MS,
        consumer_timeout_ms=FETCH_LOOP_POLL_MS,
    )
    await consumer.start()
    try:
        consumer.assign([PARTITION])
        consumer.seek(PARTITION, w.policy.next_offset)
        while True:
            batches = await consumer.getmany(PARTITION, timeout_ms=FOLLOW_WAIT_MS)
            for message in batches.get(PARTITION, []):
                record = await mirror(w, message)
                if approved(record):
                    assert record is not None
                    await put_in_force(w, record)
    finally:
        await consumer.stop()


async def put_in_force(w: Wiring, record: PolicyVersion) -> None:
    """Put an approved version in force (if it is not already), re-grade this worker's
    partitions under it, and audit the change."""
    async with w.subjects.lock:
        if load(w, record) is None:
            return
        try:
            await regrade_owned_partitions(w, w.context, time.time())
        except Exception:
            log.exception("creditwatch: re-grading under the new policy failed")
    await audit_policy_change(w)
