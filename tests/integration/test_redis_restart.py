"""Redis killed and restarted empty: the serving view comes back with every alert."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from creditwatch.embedded import EmbeddedRedis
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from topics.risk import on_board

pytestmark = pytest.mark.integration


def alerts_on_topic(bootstrap: str) -> dict[str, dict[str, Any]]:
    """Every alert on risk.alerts, as its latest snapshot."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=2000)
    consumer.assign(
        [
            TopicPartition("risk.alerts", p)
            for p in consumer.partitions_for_topic("risk.alerts") or ()
        ]
    )
    consumer.seek_to_beginning()
    latest: dict[str, dict[str, Any]] = {}
    for message in consumer:
        snapshot = orjson.loads(message.value)
        if snapshot["revision"] >= latest.get(snapshot["alert_id"], {}).get("revision", 0):
            latest[snapshot["alert_id"]] = snapshot
    consumer.close()
    return latest


def test_killed_redis_is_rebuilt_with_every_alert_and_live_event(pipeline: Pipeline):
    subjects = [make_uscc(12000 + i) for i in range(30)]

    def send(prefix: str) -> None:
        with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
            for i, subject in enumerate(subjects):
                record = enforcement(subject, f"{prefix}-{i}", "penalty", 5, severity="serious")
                producer.send(
                    "enforcement.events", key=subject.encode(), value=orjson.dumps(record)
                )
            producer.flush()

    client = redis.Redis.from_url(pipeline.stack.redis_url)
    send("before")
    # Per subject: the serious-penalty alert, kept in the subject's case, and the
    # joint-punishment listing's, on the board.
    wait_until(lambda: client.zcard("cw:alerts:open") == 30, 60, "30 alerts served")

    old = pipeline.stack.redis
    assert old is not None and pipeline.stack.workdir is not None
    old.stop(grace=0)  # at once, and it keeps nothing: as after a crash
    send("during")  # alerts raised while Redis is down
    pipeline.stack.redis = EmbeddedRedis(pipeline.stack.workdir, port=old.port).start()

    # Per subject, besides: the drop to tier D (the second penalty folds into the first
    # one's alert, and the listing is extended, which alerts nobody again).
    wait_until(lambda: len(alerts_on_topic(pipeline.stack.bootstrap)) == 90, 60, "90 alerts raised")
    alerts = alerts_on_topic(pipeline.stack.bootstrap)
    assert {a["count"] for a in alerts.values() if a["rule"] == "penalty_serious"} == {2}
    expected = {i for i, a in alerts.items() if on_board(a)}  # the listing and the drop
    assert len(expected) == 60

    def served() -> set[str]:
        return {i.decode() for i in client.zrange("cw:alerts:open", 0, -1)}

    wait_until(lambda: served() == expected, 60, "every alert back in the serving view")
    live = client.xrange("cw:events")
    announced = {
        orjson.loads(fields[b"data"])["alert_id"]
        for _, fields in live
        if fields[b"type"] == b"alert"
    }
    assert expected <= announced
    # The subjects are food businesses in 长安区: every alert is routed to that
    # inspector (pipeline/routing.toml), and the rebuilt inbox has them all.
    inbox = {
        orjson.loads(fields[b"data"])["alert_id"]
        for _, fields in client.xrange("cw:inbox:changan-food")
    }
    assert expected <= inbox
    assert sum(int(n) for n in client.hvals("cw:tier-counts")) == 30
