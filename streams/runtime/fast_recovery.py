"""A memory store that reads its changelog with a plain consumer before Faust's recovery.

Faust recovers a memory table by replaying its changelog through the worker's
own consumer, one record at a time through its message machinery: about 5,000
records a second here, so a million subjects took minutes. The memory store
tells Faust it has persisted nothing, so every start replays everything.

:class:`FastRecoveryStore` reads the changelog partitions it is assigned with
a plain aiokafka consumer (150,000+ records a second) when the assignment
arrives (every table's at once, with one consumer), then tells Faust's recovery
the offset it has read up to, so Faust replays only what was written after that
(normally nothing). It also keeps that offset current as the worker writes,
so a partition kept across a rebalance is not read again. The tables use it
when ``CREDITWATCH_STORE`` is ``memory://`` (the default;
``streams.runtime.tables.Tables.declare``); RocksDB keeps its own offsets on disk.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from aiokafka import TopicPartition
from faust.stores import STORES
from faust.stores.memory import Store
from faust.types import TP

from streams.runtime.end_offsets import read_to_end
from streams.settings import bootstrap_servers

log = logging.getLogger(__name__)

#: The store URL scheme of :class:`FastRecoveryStore`.
SCHEME = "creditwatch-memory"


class FastRecoveryStore(Store):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.read_up_to: dict[TP, int] = {}  # changelog partition -> last offset held
        self.read_through: set[TP] = set()  # changelog partitions read since assigned

    def persisted_offset(self, tp: TP) -> int | None:
        return self.read_up_to.get(tp)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        # Called when a write of this worker reaches the changelog.
        if offset > self.read_up_to.get(tp, -1):
            self.read_up_to[tp] = offset

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        # Faust calls every table's on_rebalance before its recovery starts: the first
        # store to be called reads the unread partitions of every such store at once,
        # with one consumer (about 0.5 s each on its own, for a dozen tables).
        unread = {
            tp: store for store in self._siblings() for tp in store._unread(assigned, revoked)
        }
        if unread:
            await _read(self.app, unread)

    def _siblings(self) -> list[FastRecoveryStore]:
        """Every store of this kind in the app (this one included)."""
        stores = [table.data for table in self.app.tables.values()]
        siblings = [store for store in stores if isinstance(store, FastRecoveryStore)]
        # By identity: a store compares equal to any with the same contents (a Mapping).
        return siblings if any(store is self for store in siblings) else [self, *siblings]

    def _unread(self, assigned: set[TP], revoked: set[TP]) -> set[TP]:
        """Forget ``revoked`` partitions; the assigned ones of this changelog not read yet."""
        for tp in revoked:
            self.read_up_to.pop(tp, None)  # its keys go when recovery completes
            self.read_through.discard(tp)
        changelog = self.table.changelog_topic.get_topic_name()
        return {tp for tp in assigned if tp.topic == changelog and tp not in self.read_through}

    def _apply(self, tp: TP, messages: list[Any]) -> None:
        data, owners = self.data, self._key_partition
        for message in messages:
            if message.value is None:  # a tombstone: the key was deleted
                data.pop(message.key, None)
                owners.pop(message.key, None)
            else:
                data[message.key] = message.value
                owners[message.key] = tp.partition
        if messages:
            # Faust's recovery goes on from here to the end, past anything unshown.
            self.read_up_to[tp] = messages[-1].offset


async def _read(app: Any, partitions: dict[TP, FastRecoveryStore]) -> None:
    """Read ``partitions`` to their end into the store each belongs to, with one consumer."""
    started = time.monotonic()
    wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
    records: Counter[str] = Counter()  # by table
    brokers = ";".join(str(url) for url in app.conf.broker)
    async for batches in read_to_end(bootstrap_servers(brokers), wanted):
        for partition, messages in batches.items():
            tp = wanted[partition]
            partitions[tp]._apply(tp, messages)
            records[partitions[tp].table.name] += len(messages)
    for tp, store in partitions.items():
        store.read_through.add(tp)
    for table, count in records.items():
        # A long start-up should say why (the worker logs at WARNING by default).
        log.warning(
            "creditwatch: %s: read %d changelog records in %.1f s",
            table,
            count,
            time.monotonic() - started,
        )


def install() -> str:
    """Register the store; return the URL that selects it."""
    STORES.aliases[SCHEME] = f"{__name__}:FastRecoveryStore"
    # A host, because Faust falls back to the app's store when the URL is falsy,
    # and yarl counts a URL without host or path as false.
    return f"{SCHEME}://changelog"
