"""Issue 17 items 1 and 2 against the real embedded broker, Redis and a worker process:
an alert opens a case owned as the routing rules say; people work it through the API
(audited, within their role); a false-positive verdict shows in the rule's precision
metric and report; reassignment; a case past its SLA is escalated."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.request
from typing import Any

import pytest
import redis

from creditwatch.cli import main
from pipeline.routing import load_routing
from tests.integration.archive_support import Archive, running_sink
from tests.integration.conftest import Pipeline
from tests.integration.test_access_audit import audit_trail
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get, get_json, post, send
from topics.access import Role

pytestmark = pytest.mark.integration

WAIT_S = 40


def case_of(pipeline: Pipeline, subject: str, view: str = "open") -> dict[str, Any] | None:
    _, listed = get_json(pipeline, f"/api/cases?view={view}")
    return next((c for c in listed["cases"] if c["subject"] == subject), None)


def wait_for_case(pipeline: Pipeline, subject: str) -> dict[str, Any]:
    wait_until(lambda: case_of(pipeline, subject) is not None, WAIT_S, f"a case of {subject}")
    found = case_of(pipeline, subject)
    assert found is not None
    return found


def full_case(pipeline: Pipeline, case_id: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token or pipeline.token}"}
    status, case = get_json(pipeline, f"/api/cases/{case_id}", headers)
    assert status == 200, case
    return dict(case)


def act(
    pipeline: Pipeline, case_id: str, path: str, body: dict[str, Any], token: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    return post(pipeline, f"/api/cases/{case_id}/{path}", data, "application/json", token)


def metric(pipeline: Pipeline, name: str, **labels: str) -> float | None:
    _, body = get(pipeline, "/metrics", {})
    for line in body.decode().splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_an_alert_opens_a_case_with_the_routed_owner_who_works_it_and_a_verdict_feeds_back(
    pipeline: Pipeline,
):
    subject = make_uscc(9101)
    # A court dishonest-debtor ruling in 长安区, food and drugs: the changan-food route.
    send(pipeline, enforcement(subject, "case-1", "court_dishonest_debtor", 5))
    listed = wait_for_case(pipeline, subject)
    expected_owner, expected_queue = load_routing().case_owner(
        {
            "region": "130102",
            "sector": "food_drug",
            "kind": "rule",
            "severity": "high",
            "subject": subject,
            "evidence": [],
        }  # fmt: skip
    )
    assert (listed["owner"], listed["queue"], listed["status"]) == (
        expected_owner, expected_queue, "new"
    )  # fmt: skip
    assert (listed["owner"], listed["queue"]) == ("changan-food", "food-safety")
    case_id = listed["case_id"]

    # The owner sees it among their cases; a department token sees no cases at all.
    owner = pipeline.issue_token("changan-food", Role.INSPECTOR, counties=["130102"])
    status, mine = get_json(pipeline, "/api/cases?view=mine", {"Authorization": f"Bearer {owner}"})
    assert status == 200 and case_id in [c["case_id"] for c in mine["cases"]]
    department = pipeline.issue_token("tax-system", Role.DEPARTMENT)
    status, _ = get_json(pipeline, "/api/cases", {"Authorization": f"Bearer {department}"})
    assert status == 403

    case = full_case(pipeline, case_id, owner)
    alert_ids = [a["alert_id"] for a in case["alerts"]]
    assert alert_ids, case
    # Closing before every alert has a verdict is refused, saying why.
    status, answer = act(pipeline, case_id, "status", {"status": "closed"}, owner)
    assert status == 409 and "verdict" in answer["error"]
    # A status or verdict that does not exist is a bad request, not a refused action.
    assert act(pipeline, case_id, "status", {"status": "archived"}, owner)[0] == 400
    path = f"alerts/{case['alerts'][0]['alert_id']}/verdict"
    assert act(pipeline, case_id, path, {"verdict": "maybe"}, owner)[0] == 400

    assert act(pipeline, case_id, "status", {"status": "investigating"}, owner)[0] == 202
    assert act(pipeline, case_id, "notes", {"text": "现场核查：企业已停业"}, owner)[0] == 202
    first = case["alerts"][0]
    for alert in case["alerts"]:
        path = f"alerts/{alert['alert_id']}/verdict"
        assert act(pipeline, case_id, path, {"verdict": "false_positive"}, owner)[0] == 202

    def worked() -> bool:
        now = full_case(pipeline, case_id)
        return now["status"] == "investigating" and all(a["verdict"] for a in now["alerts"])

    wait_until(worked, WAIT_S, "the owner's actions applied")
    now = full_case(pipeline, case_id)
    assert [n["text"] for n in now["notes"]] == ["现场核查：企业已停业"]
    assert now["notes"][0]["actor"] == "changan-food"

    # Item 2: the false positive is in the rule's precision, as a metric and a report.
    rule, kind = first["rule"], first["kind"]
    wait_until(
        lambda: metric(pipeline, "creditwatch_rule_precision", rule=rule, kind=kind) == 0.0,
        WAIT_S,
        f"precision 0 for {rule} in /metrics",
    )
    judged = metric(
        pipeline, "creditwatch_alert_verdicts", rule=rule, kind=kind, verdict="false_positive"
    )
    assert judged is not None and judged >= 1
    _, report = get_json(pipeline, "/api/case-precision")
    row = next(r for r in report["rules"] if (r["rule"], r["kind"]) == (rule, kind))
    assert row["false_positive"] >= 1 and row["precision"] == 0.0
    status, _ = get_json(pipeline, "/api/case-precision", {"Authorization": f"Bearer {owner}"})
    assert status == 403  # the report is the centre's

    # Every change is on the audit trail, by who made it.
    def audited() -> set[tuple[str, str]]:
        return {(r.actor, r.action) for r in audit_trail(pipeline) if r.target == f"case:{case_id}"}

    wait_until(lambda: ("changan-food", "case.verdict") in audited(), WAIT_S, "verdicts audited")
    assert {("system", "case.open"), ("changan-food", "case.status"),
            ("changan-food", "case.note")} <= audited()  # fmt: skip


def test_the_centre_reassigns_a_case_and_the_former_owner_may_no_longer_work_it(
    pipeline: Pipeline,
):
    subject = make_uscc(9102)
    send(pipeline, enforcement(subject, "case-2", "court_dishonest_debtor", 5))
    case_id = wait_for_case(pipeline, subject)["case_id"]
    former = pipeline.issue_token("changan-food", Role.INSPECTOR, counties=["130102"])
    # Only the centre reassigns.
    status, _ = act(pipeline, case_id, "assign", {"owner": "me-instead"}, former)
    assert status == 403
    assert act(pipeline, case_id, "assign", {"owner": "qiaoxi-all"})[0] == 202
    wait_until(
        lambda: full_case(pipeline, case_id)["owner"] == "qiaoxi-all", WAIT_S, "the new owner"
    )
    # The former owner still reads it (their county) but works on it no more.
    status, _ = act(pipeline, case_id, "notes", {"text": "still mine?"}, former)
    assert status == 403
    new_owner = pipeline.issue_token("qiaoxi-all", Role.INSPECTOR, counties=["130104"])
    headers = {"Authorization": f"Bearer {new_owner}"}
    _, mine = get_json(pipeline, "/api/cases?view=mine", headers)
    assert case_id in [c["case_id"] for c in mine["cases"]]
    history = full_case(pipeline, case_id)["history"]
    assert history[-1]["actor"] == "test-centre"
    assert history[-1]["detail"] == "changan-food → qiaoxi-all"


def test_a_case_past_its_sla_is_escalated_and_listed_overdue(pipeline: Pipeline):
    """The SLA runs from when the alert was raised (the record's time): a ruling recorded
    three weeks ago is past any queue's working days, so the timer escalates its case."""
    subject = make_uscc(9103)
    three_weeks = 21 * 24 * 60
    send(pipeline, enforcement(subject, "case-3", "court_dishonest_debtor", three_weeks))
    case_id = wait_for_case(pipeline, subject)["case_id"]
    wait_until(
        lambda: full_case(pipeline, case_id)["escalated_at"] is not None,
        WAIT_S,
        "the SLA escalation",
    )
    case = full_case(pipeline, case_id)
    assert case["overdue"] and case["history"][-1]["action"] == "escalate"
    assert case_of(pipeline, subject, "overdue") is not None
    fresh = make_uscc(9104)
    send(pipeline, enforcement(fresh, "case-4", "court_dishonest_debtor", 5))
    wait_for_case(pipeline, fresh)
    assert case_of(pipeline, fresh, "overdue") is None
    wait_until(
        lambda: (metric(pipeline, "creditwatch_cases_open", state="overdue") or 0) >= 1,
        WAIT_S,
        "the overdue gauge",
    )
    assert ("system", "case.escalate") in {
        (r.actor, r.action) for r in audit_trail(pipeline) if r.target == f"case:{case_id}"
    }


def test_a_file_attached_to_a_case_is_kept_in_the_record_store_and_downloaded_whole(
    pipeline: Pipeline,
):
    subject = make_uscc(9106)
    send(pipeline, enforcement(subject, "case-6", "court_dishonest_debtor", 5))
    case_id = wait_for_case(pipeline, subject)["case_id"]
    content = bytes(range(256)) * 40  # 10 KiB of every byte value
    body = {"name": "现场照片 1.png", "media_type": "image/png",
            "content_base64": base64.b64encode(content).decode()}  # fmt: skip
    status, answer = act(pipeline, case_id, "attachments", body)
    assert status == 202, answer
    assert answer["sha256"] == hashlib.sha256(content).hexdigest()
    assert answer["size"] == len(content)

    def listed() -> list[dict[str, Any]]:
        return list(full_case(pipeline, case_id)["attachments"])

    wait_until(lambda: len(listed()) == 1, WAIT_S, "the attachment on the case")
    (attached,) = listed()
    assert (attached["name"], attached["by"]) == ("现场照片 1.png", "test-centre")
    request = urllib.request.Request(
        f"http://127.0.0.1:{pipeline.worker.web_port}"
        f"/api/cases/{case_id}/attachments/{attached['attachment_id']}",
        headers=pipeline.auth,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == content
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    # Not base64, or empty: refused before anything is stored.
    assert act(pipeline, case_id, "attachments", {**body, "content_base64": "%%%"})[0] == 400
    assert act(pipeline, case_id, "attachments", {**body, "content_base64": ""})[0] == 400
    department = pipeline.issue_token("tax-system-2", Role.DEPARTMENT)
    assert act(pipeline, case_id, "attachments", body, department)[0] == 403
    assert ("test-centre", "case.attach") in {
        (r.actor, r.action) for r in audit_trail(pipeline) if r.target == f"case:{case_id}"
    }


def test_the_record_store_keeps_every_version_of_a_case_and_its_latest(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
):
    """The archive sink stores risk.cases: the first test's case, worked by its owner; and
    ``creditwatch cases precision`` reports from there what the API reports."""
    assert pipeline.database_url is not None
    case_id = wait_for_case(pipeline, make_uscc(9101))["case_id"]
    with running_sink(pipeline, pipeline.database_url) as sink:
        archive = Archive(pipeline, pipeline.database_url, sink)
        archive.settle()
        (latest,) = archive.query(
            "SELECT status, owner, queue, revision FROM case_state WHERE case_id = %s", case_id
        )
        (versions,) = archive.query(
            "SELECT count(*) FROM case_versions WHERE case_id = %s", case_id
        )
    assert latest[:3] == ("investigating", "changan-food", "food-safety")
    # Each change is one version on risk.cases, and the store keeps them all.
    assert versions[0] == latest[3] >= 5  # opened, status, note, and a verdict per alert

    database = ["--database", pipeline.database_url]
    assert main(["cases", "precision", *database, "--json"]) == 0
    reported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert reported == get_json(pipeline, "/api/case-precision")[1]["rules"]
    assert main(["cases", "precision", *database, "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out.startswith("no verdicts")


def test_cases_and_their_verdicts_come_back_after_redis_lost_them(pipeline: Pipeline):
    """Run last in this module: it wipes Redis (tokens included, which come back too)."""
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    subject = make_uscc(9105)
    send(pipeline, enforcement(subject, "case-5", "court_dishonest_debtor", 5))
    case = full_case(pipeline, wait_for_case(pipeline, subject)["case_id"])
    alert_id = case["alerts"][0]["alert_id"]
    path = f"alerts/{alert_id}/verdict"
    assert act(pipeline, case["case_id"], path, {"verdict": "risk_confirmed"})[0] == 202
    wait_until(
        lambda: full_case(pipeline, case["case_id"])["alerts"][0]["verdict"] is not None,
        WAIT_S,
        "the verdict",
    )
    before = get_json(pipeline, "/api/case-precision")[1]
    open_before = client.zcard("cw:cases:open")

    client.flushall()  # what a Redis restart without persistence looks like
    wait_until(lambda: client.exists("cw:serving:built") == 1, WAIT_S, "the rebuild")
    wait_until(lambda: get(pipeline, "/api/cases")[0] == 200, WAIT_S, "tokens back")
    assert full_case(pipeline, case["case_id"])["alerts"][0]["verdict"] == "risk_confirmed"
    assert client.zcard("cw:cases:open") == open_before
    assert get_json(pipeline, "/api/case-precision")[1] == before
