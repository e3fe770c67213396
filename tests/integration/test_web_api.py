"""The worker's HTTP API against a running pipeline: metrics, health, alerts, live events,
the measures a listed subject is under."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import NOW, enforcement, make_uscc, wait_until
from topics.access import Role

pytestmark = pytest.mark.integration


def get(pipeline: Pipeline, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the centre's token unless ``headers`` says otherwise."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{pipeline.worker.web_port}{path}",
        headers=pipeline.auth if headers is None else headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(
    pipeline: Pipeline, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    status, body = get(pipeline, path, headers)
    return status, json.loads(body)


def send(pipeline: Pipeline, *records: dict[str, Any]) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        for record in records:
            producer.send(
                "enforcement.events", key=record["subject"].encode(), value=orjson.dumps(record)
            )
        producer.flush()


Event = tuple[str, str, dict[str, Any]]  # id, event type, data


def read_sse(
    pipeline: Pipeline,
    last_event_id: str | None,
    until: Callable[[list[Event]], bool],
    timeout: float = 20,
    path: str = "/api/events",
    token: str | None = None,
) -> list[Event]:
    """Read server-sent events from ``path`` until ``until(events)`` holds."""
    headers = {"Authorization": f"Bearer {token or pipeline.token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    request = urllib.request.Request(
        f"http://127.0.0.1:{pipeline.worker.web_port}{path}", headers=headers
    )
    events: list[Event] = []
    fields: dict[str, str] = {}
    with urllib.request.urlopen(request, timeout=timeout) as stream:
        while not until(events):
            line = stream.readline().decode().rstrip("\n")
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
            elif "data" in fields:
                events.append((fields["id"], fields["event"], json.loads(fields["data"])))
                fields = {}
    return events


def test_metrics_count_processed_events_and_dead_letters(pipeline: Pipeline):
    subject = make_uscc(500)
    send(pipeline, enforcement(subject, "m-1", "spot_check", 5, result="passed"))
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        producer.send("complaints.12315", key=b"k", value=b"garbage").get(10)

    def exported() -> str:
        return get(pipeline, "/metrics")[1].decode()

    wait_until(
        lambda: (
            'creditwatch_dead_letters_total{reason="not_json",topic="complaints.12315"}'
            in exported()
        ),
        30,
        "the dead letter to be counted",
    )
    text = exported()
    assert 'creditwatch_events_consumed_total{topic="enforcement.events"}' in text
    assert "creditwatch_processing_seconds_count" in text


def test_health_and_input_errors(pipeline: Pipeline):
    assert get_json(pipeline, "/health") == (
        200,
        {
            "status": "ok",
            "redis": True,
            "assigned_partitions": get_json(pipeline, "/health")[1]["assigned_partitions"],
        },
    )
    status, body = get_json(pipeline, "/api/alerts?severity=urgent")
    assert status == 400 and "severity must be one of" in body["error"]
    status, body = get_json(pipeline, "/api/subjects/123")
    assert status == 400 and "not a valid USCC" in body["error"]
    assert get_json(pipeline, f"/api/subjects/{make_uscc(999_999)}")[0] == 404


def test_alert_query_filters_and_subject_profile(pipeline: Pipeline):
    subject = make_uscc(501)
    record = enforcement(subject, "q-1", "court_dishonest_debtor", 5)
    record["region"] = "130183"
    send(pipeline, record)

    def alerts_in_region() -> list[dict[str, Any]]:
        return get_json(pipeline, "/api/alerts?region=130183&severity=critical")[1]["alerts"]

    wait_until(lambda: len(alerts_in_region()) == 3, 30, "three critical alerts in 130183")
    assert {a["title"] for a in alerts_in_region()} == {
        "Court dishonest-debtor ruling",
        "Dropped to credit tier D",
        "Entered the joint-punishment list",
    }
    assert get_json(pipeline, "/api/alerts?region=130183&severity=high")[1]["total"] == 0

    wait_until(lambda: get_json(pipeline, f"/api/subjects/{subject}")[0] == 200, 30, "profile")
    profile = get_json(pipeline, f"/api/subjects/{subject}")[1]
    assert profile["tier"] == "D" and profile["floor"] == "D"
    assert len(profile["alert_ids"]) == 3


def test_live_events_resume_after_last_event_id(pipeline: Pipeline):
    first, second = make_uscc(502), make_uscc(503)
    send(pipeline, enforcement(first, "s-1", "penalty", 5, severity="serious"))

    def about_first(events: list[Event]) -> list[str]:
        return [id_ for id_, _, data in events if data["subject"] == first]

    # A serious food penalty raises the rule's alert, then the joint-punishment listing's.
    seen = read_sse(pipeline, "0", until=lambda events: len(about_first(events)) == 2)
    last_id = about_first(seen)[-1]
    # While no client is connected, another alert is raised; a client resuming
    # from the last id it saw gets exactly what it missed.
    send(pipeline, enforcement(second, "s-2", "penalty", 5, severity="serious"))
    missed = read_sse(pipeline, last_id, until=lambda events: len(events) >= 1)
    assert [(kind, data["subject"]) for _, kind, data in missed] == [("alert", second)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_measures_tell_an_approval_workflow_whether_a_listed_subject_may_bid(pipeline: Pipeline):
    subject = make_uscc(504)
    send(pipeline, enforcement(subject, "jp-1", "court_dishonest_debtor", 5, department="court"))

    def lists() -> list[str]:
        status, profile = get_json(pipeline, f"/api/subjects/{subject}")
        supervision = profile.get("supervision") if status == 200 else None
        return [m["list"] for m in supervision["lists"]] if supervision else []

    wait_until(lambda: lists() == ["joint_punishment"], 30, "the listing in the profile")
    measures = f"/api/subjects/{subject}/measures"

    status, answer = get_json(pipeline, f"{measures}?action=bidding")
    assert status == 200 and answer["restricted"] is True
    assert [(m["list"], m["code"]) for m in answer["measures"]] == [
        ("joint_punishment", "no_bidding")
    ]
    listed_until = datetime.fromisoformat(answer["measures"][0]["listed_until"])
    assert listed_until == NOW - timedelta(minutes=5) + timedelta(days=1095)  # three years
    status, answer = get_json(pipeline, f"{measures}?action=spot_check")
    assert (status, answer["restricted"], answer["measures"]) == (200, False, [])
    status, answer = get_json(pipeline, measures)
    assert status == 200 and answer["action"] is None and len(answer["measures"]) > 1

    status, body = get_json(pipeline, f"{measures}?action=export")
    assert status == 400 and "bidding" in body["error"] and "spot_check" in body["error"]
    assert get_json(pipeline, f"/api/subjects/{make_uscc(999_998)}/measures")[0] == 404

    department = pipeline.issue_token("bidding-platform", Role.DEPARTMENT)
    status, answer = get_json(pipeline, f"{measures}?action=bidding", bearer(department))
    assert status == 200 and answer["restricted"] is True
    changan = pipeline.issue_token("changan-measures", Role.INSPECTOR, counties=["130102"])
    assert get(pipeline, measures, bearer(changan))[0] == 200
    qiaoxi = pipeline.issue_token("qiaoxi-measures", Role.INSPECTOR, counties=["130104"])
    assert get(pipeline, measures, bearer(qiaoxi))[0] == 403
    assert get(pipeline, measures, {})[0] == 401
