"""Seed 十六's cross-sector warning through the worker's two agents, under
``agent.test_context()``: no broker.

The linkage group's agent finds the pattern and sends it on, keyed by sector;
the sector's agent judges its combination of departments, keeps the sector's
model in its table and hands the alert to the alert manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from faust.types import AgentT

from detectors.department_mix import DepartmentMix
from streams.wiring import Wiring
from tests.factories import T0, make_uscc
from tests.streams.recorded_producer import RecordedProducer, recorded_producer
from tests.streams.test_ingest_agent import run
from topics.internal import AdverseReport, AdverseSignal


@pytest.fixture
def producer(worker: Wiring) -> Iterator[RecordedProducer]:
    with recorded_producer(worker.app) as recorded:
        yield recorded


def report(event_id: str, department: str, at_s: float) -> bytes:
    signal = AdverseSignal(event_id, at_s, make_uscc(9501), "penalty_general", department,
                           "education", "130102")  # fmt: skip
    return orjson.dumps(AdverseReport(f"subject:{make_uscc(9501)}", signal, "B", 40.0))


async def put_all(agent: AgentT, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    async with agent.test_context() as context:
        for key, value in messages:
            await context.put(value, key=key)


def test_a_pattern_goes_to_its_sector_whose_model_judges_it_and_raises_the_alert(
    worker: Wiring, producer: RecordedProducer
) -> None:
    linkage = worker.app.agents["streams.agents.cross_sector.detect_cross_sector"]
    mix = worker.app.agents["streams.agents.cross_sector.judge_department_mix"]
    group = f"subject:{make_uscc(9501)}".encode()
    at = T0.timestamp()
    reports = [report("mix-p1", "market_regulation", at), report("mix-t1", "taxation", at + 60)]
    run(worker, put_all(linkage, [(group, value) for value in reports]))

    # The pattern is not an alert yet: it goes to its sector, keyed by it.
    assert producer.records(worker.channels.alert_candidates) == []
    (candidate,) = producer.records(worker.channels.cross_sector_candidates)
    assert candidate.key == b"education"

    run(worker, put_all(mix, [(candidate.key, candidate.value), (b"education", b"[]")]))
    alerts: list[dict[str, Any]] = producer.values(worker.channels.alert_candidates)
    (alert,) = alerts
    assert alert["kind"] == "cross-sector" and alert["subject"] == make_uscc(9501)
    assert "department_pair_share" in {e["fact"] for e in alert["evidence"]}
    # The sector's model lives in the table, so a restarted worker recovers it; a
    # message the agent cannot read goes to the dead-letter topic.
    stored = worker.tables.department_mixes.get(b"education")
    assert stored is not None and DepartmentMix.from_bytes(stored).findings == 1
    (letter,) = producer.values(worker.channels.dead_letters)
    assert letter["reason"] == "bad_internal_message"
