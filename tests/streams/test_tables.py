"""Table values: kept decoded between batches (bounded, forgotten on a rebalance), and
read back from the changelog at start-up."""

from __future__ import annotations

import asyncio
import gc
from collections import namedtuple
from typing import Any

import pytest

from streams.runtime import fast_recovery
from streams.runtime.fast_recovery import FastRecoveryStore
from streams.runtime.tables import DecodedValues
from streams.wiring import Wiring


def test_the_least_recently_used_value_goes_first() -> None:
    decoded: DecodedValues[int] = DecodedValues(2)
    decoded.put(b"a", 1)
    decoded.put(b"b", 2)
    assert decoded.get(b"a") == 1  # now the most recent
    decoded.put(b"c", 3)
    assert (decoded.get(b"a"), decoded.get(b"b"), decoded.get(b"c")) == (1, None, 3)


def test_a_revoked_partition_empties_every_live_instance_and_dead_ones_are_gone(
    worker: Wiring,
) -> None:
    kept: DecodedValues[int] = worker.tables.keep_decoded(4)
    kept.put(b"k", 1)
    registered = len(worker.tables.decoded)
    replaced = worker.tables.keep_decoded(4)  # an agent that restarted made a new one
    assert len(worker.tables.decoded) == registered + 1
    del replaced
    gc.collect()
    assert len(worker.tables.decoded) == registered
    asyncio.run(worker.app.on_partitions_revoked.send(set()))  # as Faust signals a rebalance
    assert kept.get(b"k") is None


def test_a_memory_table_holds_what_its_changelog_says_and_where_it_stands(
    worker: Wiring,
) -> None:
    from faust.types import TP

    subjects = worker.tables.subjects
    assert isinstance(subjects.data, FastRecoveryStore)  # memory://, the default
    store = FastRecoveryStore(fast_recovery.install(), subjects.app, subjects)  # a fresh one
    tp = TP(subjects.changelog_topic.get_topic_name(), 1)
    assert store.persisted_offset(tp) is None  # nothing read: Faust replays it all
    Record = namedtuple("Record", "key value offset")
    changelog = [Record(b"a", b"1", 0), Record(b"b", b"2", 1), Record(b"a", None, 2)]
    store._apply(tp, [*changelog, Record(b"b", b"3", 3)])
    assert (b"a" in store, store[b"b"]) == (False, b"3")  # deleted, then the last value
    assert store.persisted_offset(tp) == 3  # Faust's recovery goes on after it
    store.set_persisted_offset(tp, 9)  # this worker's own write reached the changelog
    assert store.persisted_offset(tp) == 9
    store.set_persisted_offset(tp, 5)  # an older delivery report moves nothing back
    assert store.persisted_offset(tp) == 9


def test_the_first_store_told_of_an_assignment_reads_every_tables_changelog_once(
    worker: Wiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiokafka import TopicPartition
    from faust.types import TP

    subjects, graded = worker.tables.subjects, worker.tables.graded_under
    stores = [subjects.data, graded.data]
    changelogs = [TP(table.changelog_topic.get_topic_name(), 2) for table in (subjects, graded)]
    other_topic = TP("creditwatch-tests-not-a-changelog", 2)
    Record = namedtuple("Record", "key value offset")
    written = {
        changelogs[0]: [Record(b"test-subject", b"state", 0)],
        changelogs[1]: [Record(b"test-stamp", b"policy", 0), Record(b"test-stamp", b"newer", 1)],
    }
    reads: list[set[TP]] = []

    async def read_to_end(bootstrap: str, wanted: dict[TopicPartition, TP]) -> Any:
        reads.append(set(wanted.values()))
        yield {partition: written.get(tp, []) for partition, tp in wanted.items()}

    monkeypatch.setattr(fast_recovery, "read_to_end", read_to_end)
    assigned = {*changelogs, other_topic}
    try:
        for store in stores:  # as Faust tells each table in turn
            asyncio.run(store.on_rebalance(assigned, set(), assigned))
        assert len(reads) == 1 and changelogs[0] in reads[0] and changelogs[1] in reads[0]
        assert other_topic not in reads[0]
        assert (subjects.data[b"test-subject"], graded.data[b"test-stamp"]) == (b"state", b"newer")
        # Revoked and assigned again: read again; the partition kept is not.
        for store in stores:
            asyncio.run(store.on_rebalance(set(), {changelogs[0]}, set()))
        asyncio.run(stores[0].on_rebalance(assigned, set(), {changelogs[0]}))
        assert reads[1:] == [{changelogs[0]}]
    finally:
        for store in stores:
            asyncio.run(store.on_rebalance(set(), set(changelogs), set()))
            for key in (b"test-subject", b"test-stamp"):
                store.data.pop(key, None)
                store._key_partition.pop(key, None)
