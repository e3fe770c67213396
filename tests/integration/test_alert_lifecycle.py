"""The alert lifecycle end to end: a repeat counts, people acknowledge and resolve, silences mute.

Through the real worker: detectors raise candidates, the alert manager owns
each subject's alerts, the HTTP actions become its commands, and the serving
view shows the newest snapshot of each alert.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from creditwatch.admin_io import read_topic
from streams.agents.alert_manager import SILENCE_REFRESH_S
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get_json, read_sse, send
from topics.access import Role
from topics.audit import parse_audit_record
from topics.audit_chain import verify

pytestmark = pytest.mark.integration


def call(
    pipeline: Pipeline, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{pipeline.worker.web_port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token or pipeline.token}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def alerts_of(pipeline: Pipeline, subject: str) -> list[dict[str, Any]]:
    status, profile = get_json(pipeline, f"/api/subjects/{subject}")
    if status != 200:
        return []
    found = [get_json(pipeline, f"/api/alerts/{i}") for i in profile["alert_ids"]]
    return [alert for status, alert in found if status == 200]


def the_alert(pipeline: Pipeline, subject: str, kind: str, check: Any, what: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def ready() -> bool:
        found[:] = [a for a in alerts_of(pipeline, subject) if a["kind"] == kind and check(a)]
        return len(found) == 1

    try:
        wait_until(ready, 40, what)
    except AssertionError as timeout:
        alerts = alerts_of(pipeline, subject)
        seen = [(a["kind"], a["event"], a["source_event_ids"]) for a in alerts]
        raise AssertionError(f"{timeout}; the subject's alerts: {seen}") from None
    return found[0]


def test_a_widening_cross_sector_pattern_is_one_alert_with_a_count(pipeline: Pipeline):
    subject = make_uscc(7101)
    send(
        pipeline,
        enforcement(subject, "cs-1", "penalty", 50, severity="minor"),
        enforcement(subject, "cs-2", "tax_violation", 40, department="taxation"),
    )
    opened = the_alert(pipeline, subject, "cross-sector", lambda a: True, "a cross-sector alert")
    assert opened["count"] == 1 and opened["event"] == "opened"
    send(pipeline, enforcement(subject, "cs-3", "licence_suspended", 30, department="health"))
    repeated = the_alert(
        pipeline, subject, "cross-sector", lambda a: a["count"] == 2, "the repeat counted"
    )
    assert repeated["alert_id"] == opened["alert_id"] and repeated["revision"] == 2
    assert {"cs-1", "cs-2", "cs-3"} <= set(repeated["source_event_ids"])


def test_an_inspector_acknowledges_then_resolves_an_alert(pipeline: Pipeline):
    subject = make_uscc(7102)
    send(pipeline, enforcement(subject, "ack-1", "court_dishonest_debtor", 20))

    def ruling(check: Any = lambda a: True) -> Any:
        return lambda a: a["rule"] == "court_dishonest_debtor" and check(a)

    alert = the_alert(pipeline, subject, "rule", ruling(), "the ruling's alert")
    status, listing = get_json(pipeline, "/api/alerts?limit=500")
    assert alert["alert_id"] in {a["alert_id"] for a in listing["alerts"]}  # on the board
    status, body = call(pipeline, "POST", f"/api/alerts/{alert['alert_id']}/ack", {"note": "seen"})
    assert status == 202 and body["accepted"]
    acked = the_alert(
        pipeline, subject, "rule", ruling(lambda a: a["status"] == "acknowledged"), "acknowledged"
    )
    assert acked["note"] == "seen" and acked["actor"] == "test-centre"
    assert call(pipeline, "POST", f"/api/alerts/{alert['alert_id']}/resolve", {})[0] == 400
    call(pipeline, "POST", f"/api/alerts/{alert['alert_id']}/resolve", {"note": "fine paid"})
    resolved = the_alert(
        pipeline, subject, "rule", ruling(lambda a: a["status"] == "resolved"), "resolved"
    )
    assert resolved["note"] == "fine paid"
    status, listing = get_json(pipeline, "/api/alerts?limit=500")
    assert alert["alert_id"] not in {a["alert_id"] for a in listing["alerts"]}
    assert call(pipeline, "POST", f"/api/alerts/{alert['alert_id']}/ack", {})[0] == 409


def test_a_silence_mutes_until_it_is_ended(pipeline: Pipeline):
    subject = make_uscc(7103)
    status, silence = call(
        pipeline,
        "POST",
        "/api/silences",
        {"matchers": {"subject": subject, "kind": "rule"}, "duration_minutes": 60,
         "reason": "known case, under investigation"},
    )  # fmt: skip
    assert status == 201
    wait_until(
        lambda: any(s["silence_id"] == silence["silence_id"]
                    for s in get_json(pipeline, "/api/silences")[1]["silences"]),
        10, "the silence listed",
    )  # fmt: skip
    time.sleep(SILENCE_REFRESH_S * 1.5)  # the manager reads silences from Redis each second

    def ruling(a: dict[str, Any]) -> bool:
        return a["rule"] == "court_dishonest_debtor"

    send(pipeline, enforcement(subject, "sil-1", "court_dishonest_debtor", 20))
    muted = the_alert(pipeline, subject, "rule", ruling, "the muted alert")
    assert muted["muted_by"] == f"silence:{silence['silence_id']}"
    _, listing = get_json(pipeline, f"/api/alerts?region={muted['region']}&limit=500")
    assert muted["alert_id"] not in {a["alert_id"] for a in listing["alerts"]}

    assert call(pipeline, "DELETE", f"/api/silences/{silence['silence_id']}")[0] == 200
    wait_until(lambda: get_json(pipeline, "/api/silences")[1]["silences"] == [], 10, "ended")
    time.sleep(SILENCE_REFRESH_S * 1.5)  # the manager learns of the end the same way
    # The subject's next ruling folds into its open alert, which nothing mutes any more.
    send(pipeline, enforcement(subject, "sil-2", "court_dishonest_debtor", 10))
    heard = the_alert(
        pipeline, subject, "rule", lambda a: ruling(a) and a["count"] == 2, "the next ruling"
    )
    assert heard["alert_id"] == muted["alert_id"] and heard["muted_by"] is None
    assert heard["source_event_ids"] == ["sil-1", "sil-2"]
    _, listing = get_json(pipeline, f"/api/alerts?region={muted['region']}&limit=500")
    assert muted["alert_id"] in {a["alert_id"] for a in listing["alerts"]}


def test_bad_silences_are_refused_with_the_reason(pipeline: Pipeline):
    for body, field in (
        ({"matchers": {}, "duration_minutes": 5, "reason": "x"}, "matchers"),
        ({"matchers": {"colour": "red"}, "duration_minutes": 5, "reason": "x"}, "colour"),
        ({"matchers": {"sector": "food_drug"}, "duration_minutes": 5}, "reason"),
        (
            {"matchers": {"sector": "food_drug"}, "duration_minutes": 200_000, "reason": "x"},
            "above",
        ),
        (
            {
                "matchers": {"sector": "food_drug"},
                "ends_at": "2026-01-01T00:00:00+08:00",
                "reason": "x",
            },
            "90 days",
        ),
    ):
        status, error = call(pipeline, "POST", "/api/silences", body)
        assert status == 400 and field in error["error"], (body, error)


def test_an_inspector_reconnecting_receives_exactly_the_alerts_routed_meanwhile(
    pipeline: Pipeline,
):
    inbox = "/api/inbox/changan-food/events"  # 长安区 food and drug (pipeline/routing.toml)
    first, missed = make_uscc(7201), [make_uscc(7202), make_uscc(7203)]
    # A serious food penalty raises two alerts: its own, kept in the subject's case
    # ([alerts.disposition]), and the joint-punishment listing's, on the board and routed.
    send(pipeline, enforcement(first, "in-1", "penalty", 20, severity="serious"))
    seen = read_sse(
        pipeline,
        None,
        lambda events: sum(e[2]["subject"] == first for e in events) == 1,
        path=inbox,
    )
    assert seen[-1][2]["kind"] == "list"
    last_id = seen[-1][0]  # the client disconnects here
    for i, subject in enumerate(missed):
        send(pipeline, enforcement(subject, f"in-{i + 2}", "penalty", 20, severity="serious"))
    for subject in missed:
        the_alert(pipeline, subject, "list", lambda a: True, "the listing raised while away")
    resumed = read_sse(pipeline, last_id, lambda events: len(events) >= 2, path=inbox)
    assert sorted((e[2]["subject"], e[2]["kind"]) for e in resumed) == [
        (subject, "list") for subject in sorted(missed)
    ]
    assert all(e[1] == "alert" and e[2]["event"] == "opened" for e in resumed)
    with pytest.raises(TimeoutError):  # nothing else was routed: the stream stays silent
        read_sse(pipeline, resumed[-1][0], lambda events: len(events) > 0, timeout=3, path=inbox)


def test_a_malformed_last_event_id_is_refused(pipeline: Pipeline):
    status, body = call(pipeline, "GET", "/api/inbox/changan-food/events?after=yesterday")
    assert status == 400 and "stream id" in body["error"]


def test_every_api_endpoint_needs_a_token(pipeline: Pipeline):
    for method, path in (
        ("GET", "/api/alerts"),
        ("GET", "/api/tiers"),
        ("GET", "/api/silences"),
        ("GET", "/api/events"),
        ("GET", "/api/inbox/changan-food/events"),
        ("POST", "/api/alerts/any/ack"),
    ):
        request = urllib.request.Request(
            f"http://127.0.0.1:{pipeline.worker.web_port}{path}", method=method
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401, path
    assert call(pipeline, "GET", "/api/tiers", token="not-a-token")[0] == 401


def test_an_inspector_reads_and_acts_only_within_their_county(pipeline: Pipeline):
    inspector = pipeline.issue_token("qiaoxi-li", Role.INSPECTOR, counties=["130104"])
    department = pipeline.issue_token("tax-bureau", Role.DEPARTMENT)
    elsewhere, own = make_uscc(7301), make_uscc(7302)
    send(
        pipeline,
        enforcement(elsewhere, "sc-1", "penalty", 20, severity="serious"),
        enforcement(own, "sc-2", "penalty", 20, severity="serious", region="130104"),
    )
    other = the_alert(pipeline, elsewhere, "rule", lambda a: True, "the 长安区 alert")
    mine = the_alert(pipeline, own, "rule", lambda a: True, "the 桥西区 alert")

    # Another county's alert and subject answer as if absent (issue 20): 404, not 403.
    assert call(pipeline, "GET", f"/api/alerts/{other['alert_id']}", token=inspector)[0] == 404
    assert call(pipeline, "GET", f"/api/alerts/{mine['alert_id']}", token=inspector)[0] == 200
    _, listing = call(pipeline, "GET", "/api/alerts?limit=500", token=inspector)
    assert {a["region"] for a in listing["alerts"]} == {"130104"}
    assert call(pipeline, "GET", f"/api/subjects/{elsewhere}", token=inspector)[0] == 404
    ack = f"/api/alerts/{other['alert_id']}/ack"
    assert call(pipeline, "POST", ack, {}, token=inspector)[0] == 404
    assert (
        call(pipeline, "POST", f"/api/alerts/{mine['alert_id']}/ack", {}, token=inspector)[0] == 202
    )
    assert call(pipeline, "GET", "/api/silences", token=inspector)[0] == 403
    assert call(pipeline, "GET", "/api/inbox/changan-food/events", token=inspector)[0] == 403

    assert call(pipeline, "GET", "/api/alerts", token=department)[0] == 403
    status, profile = call(pipeline, "GET", f"/api/subjects/{own}", token=department)
    assert status == 200 and profile["tier"] and "alert_ids" not in profile


def test_actions_are_on_the_audit_trail(pipeline: Pipeline):
    def trail() -> list[Any]:
        messages = read_topic(pipeline.stack.bootstrap, "risk.audit")
        return [parse_audit_record(m.value) for m in messages]

    def acted(actor: str, action: str) -> bool:
        return any(r.actor == actor and r.action == action for r in trail())

    wait_until(lambda: acted("qiaoxi-li", "alert.ack"), 20, "the inspector's ack audited")
    for action in ("alert.ack", "alert.resolve", "silence.create", "silence.delete"):
        assert acted("test-centre", action), action
    assert verify(trail()) == []
