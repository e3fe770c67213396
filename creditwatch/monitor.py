"""A snapshot of a running pipeline, read from the broker and the Redis view.

Used by ``creditwatch demo`` for its live summary and by integration tests to
wait for the pipeline to catch up. Reads only: offsets, the consumer group's
commits and the serving view's counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
import redis
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams import redis_keys as keys
from topics.catalogue import INPUT_TOPICS, RISK_ALERTS, RISK_DLQ, RISK_TIER_CHANGES
from topics.vocabulary import AlertSeverity, Tier

WATCHED_TOPICS = (
    *(spec.name for spec in INPUT_TOPICS),
    RISK_DLQ.name,
    RISK_ALERTS.name,
    RISK_TIER_CHANGES.name,
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    end_offsets: dict[str, int]  # messages ever written, per topic
    consumed: int  # input messages the worker group has committed
    tiers: dict[str, int]
    open_alerts: dict[str, int]  # by severity
    recent_tier_changes: list[dict[str, object]] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return sum(self.end_offsets.get(spec.name, 0) for spec in INPUT_TOPICS)

    @property
    def lag(self) -> int:
        return max(0, self.inputs - self.consumed)

    @property
    def dead_letters(self) -> int:
        return self.end_offsets.get(RISK_DLQ.name, 0)


class Monitor:
    def __init__(self, bootstrap: str, redis_url: str, group: str = "creditwatch") -> None:
        self.group = group
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)

    def _partitions(self) -> list[TopicPartition]:
        return [
            TopicPartition(topic, p)
            for topic in WATCHED_TOPICS
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]

    def snapshot(self) -> Snapshot:
        ends: dict[str, int] = {}
        for tp, offset in self.consumer.end_offsets(self._partitions()).items():
            ends[tp.topic] = ends.get(tp.topic, 0) + offset
        inputs = {spec.name for spec in INPUT_TOPICS}
        committed = self.admin.list_group_offsets(self.group).get(self.group, {})
        consumed = sum(
            meta.offset for tp, meta in committed.items() if tp.topic in inputs and meta.offset > 0
        )
        tiers = {k: int(v) for k, v in self.redis.hgetall(keys.TIER_COUNTS).items()}
        open_alerts = {
            severity.value: int(self.redis.zcard(keys.open_alerts_by("severity", severity.value)))
            for severity in AlertSeverity
        }
        recent = [orjson.loads(raw) for raw in self.redis.lrange(keys.RECENT_TIER_CHANGES, 0, 49)]
        return Snapshot(
            ends, consumed, {t.value: tiers.get(t.value, 0) for t in Tier}, open_alerts, recent
        )

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()
        self.redis.close()
