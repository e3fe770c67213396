"""The subject profile carries the case file (issue 4 and 5): lists and their measures.

Records go through the ingest agent under ``agent.test_context()``, which
writes the subject and case-file tables; then the profile refresh writes to a
stand-in for Redis that keeps what it was told to set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import orjson
import pytest

from pipeline.measures import measures_answer
from streams.serving import view as serving
from streams.wiring import Wiring
from tests.factories import ENFORCEMENT_TOPIC, T0, encode, enforcement_data, make_uscc
from tests.streams.recorded_producer import recorded_producer


class Pipeline:
    def __init__(self, written: dict[str, bytes]) -> None:
        self.written = written
        self.pending: dict[str, bytes] = {}

    def mset(self, mapping: dict[str, bytes]) -> None:
        self.pending.update(mapping)

    async def execute(self) -> None:
        self.written.update(self.pending)


class Redis:
    """What ``refresh_profiles`` uses of the Redis client: a pipeline of MSETs."""

    def __init__(self) -> None:
        self.written: dict[str, bytes] = {}

    def pipeline(self, transaction: bool = True) -> Pipeline:
        return Pipeline(self.written)


@pytest.fixture
def outputs(worker: Wiring) -> Iterator[None]:
    """The worker's producer, recording: nothing leaves the process."""
    with recorded_producer(worker.app):
        yield


def ingest_then_refresh(worker: Wiring, *records: dict[str, Any]) -> Redis:
    """Process ``records``, then refresh the changed subjects' profiles; return the Redis."""
    redis = Redis()
    ingest = worker.app.agents["streams.agents.ingest.ingest"]

    async def scenario() -> None:
        async with ingest.test_context() as agent:
            for record in records:
                with patch.object(agent, "_get_strtopic", return_value=ENFORCEMENT_TOPIC):
                    await agent.put(encode(record), key=record["subject"].encode())
        policy = worker.context.policy
        await serving.write_profiles(redis, worker.subjects, worker.tables.case_files, policy)

    worker.app.flow_control.resume()
    asyncio.run(scenario())
    return redis


def profile(redis: Redis, subject: str) -> dict[str, Any]:
    return orjson.loads(redis.written[f"cw:profile:{subject}"])


@pytest.mark.usefixtures("outputs")
def test_a_listed_subject_s_profile_shows_the_list_and_its_measures(worker: Wiring) -> None:
    debtor, inspected = make_uscc(9201), make_uscc(9202)
    redis = ingest_then_refresh(
        worker,
        enforcement_data(subject=debtor, kind="court_dishonest_debtor", department="court"),
        enforcement_data(subject=inspected, kind="spot_check", result="passed"),
    )

    shown = profile(redis, debtor)
    # A court ruling refused in food and drugs: joint punishment and (seed 十) a market ban.
    listing, ban = shown["supervision"]["lists"]
    assert listing["list"] == "joint_punishment" and listing["version"] == 1
    assert "no_bidding" in {m["code"] for m in listing["measures"]}
    assert (ban["list"], [m["code"] for m in ban["measures"]]) == ("market_ban", ["market_ban"])
    (record,) = shown["supervision"]["published_records"]
    assert record["signal"] == "court_dishonest_debtor"
    # What the measures endpoint answers from this very profile.
    answer = measures_answer(shown, "bidding", T0 + timedelta(days=1))
    assert answer["restricted"] and answer["measures"][0]["code"] == "no_bidding"

    # A passed spot check opens no case file.
    assert profile(redis, inspected)["supervision"] is None
