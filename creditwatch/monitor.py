"""A snapshot of a running pipeline, read from the broker and the Redis view.

Used by ``creditwatch demo`` for its live summary. Reads only: offsets, the
consumer group's commits, the serving view's counters, and every snapshot on
``risk.alerts`` (counted for the alert budget, creditwatch/evaluation/alert_budget.py).
Every read is bounded by one timeout, and a broker or Redis that does not
answer in time is reported as :class:`Unavailable`, so the summary can say so
and try again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson
import redis
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError, RequestTimedOutError

from creditwatch.evaluation.alert_budget import SECONDS_PER_DAY, AlertBudget, AlertTally
from streams.serving import redis_keys as keys
from topics.catalogue import INPUT_TOPICS, RISK_ALERTS, RISK_DLQ, RISK_TIER_CHANGES
from topics.vocabulary import AlertSeverity, Tier

WATCHED_TOPICS = (
    *(spec.name for spec in INPUT_TOPICS),
    RISK_DLQ.name,
    RISK_ALERTS.name,
    RISK_TIER_CHANGES.name,
)
DEFAULT_TIMEOUT_S = 5.0


class Unavailable(RuntimeError):
    """The broker or Redis did not answer a snapshot, in time or at all."""

    def __init__(self, service: str, cause: Exception) -> None:
        self.service = service  # "broker" or "Redis"
        timed_out = isinstance(
            cause, KafkaTimeoutError | RequestTimedOutError | redis.TimeoutError | TimeoutError
        )
        self.state = "slow" if timed_out else "unreachable"
        detail = str(cause) or type(cause).__name__
        if type(cause).__name__ not in detail:  # kafka-python's errors name themselves
            detail = f"{type(cause).__name__}: {detail}"
        super().__init__(f"{service} {self.state} ({detail})")


@dataclass(frozen=True, slots=True)
class Snapshot:
    end_offsets: dict[str, int]  # messages ever written, per topic
    consumed: int  # input messages the worker group has committed
    tiers: dict[str, int]
    open_alerts: dict[str, int]  # by severity
    recent_tier_changes: list[dict[str, object]] = field(default_factory=list)
    budget: AlertBudget | None = None  # alerts per 1,000 subjects per day, so far

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
    """Snapshots of one pipeline; each request waits at most ``timeout`` seconds."""

    def __init__(
        self,
        bootstrap: str,
        redis_url: str,
        group: str = "creditwatch",
        timeout: float = DEFAULT_TIMEOUT_S,
        subjects: int = 0,
        records_per_s: float = 0.0,
    ) -> None:
        """``subjects`` and ``records_per_s`` (the simulator's rate, in event time)
        turn the alerts read so far into the alert budget, over the traffic the
        worker has processed; without them it is not counted."""
        self.group = group
        self.timeout = timeout
        self.subjects = subjects
        self.records_per_s = records_per_s
        self.tally = AlertTally()
        timeout_ms = int(timeout * 1000)
        # It never fetches records; kafka-python wants the fetch wait below the timeout.
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, fetch_max_wait_ms=10
        )
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
        # redis-py waits forever by default: a stopped Redis would stop the summary.
        self.redis = redis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._watched: list[TopicPartition] = []
        # risk.alerts from the beginning, by plain assignment (no group), read as it grows.
        self.alerts = KafkaConsumer(
            bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, enable_auto_commit=False
        )
        self._alerts_assigned = False

    def _partitions(self) -> list[TopicPartition]:
        # Looked up until every topic has partitions, then kept: the lookup of an
        # unknown topic waits for metadata with no timeout of its own.
        if not self._watched:
            found = {t: self.consumer.partitions_for_topic(t) for t in WATCHED_TOPICS}
            partitions = [TopicPartition(t, p) for t, ps in found.items() for p in sorted(ps)]
            if all(found.values()):
                self._watched = partitions
            return partitions
        return self._watched

    def snapshot(self) -> Snapshot:
        """The pipeline now; :class:`Unavailable` if the broker or Redis does not answer."""
        try:
            ends, consumed = self._offsets()
            if self.counts_budget:
                self._read_alerts()
        except (KafkaError, OSError) as exc:
            raise Unavailable("broker", exc) from exc
        try:
            return self._view(ends, consumed)
        except (redis.RedisError, OSError) as exc:
            raise Unavailable("Redis", exc) from exc

    def _offsets(self) -> tuple[dict[str, int], int]:
        ends: dict[str, int] = {}
        for tp, offset in self.consumer.end_offsets(self._partitions()).items():
            ends[tp.topic] = ends.get(tp.topic, 0) + offset
        inputs = {spec.name for spec in INPUT_TOPICS}
        committed = self.admin.list_group_offsets(self.group).get(self.group, {})
        consumed = sum(
            meta.offset for tp, meta in committed.items() if tp.topic in inputs and meta.offset > 0
        )
        return ends, consumed

    @property
    def counts_budget(self) -> bool:
        return self.subjects > 0 and self.records_per_s > 0

    def _budget(self, consumed: int) -> AlertBudget:
        """The budget over the event time the worker has processed: its input records
        at the simulator's rate (records carry the wall clock as their time)."""
        days = consumed / self.records_per_s / SECONDS_PER_DAY
        return self.tally.budget(self.subjects, days=days, records=consumed)

    def _read_alerts(self) -> None:
        """Count the alert snapshots written since the last read, for at most the timeout."""
        if not self._alerts_assigned:
            found = self.consumer.partitions_for_topic(RISK_ALERTS.name)
            if not found:
                return
            partitions = [TopicPartition(RISK_ALERTS.name, p) for p in sorted(found)]
            self.alerts.assign(partitions)
            self.alerts.seek_to_beginning(*partitions)
            self._alerts_assigned = True
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            batches = self.alerts.poll(timeout_ms=200, max_records=5_000)
            if not batches:
                return
            for messages in batches.values():
                for message in messages:
                    try:
                        snapshot = orjson.loads(message.value)
                    except orjson.JSONDecodeError:
                        continue  # not an alert: the view dead-letters it, the budget skips it
                    if isinstance(snapshot, dict):
                        self.tally.add(snapshot)

    def _view(self, ends: dict[str, int], consumed: int) -> Snapshot:
        tiers = {k: int(v) for k, v in self.redis.hgetall(keys.TIER_COUNTS).items()}
        open_alerts = {
            severity.value: int(self.redis.zcard(keys.open_alerts_by("severity", severity.value)))
            for severity in AlertSeverity
        }
        recent = [orjson.loads(raw) for raw in self.redis.lrange(keys.RECENT_TIER_CHANGES, 0, 49)]
        return Snapshot(
            ends,
            consumed,
            {t.value: tiers.get(t.value, 0) for t in Tier},
            open_alerts,
            recent,
            self._budget(consumed) if self.counts_budget else None,
        )

    def close(self) -> None:
        self.consumer.close()
        self.alerts.close()
        self.admin.close()
        self.redis.close()
