"""After a rebalance, read a partition nobody has committed yet from its beginning again.

When a worker is assigned a partition, aiokafka starts fetching it at once,
while Faust, on its own loop, is still recovering the tables and treats the
partition as not yet active: ``Consumer._drain_messages`` drops every fetched
record of an inactive partition, and the fetch position has moved past them.
Faust relies on the seek that ends the recovery ("Seek stream partitions to
committed offsets") to go back. But aiokafka's ``seek_to_committed`` only
seeks a partition with a committed offset above 0; one with none (its last
owner died before its first commit) stays where the dropped fetch left it, and
the records before that are never read: lost, with the next commit past them.

Measured with a failover here (two workers, ``kill -9`` of one a second after
its first records, three such stacks side by side): with a 6 s session
timeout, 5 of 37 runs lost the records sent meanwhile to the dead worker's
partitions, and none of 12 with this module (none of 18 at 10 s without it).

:func:`install` completes the seek: a partition with no committed offset is
sought to where the consumer starts one (``auto_offset_reset``; Faust's
default and the worker's, ``earliest``, is the beginning; under another policy
the partition stays where aiokafka placed it). The records a worker reads
twice that way are dropped by the agents' duplicate checks, as after any seek
to a committed offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from streams.runtime.patches import Method, replace_method


def install() -> None:
    """Make Faust's seek to committed offsets also place the partitions nobody committed."""
    replace_method(AIOKafkaConsumerThread, "seek_to_committed", _placing_uncommitted)


def _placing_uncommitted(seek_to_committed: Method) -> Method:
    async def seek_to_committed_or_reset(self: AIOKafkaConsumerThread) -> Mapping[TP, int]:
        committed: Mapping[TP, int | None] = await seek_to_committed(self)
        # aiokafka seeks only to an offset above 0 (AIOKafkaConsumer.seek_to_committed).
        uncommitted = [tp for tp, offset in committed.items() if not offset]
        if uncommitted:
            await _reset(self, uncommitted)
        return committed  # type: ignore[return-value]  # Faust's own annotation is narrower

    return seek_to_committed_or_reset


async def _reset(thread: AIOKafkaConsumerThread, partitions: list[Any]) -> None:
    """Seek ``partitions`` where the consumer starts a partition with no committed offset."""
    if thread.app.conf.consumer_auto_offset_reset == "earliest":
        await thread.seek_to_beginning(*partitions)
