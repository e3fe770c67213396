"""Re-grading a recovered partition under a changed policy (streams/agents/regrade.py).

The subject table is filled the way recovery fills it (the changelog's records,
by partition); the worker's producer records what goes out. The integration
test (tests/integration/test_policy_regrade.py) does the same through restarts.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import namedtuple
from typing import Any

import orjson
import pytest
from faust.stores.memory import Store
from faust.types import TP

from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.grading import GradedUnder
from pipeline.subject import process
from streams.agents import regrade
from streams.runtime.partitions import keys_of_partition, partition_owner
from streams.wiring import Wiring
from tests.factories import T0, complaint, enforcement, make_uscc, pseudonym_key
from tests.streams.recorded_producer import recorded_producer

POLICY = load_policy()
STRICTER = dataclasses.replace(
    POLICY,
    tiers=dataclasses.replace(POLICY.tiers, c_from=35.0),
    version="test-stricter",
    digest="b" * 64,
)
CONTEXT = StepContext(POLICY, pseudonym_key())
Record = namedtuple("Record", "key value offset")
DEBTOR, QUIET, ELSEWHERE = make_uscc(711), make_uscc(712), make_uscc(713)
WRITTEN = make_uscc(714)


@pytest.fixture(autouse=True)
def empty_subjects(worker: Wiring) -> None:
    """The session's worker starts each test here with no subjects: other tests' agents
    write subjects too, and the store lists written keys under their partition."""
    store = worker.tables.subjects.data
    store.data.clear()
    store._key_partition.clear()
    worker.subjects.decoded.clear()


def recover(worker: Wiring, partition: int, *records: Any) -> None:
    """Put states into the subject table as recovery from changelog ``partition`` does."""
    subjects = worker.tables.subjects
    context = StepContext(POLICY, pseudonym_key())
    changelog = subjects.changelog_topic.get_topic_name()
    rows = []
    for offset, record in enumerate(records):
        state, _ = process(None, record, context)
        rows.append(Record(record.subject.encode(), state.to_bytes(), offset))
    subjects.data._apply(TP(changelog, partition), rows)


def stored(worker: Wiring, subject: str) -> SubjectState:
    return SubjectState.from_bytes(worker.tables.subjects.data[subject.encode()])


def test_a_recovered_partition_is_re_graded_and_stamped(worker: Wiring) -> None:
    subjects = worker.tables.subjects
    recover(worker, 0, enforcement(subject=DEBTOR, occurred_at=T0), complaint(subject=QUIET))
    recover(worker, 1, enforcement(subject=ELSEWHERE, occurred_at=T0))
    worker.subjects.changed.clear()
    context = StepContext(STRICTER, pseudonym_key())

    with recorded_producer(worker.app) as producer:
        graded = GradedUnder.of(POLICY)
        asyncio.run(regrade.regrade_partition(worker, 0, graded, context, 0.0))

    (change,) = producer.values(worker.channels.tier_changes)
    assert (change["subject"], change["previous_tier"], change["tier"]) == (DEBTOR, "B", "C")
    assert change["version"] == 2 and change["policy_version"] == "test-stricter"
    assert change["reasons"][0]["fact"] == "policy_changed"
    # Stored where its partition's changelog keeps it, and its profile refreshed.
    (logged,) = producer.records(subjects.changelog_topic)
    assert (logged.key, logged.partition) == (DEBTOR.encode(), 0)
    assert (stored(worker, DEBTOR).tier, stored(worker, DEBTOR).version) == ("C", 2)
    # Every profile of the partition is written again, naming the policy in force.
    rewritten = {DEBTOR.encode(): stored(worker, DEBTOR), QUIET.encode(): None}
    assert worker.subjects.changed == rewritten
    # The other partition is not this call's, and it is not touched.
    assert (stored(worker, ELSEWHERE).tier, stored(worker, ELSEWHERE).version) == ("B", 1)
    (stamp,) = producer.records(worker.tables.graded_under.changelog_topic)
    assert stamp.partition == 0
    assert orjson.loads(stamp.value or b"") == {"version": "test-stricter", "digest": "b" * 64}
    assert regrade.graded_under(worker, 0) == GradedUnder.of(STRICTER)


def test_a_partition_stamped_with_the_policy_in_force_is_left_alone(
    worker: Wiring, monkeypatch: Any
) -> None:
    recover(worker, 1, enforcement(subject=ELSEWHERE, occurred_at=T0))
    monkeypatch.setattr(regrade, "owned_partitions", lambda app, table: [1])
    monkeypatch.setattr(regrade, "graded_under", lambda w, p: GradedUnder.of(STRICTER))

    with recorded_producer(worker.app) as producer:
        context = StepContext(STRICTER, pseudonym_key())
        asyncio.run(regrade.regrade_owned_partitions(worker, context, 0.0))

    assert producer.sent == {}
    assert stored(worker, ELSEWHERE).tier == "B"


def test_the_keys_of_one_partition_are_those_recovered_from_it(worker: Wiring) -> None:
    """Faust's memory store (and ours) keep each recovered key's partition: if Faust
    stops doing so, re-grading would find no subjects, and this fails."""
    app, subjects = worker.app, worker.tables.subjects
    changelog = subjects.changelog_topic.get_topic_name()
    Event = namedtuple("Event", "key value message")
    Message = namedtuple("Message", "partition value")
    faust_store = Store(url="memory://", app=app, table=subjects)
    faust_store.apply_changelog_batch(
        [Event(b"a", b"1", Message(0, b"1")), Event(b"b", b"2", Message(1, b"2"))],
        to_key=lambda k: k,
        to_value=lambda v: v,
    )
    ours = type(subjects.data)(url="memory://", app=app, table=subjects)
    ours._apply(TP(changelog, 1), [Record(b"c", b"3", 0), Record(b"d", b"4", 1)])
    ours._apply(TP(changelog, 1), [Record(b"d", None, 2)])  # deleted again

    class Table:
        def __init__(self, data: Any) -> None:
            self.data = data

    assert keys_of_partition(Table(faust_store), 1) == [b"b"]
    assert keys_of_partition(Table(ours), 1) == [b"c"]
    assert keys_of_partition(Table(ours), 0) == []


def test_a_subject_this_worker_wrote_is_re_graded_when_a_policy_comes_into_force(
    worker: Wiring,
) -> None:
    """Issue 17: a policy approved while the worker runs reaches the subjects it graded
    itself, not only those it recovered (the memory store learns their partition)."""
    state, _ = process(None, enforcement(subject=WRITTEN, occurred_at=T0), CONTEXT)
    with recorded_producer(worker.app) as producer:
        states = worker.subjects.batch()
        states.put(WRITTEN.encode(), state, partition_owner(1))
        asyncio.run(worker.subjects.store(states))
        assert WRITTEN.encode() in keys_of_partition(worker.tables.subjects, 1)
        context = StepContext(STRICTER, pseudonym_key())
        asyncio.run(regrade.regrade_partition(worker, 1, GradedUnder.of(POLICY), context, 0.0))

    changes = producer.values(worker.channels.tier_changes)
    (change,) = [c for c in changes if c["subject"] == WRITTEN]
    assert (change["tier"], change["version"]) == ("C", 2)
