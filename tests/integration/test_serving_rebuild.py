"""Losing Redis loses nothing: the worker rebuilds the serving view from the topics."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from kafka import KafkaProducer

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until

pytestmark = pytest.mark.integration


def tier_counts(client: redis.Redis) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall("cw:tier-counts").items()}


def test_wiped_redis_is_rebuilt_with_every_tier_and_alert(pipeline: Pipeline):
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    subjects = [make_uscc(2000 + i) for i in range(300)]
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for i, subject in enumerate(subjects):
            kind = "court_dishonest_debtor" if i % 30 == 0 else "spot_check"
            record = enforcement(subject, f"rb-{i}", kind, 5, result="passed")
            producer.send("enforcement.events", key=subject.encode(), value=orjson.dumps(record))
        producer.flush()
    wait_until(lambda: sum(tier_counts(client).values()) == 300, 60, "300 subjects tiered")
    wait_until(lambda: client.exists("cw:serving:built") == 1, 30, "the view to be marked built")
    before = (tier_counts(client), client.zcard("cw:alerts:open"))
    profile_key = f"cw:profile:{subjects[0]}"
    wait_until(lambda: client.exists(profile_key) == 1, 30, "a profile")

    client.flushall()  # what a Redis restart without persistence looks like

    wait_until(lambda: client.exists("cw:serving:built") == 1, 30, "the rebuild")
    wait_until(lambda: client.exists(profile_key) == 1, 30, "profiles to come back")
    assert (tier_counts(client), client.zcard("cw:alerts:open")) == before
    # 10 dishonest-debtor rulings, each one item on the board: the ruling (its drop to D
    # and joint-punishment listing are folded into it, docs/alerts.md).
    assert before[1] == 10


def test_an_ended_silence_stays_ended_when_a_rebuild_replays_its_start(pipeline: Pipeline):
    # A rebuild can read the silence's first record from the topic and write it
    # after the live write of its end: the mirror must keep the end.
    from streams.serving.view import apply_silence

    def record(ends_at: str) -> bytes:
        return orjson.dumps(
            {
                "silence_id": "race-1",
                "matchers": {"subject": make_uscc(2400)},
                "starts_at": "2026-11-29T08:00:00Z",
                "ends_at": ends_at,
                "reason": "under investigation",
                "author": "centre",
                "created_at": "2026-11-29T08:00:00Z",
            }
        )

    created, ended = record("2026-11-29T09:00:00Z"), record("2026-11-29T08:10:00Z")

    async def apply_in_order(*values: bytes) -> bytes | None:
        client = aioredis.Redis.from_url(pipeline.stack.redis_url)
        try:
            for value in values:
                await apply_silence(value, client=client)
            stored: bytes | None = await client.hget("cw:silences", "race-1")
            return stored
        finally:
            await client.aclose()

    assert asyncio.run(apply_in_order(ended, created)) == ended
    assert asyncio.run(apply_in_order(created, ended, created)) == ended
