"""Partitions: which ones this worker owns, where a key goes, a table partition's keys, an
owner for writes.

Faust works a table key by key, through the current event; re-grading a
partition after a policy change (streams/agents/regrade.py) works a whole
partition at once, outside any event. The ingest agent decides an alert in
place when the alert's book is kept in the partition it is working
(streams/agents/alert_manager.py).
"""

from __future__ import annotations

from typing import Any, cast

import faust
from aiokafka.partitioner import DefaultPartitioner
from faust.types import EventT, TableT


def owned_partitions(app: faust.App, table: TableT) -> list[int]:
    """The partitions of ``table`` this worker holds as active (not standby)."""
    return sorted(active_partitions(app, table.changelog_topic.get_topic_name()))


def active_partitions(app: faust.App, topic: str) -> set[int]:
    """The partitions of ``topic`` this worker holds as active (not standby)."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def key_partition(app: faust.App, topic: str, key: bytes) -> int | None:
    """The partition of ``topic`` a record keyed ``key`` goes to, as the app's producer
    chooses it; None while the worker does not know the topic's partition count."""
    count = app.consumer.topic_partitions(topic)
    if not count:
        return None
    partitions = list(range(count))
    # What Faust's producer partitions by (faust/transport/drivers/aiokafka.py).
    # Settings declares the partitioner as a callable attribute, which mypy reads as a method.
    conf: Any = app.conf
    partitioner: Any = conf.producer_partitioner or DefaultPartitioner()
    return int(partitioner(key, partitions, partitions))


def keys_of_partition(table: TableT, partition: int) -> list[bytes]:
    """The keys ``table`` holds for one partition, as recovered from its changelog.

    Faust has no public way to list one partition of a table. Its memory store
    records each recovered key's partition in ``_key_partition``, and ours
    (:mod:`streams.runtime.fast_recovery`) each written key's too, so a policy
    put in force while the worker runs reaches them. RocksDB keeps one database
    per partition.
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
