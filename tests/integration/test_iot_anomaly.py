"""An IoT spike raises an explained anomaly alert through the running worker."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from kafka import KafkaProducer

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import make_uscc, reading, wait_until
from tests.integration.test_web_api import get_json

pytestmark = pytest.mark.integration


def test_spike_after_warm_up_is_reported_with_its_baseline(pipeline: Pipeline):
    subject = make_uscc(7000)
    rng = random.Random(5)
    start = datetime.now(UTC) - timedelta(days=1)
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for i in range(260):
            record = reading(subject, f"fridge-{i}", 9.5 if i == 250 else 4.0 + rng.gauss(0, 0.15))
            record["measured_at"] = (start + timedelta(minutes=5 * i)).isoformat()
            producer.send("iot.readings", key=subject.encode(), value=orjson.dumps(record))
        producer.flush()

    def anomalies() -> list[dict]:
        status, profile = get_json(pipeline, f"/api/subjects/{subject}")
        found = [get_json(pipeline, f"/api/alerts/{i}")[1] for i in profile.get("alert_ids", [])]
        return [a for a in found if status == 200 and a["kind"] == "anomaly"]

    wait_until(lambda: len(anomalies()) >= 1, 60, "the anomaly alert")
    [alert] = anomalies()
    assert alert["source_event_ids"] == ["fridge-250"]
    facts = {e["fact"]: e for e in alert["evidence"]}
    assert facts["value"]["value"] == 9.5
    assert abs(facts["expected"]["value"] - 4.0) < 0.5
    # An ordinary anomaly is counted in the day's digest of IoT anomalies of its county
    # and sector ([alerts.disposition]), which names the subject, with the alert's title.
    assert alert["disposition"] == "digest"

    def digest() -> dict | None:
        listed = get_json(pipeline, "/api/alerts?kind=anomaly&region=130102&limit=50")[1]
        return next((a for a in listed["alerts"] if a["dedup_key"] == alert["digest_key"]), None)

    wait_until(lambda: digest() is not None, 30, "the day's digest on the board")
    named = {e["fact"]: e for e in digest()["evidence"]}  # type: ignore[index]
    assert named[f"subject {subject}"]["detail"] == alert["title"]
