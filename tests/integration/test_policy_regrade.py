"""Issue 14, item 5: a worker restarted with a changed policy re-grades the subjects it owns.

The worker starts with the bundled policy ("A"); a restart with the same file
moves nothing; a restart with "B" (the bundled file with C starting at 35
instead of 50, and a new version) moves a subject at 40 points from B to C at
once, without a record of its own, by an ordinary tier change naming the
policy change, and leaves a subject at 30 points alone. A probe record sent
after each restart is processed only after the re-grade (Faust resumes the
streams after it), so once its profile shows, the re-grade is done.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from detectors.policy import DEFAULT_POLICY_PATH, default_policy
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import complaint, enforcement, make_uscc, wait_until

pytestmark = pytest.mark.integration

DEBTOR, QUIET = make_uscc(9501), make_uscc(9502)
PROBES = (make_uscc(9510 + i) for i in itertools.count())


def stricter_policy(directory: Path) -> Path:
    bundled = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = bundled.replace("c_from = 50.0", "c_from = 35.0").replace(
        f'version = "{default_policy().version}"', 'version = "test-regrade"'
    )
    assert text.count("test-regrade") == 1 and "c_from = 35.0" in text
    path = directory / "policy-b.toml"
    path.write_text(text, encoding="utf-8")
    return path


def send(pipeline: Pipeline, *records: tuple[str, dict[str, Any]]) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all") as producer:
        for topic, record in records:
            producer.send(topic, key=record["subject"].encode(), value=orjson.dumps(record))
        producer.flush()


def profile(client: redis.Redis, subject: str) -> dict[str, Any] | None:
    raw = client.get(f"cw:profile:{subject}")
    return orjson.loads(raw) if raw else None


def tier_changes(bootstrap: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=2000)
    partitions = consumer.partitions_for_topic("risk.tier-changes") or set()
    consumer.assign([TopicPartition("risk.tier-changes", p) for p in partitions])
    consumer.seek_to_beginning()
    changes = [orjson.loads(message.value) for message in consumer]
    consumer.close()
    return changes


def restart(pipeline: Pipeline, client: redis.Redis, policy: Path | None) -> None:
    """Restart the worker with ``policy`` (None: the bundled one); return once it has
    processed a record sent after the restart."""
    worker = pipeline.worker
    worker.stop()
    if policy is None:
        worker.env.pop("CREDITWATCH_POLICY", None)
    else:
        worker.env["CREDITWATCH_POLICY"] = str(policy)
    worker.start()
    worker.wait_ready(timeout=90)
    probe = next(PROBES)
    send(pipeline, ("complaints.12315", complaint(probe, f"probe-{probe}")))
    wait_until(lambda: profile(client, probe) is not None, 60, "the probe record processed")


def graded(bootstrap: str) -> list[tuple[str, int, str]]:
    """(subject, version, tier) of the two subjects' tier changes (not the probes')."""
    return sorted(
        (c["subject"], c["version"], c["tier"])
        for c in tier_changes(bootstrap)
        if c["subject"] in (DEBTOR, QUIET)
    )


def test_a_changed_policy_re_grades_at_restart_and_an_unchanged_one_does_not(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    bootstrap = pipeline.stack.bootstrap
    send(
        pipeline,
        ("enforcement.events", enforcement(DEBTOR, "rg-1", "penalty", 30, severity="general")),
        ("complaints.12315", complaint(QUIET, "rg-2")),
    )
    wait_until(
        lambda: all(profile(client, s) for s in (DEBTOR, QUIET)), 60, "both subjects' profiles"
    )
    first = [(DEBTOR, 1, "B"), (QUIET, 1, "B")]
    assert graded(bootstrap) == first

    restart(pipeline, client, None)  # the same policy
    assert graded(bootstrap) == first

    restart(pipeline, client, stricter_policy(tmp_path))
    wait_until(lambda: graded(bootstrap) != first, 30, "a tier change after the restart")
    assert graded(bootstrap) == [*first[:1], (DEBTOR, 2, "C"), *first[1:]]
    (change,) = [c for c in tier_changes(bootstrap) if (c["subject"], c["version"]) == (DEBTOR, 2)]
    assert change["policy_version"] == "test-regrade"
    cause = change["reasons"][0]
    assert cause["fact"] == "policy_changed"
    assert f"policy {default_policy().version}" in cause["detail"]
    assert "policy test-regrade" in cause["detail"]
    assert f"策略 {default_policy().version}（" in cause["detail_zh"]
    assert "更换为策略 test-regrade（" in cause["detail_zh"]
    # The profile's score, tier and version are the re-graded ones, under the version it names.
    wait_until(
        lambda: (profile(client, DEBTOR) or {}).get("version") == 2, 30, "the debtor's profile"
    )
    shown = profile(client, DEBTOR)
    assert shown is not None
    assert (shown["tier"], shown["policy_version"], shown["score"]) == (
        "C",
        "test-regrade",
        change["score"],
    )
    wait_until(
        lambda: (profile(client, QUIET) or {}).get("policy_version") == "test-regrade",
        30,
        "the unchanged subject's profile naming the policy in force",
    )

    restart(pipeline, client, stricter_policy(tmp_path))  # B again: nothing to re-grade
    assert graded(bootstrap) == [*first[:1], (DEBTOR, 2, "C"), *first[1:]]
    assert "re-grading under the new policy failed" not in pipeline.worker.log_text()
