"""Create and inspect creditwatch's topics on a Kafka-compatible broker.

The topic list, partition count and retention come from ``topics.catalogue``,
so the Faust app and the broker cannot disagree. Works against Apache Kafka and
the embedded Tansu broker (kafka-python speaks to both; librdkafka clients do
not talk to this Tansu build).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import errors as kafka_errors
from kafka.admin import KafkaAdminClient, NewTopic

from streams.settings import bootstrap_servers
from topics.catalogue import ALL_TOPICS, TopicSpec, default_partitions

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0

# Errors meaning "the broker does not accept these topic configs". Creating the
# topic without them beats not creating it: the app still works, only retention
# or compaction differ from the catalogue, and we warn about it.
_CONFIG_REJECTED = (
    kafka_errors.InvalidConfigurationError,
    kafka_errors.PolicyViolationError,
    kafka_errors.UnsupportedVersionError,
)


class BrokerUnreachable(ConnectionError):
    """No Kafka broker answered at the bootstrap address within the timeout."""


def _host_port(server: str) -> tuple[str, int]:
    host, sep, port = server.rpartition(":")
    if not sep:
        return server, 9092
    return host.strip("[]"), int(port)


def check_reachable(bootstrap: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Raise :class:`BrokerUnreachable` unless some bootstrap server accepts TCP.

    A plain connect first gives a fast, one-line answer; kafka-python would
    otherwise retry quietly until its own bootstrap timeout.
    """
    reasons = []
    for server in bootstrap_servers(bootstrap).split(","):
        try:
            with socket.create_connection(_host_port(server), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            reasons.append(f"{server}: {exc.strerror if isinstance(exc, OSError) else exc}")
    raise BrokerUnreachable(f"no Kafka broker reachable at {bootstrap} ({'; '.join(reasons)})")


@contextmanager
def admin_client(bootstrap: str, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[KafkaAdminClient]:
    """A connected ``KafkaAdminClient`` whose every wait is bounded by ``timeout``."""
    bootstrap = bootstrap_servers(bootstrap)
    check_reachable(bootstrap, timeout)
    timeout_ms = int(timeout * 1000)
    configs: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "client_id": "creditwatch-admin",
        "request_timeout_ms": timeout_ms,
    }
    # kafka-python 3 renamed the bootstrap wait; 2.x otherwise waits 30 s or more.
    if "bootstrap_timeout_ms" in KafkaAdminClient.DEFAULT_CONFIG:
        configs["bootstrap_timeout_ms"] = timeout_ms
    else:
        configs["api_version_auto_timeout_ms"] = timeout_ms
    try:
        client = KafkaAdminClient(**configs)
    except kafka_errors.KafkaError as exc:
        raise BrokerUnreachable(f"Kafka broker at {bootstrap} did not answer: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def _topic_name(meta: dict[str, Any]) -> str:
    # kafka-python 3 names the field "name", 2.x "topic".
    return str(meta.get("name") or meta.get("topic"))


def _create_one(
    admin: KafkaAdminClient, spec: TopicSpec, partitions: int, replication: int
) -> bool:
    """Create one topic; False if it already existed (e.g. created concurrently)."""
    try:
        admin.create_topics(
            [NewTopic(spec.name, partitions, replication, topic_configs=spec.config())]
        )
        return True
    except kafka_errors.TopicAlreadyExistsError:
        return False
    except _CONFIG_REJECTED as exc:
        log.warning(
            "broker rejected topic configs %s for %s (%s); creating it with broker defaults",
            spec.config(),
            spec.name,
            exc,
        )
    try:
        admin.create_topics([NewTopic(spec.name, partitions, replication)])
        return True
    except kafka_errors.TopicAlreadyExistsError:
        return False


def create_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec] = ALL_TOPICS,
    partitions: int | None = None,
    replication: int = 1,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> list[str]:
    """Create the catalogue topics that do not exist yet; return the names created.

    Idempotent: existing topics are left alone. If an existing topic has a
    different partition count a warning is logged, because input topics must
    share one count for co-partitioned table state (see ``topics.catalogue``).
    """
    partitions = default_partitions() if partitions is None else partitions
    if partitions < 1 or replication < 1:
        raise ValueError("partitions and replication must be at least 1")
    created: list[str] = []
    with admin_client(bootstrap, timeout) as admin:
        existing = _partition_counts(admin)
        for spec in specs:
            wanted = spec.partitions(partitions)
            if spec.name in existing:
                if existing[spec.name] != wanted:
                    log.warning(
                        "topic %s exists with %d partitions, not %d; left unchanged",
                        spec.name,
                        existing[spec.name],
                        wanted,
                    )
                continue
            if _create_one(admin, spec, wanted, replication):
                created.append(spec.name)
    return created


def _partition_counts(admin: KafkaAdminClient, include_internal: bool = False) -> dict[str, int]:
    return {
        _topic_name(meta): len(meta.get("partitions") or ())
        for meta in admin.describe_topics()
        if include_internal or not meta.get("is_internal")
    }


def describe_topics(
    bootstrap: str, *, include_internal: bool = False, timeout: float = DEFAULT_TIMEOUT_S
) -> dict[str, int]:
    """Topic name -> partition count for every topic on the broker, sorted by name."""
    with admin_client(bootstrap, timeout) as admin:
        counts = _partition_counts(admin, include_internal)
    return dict(sorted(counts.items()))
