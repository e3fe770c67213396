"""The output topics' Redis writer: records wait for an unreachable Redis, none skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from creditwatch.embedded import EmbeddedRedis, free_port
from streams.serving import redis_keys as keys
from streams.serving import view as serving
from streams.wiring import Wiring
from topics.catalogue import RISK_TIER_CHANGES


def tier_change(subject: str, version: int, tier: str) -> Any:
    change = {"subject": subject, "version": version, "tier": tier}
    return SimpleNamespace(
        message=SimpleNamespace(topic=RISK_TIER_CHANGES.name, value=orjson.dumps(change))
    )


def failures() -> float:
    labels = {"writer": RISK_TIER_CHANGES.name}
    return REGISTRY.get_sample_value("creditwatch_serving_write_failures_total", labels) or 0.0


def writer(worker: Wiring, redis: aioredis.Redis) -> Any:
    """The tier-change writer on ``redis``: apply_events(events), as its agent calls it."""
    view = serving.ServingView(redis, worker.routing, worker.context.policy)
    return lambda events: view.apply_events(events, worker.publish, worker.app.flow_control)


def test_records_wait_for_redis_and_are_applied_once_it_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: Wiring
) -> None:
    port = free_port()
    monkeypatch.setattr(serving, "REDIS_RETRY_S", 0.05)
    failed_before = failures()

    async def scenario() -> None:
        redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        worker.app.flow_control.resume()
        apply_events = writer(worker, redis)
        writing = asyncio.ensure_future(apply_events([tier_change("S1", 1, "B")]))
        await asyncio.sleep(0.3)
        assert not writing.done()  # Redis is not there: the record waits
        server = EmbeddedRedis(tmp_path, port=port).start()
        try:
            await asyncio.wait_for(writing, timeout=10)
            assert await redis.hget(keys.SUBJECT_TIERS, "S1") == b"1|B"
        finally:
            await redis.aclose()
            server.stop()

    asyncio.run(scenario())
    assert failures() - failed_before >= 2  # each failed try is counted


def test_a_rebalance_ends_the_wait_without_the_batch_being_applied(worker: Wiring) -> None:
    async def scenario() -> None:
        redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        apply_events = writer(worker, redis)
        worker.app.flow_control.suspend()  # what Faust does as a rebalance starts
        try:
            with pytest.raises(aioredis.RedisError):  # given up, so left unacknowledged
                await asyncio.wait_for(apply_events([tier_change("S2", 1, "A")]), 10)
        finally:
            worker.app.flow_control.resume()
            await redis.aclose()

    asyncio.run(scenario())
