"""An output record the Redis writer cannot read is a dead letter; the rest of its batch
is applied. It used to fail the whole batch, again each time it was read."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import redis.asyncio as aioredis

from creditwatch.embedded import EmbeddedRedis, free_port
from streams.serving import redis_keys as keys
from streams.serving.view import ServingView
from streams.wiring import Wiring
from tests.streams.recorded_producer import recorded_producer
from topics.catalogue import RISK_TIER_CHANGES


def record(offset: int, value: bytes) -> Any:
    message = SimpleNamespace(
        topic=RISK_TIER_CHANGES.name, partition=1, offset=offset, key=b"S1", value=value
    )
    return SimpleNamespace(message=message)


def test_an_unreadable_tier_change_is_dead_lettered_and_its_batch_applied(
    tmp_path: Path, worker: Wiring
) -> None:
    port = free_port()
    server = EmbeddedRedis(tmp_path, port=port).start()
    good = orjson.dumps({"subject": "S1", "version": 1, "tier": "B"})
    batch = [
        record(0, b"{not json"),
        record(1, good),
        record(2, b'{"subject": "S2"}'),
        record(3, b"[1, 2]"),
    ]

    async def scenario() -> bytes | None:
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        view = ServingView(client, worker.routing, worker.context.policy)
        worker.app.flow_control.resume()
        try:
            await view.apply_events(batch, worker.publish, worker.app.flow_control)  # type: ignore[arg-type]
            return await client.hget(keys.SUBJECT_TIERS, "S1")
        finally:
            await client.aclose()

    try:
        with recorded_producer(worker.app) as producer:
            applied = asyncio.run(scenario())
    finally:
        server.stop()

    assert applied == b"1|B"
    dead_letters = producer.records(worker.channels.dead_letters)
    letters = [orjson.loads(r.value or b"") for r in dead_letters]
    assert [(d["offset"], d["reason"]) for d in letters] == [
        (0, "bad_internal_message"),
        (2, "bad_internal_message"),
        (3, "bad_internal_message"),
    ]
    assert letters[0]["source_topic"] == RISK_TIER_CHANGES.name and letters[0]["partition"] == 1
    assert base64.b64decode(letters[0]["value_b64"]) == b"{not json"
    assert "version" in letters[1]["detail"]  # the missing field
