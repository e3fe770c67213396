"""Losing Redis loses nothing: the worker rebuilds the serving view from the topics."""

from __future__ import annotations

import orjson
import pytest
import redis
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
    # 10 dishonest-debtor rulings: the ruling, the drop to D, the joint-punishment listing.
    assert before[1] == 30
