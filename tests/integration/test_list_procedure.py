"""Issue 17, item 3 (seed 八, 按程序): a joint-punishment entry runs proposal, decision,
notice, statement window and publication on the working-day calendar, on the real
embedded broker; a decision not made in time is escalated.

The worker starts with the bundled policy (no list has a procedure); a second
official approves a version that gives joint punishment one (five working days
to decide, five to state a case), and the running worker takes it up. Event
time moves with the subjects' own records, as a department's feed would move it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kafka import KafkaProducer

from creditwatch import admin_io
from detectors.policy import DEFAULT_POLICY_PATH, default_policy
from tests.factories import enforcement_record
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import make_uscc, wait_until
from tests.integration.test_policy_versions import approve, propose
from tests.integration.test_web_api import get_json
from topics.access import Role

pytestmark = pytest.mark.integration

LISTED, LATE = make_uscc(9701), make_uscc(9702)
PROCEDURE = """[lists.joint_punishment.procedure]
decide_within_working_days = 5
statement_working_days = 5
measures_from = "decision"

[lists.key_attention]"""


def procedure_policy() -> str:
    bundled = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = bundled.replace("[lists.key_attention]", PROCEDURE, 1).replace(
        f'version = "{default_policy().version}"', 'version = "test-procedure"'
    )
    assert "test-procedure" in text and "statement_working_days = 5" in text
    return text


def record(subject: str, event_id: str, kind: str, at: str, **extra: Any) -> dict[str, Any]:
    # finance is not a life-safety field: joint punishment, no ban
    return enforcement_record(
        subject, event_id, kind, at, department="court", sector="finance", **extra
    )


def send(pipeline: Pipeline, *records: dict[str, Any]) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all") as producer:
        for data in records:
            producer.send(
                "enforcement.events", key=data["subject"].encode(), value=json.dumps(data).encode()
            )
        producer.flush()


def read(pipeline: Pipeline, topic: str, subject: str) -> list[dict[str, Any]]:
    found = [json.loads(m.value) for m in admin_io.read_topic(pipeline.stack.bootstrap, topic)]
    return [r for r in found if r.get("subject") == subject]


def steps(pipeline: Pipeline, subject: str) -> list[str]:
    changes = read(pipeline, "risk.list-changes", subject)
    return [c["action"] for c in sorted(changes, key=lambda c: c["version"])]


def alerts(pipeline: Pipeline, subject: str, kind: str) -> list[dict[str, Any]]:
    found = get_json(pipeline, f"/api/alerts?kind={kind}&limit=100")[1]["alerts"]
    return [a for a in found if a["subject"] == subject]


def overdue_alerts(pipeline: Pipeline, subject: str) -> list[dict[str, Any]]:
    found = read(pipeline, "risk.alerts", subject)
    return [a for a in found if a["rule"] == "list_decision_overdue" and a["event"] == "opened"]


def notices(pipeline: Pipeline, subject: str) -> dict[str, dict[str, Any]]:
    return {n["kind"]: n for n in read(pipeline, "risk.workflow", subject)}


def test_a_listing_runs_its_procedure_on_working_days_and_a_late_decision_escalates(
    pipeline: Pipeline,
) -> None:
    maker = pipeline.issue_token("li", Role.CENTRE)
    checker = pipeline.issue_token("zhao", Role.CENTRE)
    status, proposal = propose(pipeline, maker, procedure_policy())
    assert status == 201, proposal
    assert approve(pipeline, checker, proposal["proposal_id"])[0] == 202
    wait_until(
        lambda: (
            get_json(pipeline, "/api/policy/versions")[1]["in_force"]["version"] == "test-procedure"
        ),
        60,
        "the procedure's policy in force",
    )

    # Monday 21 September 2026, 10:00 in Shijiazhuang: a court's dishonest-debtor ruling.
    send(pipeline, record(LISTED, "lp-1", "court_dishonest_debtor", "2026-09-21T02:00:00Z"))
    wait_until(lambda: steps(pipeline, LISTED) == ["proposed"], 60, "the proposal")
    (proposed,) = read(pipeline, "risk.list-changes", LISTED)
    assert proposed["measures"] == [] and proposed["decided_by"] == "court"
    # 谁认定: the court decides within five working days (the Mid-Autumn holiday skipped).
    wait_until(lambda: "list_decision_due" in notices(pipeline, LISTED), 30, "the court's task")
    assert notices(pipeline, LISTED)["list_decision_due"]["due_at"] == "2026-09-29T16:00:00Z"

    decided = record(
        LISTED,
        "lp-2",
        "list_decided",
        "2026-09-28T07:00:00Z",
        concerns_event_id=proposed["proposal"],
        outcome="upheld",
    )
    statement = record(
        LISTED,
        "lp-3",
        "list_statement",
        "2026-10-09T03:00:00Z",
        concerns_event_id=proposed["proposal"],
        description="已履行判决，请求不予列入",
    )
    # Late on the window's last day, the worked Saturday 10 October (调休): not yet.
    last_day = record(LISTED, "lp-4", "licence_granted", "2026-10-10T15:00:00Z")
    send(pipeline, decided, statement, last_day)
    wait_until(lambda: "list_statement_received" in notices(pipeline, LISTED), 60, "the statement")
    assert steps(pipeline, LISTED) == ["proposed", "decided"]
    told = notices(pipeline, LISTED)["list_notice"]  # 告知, with the window's end
    assert (told["department"], told["due_at"]) == ("court", "2026-10-10T16:00:00Z")
    assert "陈述申辩" in told["reasons"][0]["detail_zh"]
    profile = get_json(pipeline, f"/api/subjects/{LISTED}")[1]
    (pending,) = profile["supervision"]["list_procedures"]
    assert pending["statements"][0]["text"] == "已履行判决，请求不予列入"

    # The first record after the window: the entry is published, with its alert.
    send(pipeline, record(LISTED, "lp-5", "licence_granted", "2026-10-10T17:00:00Z"))
    wait_until(
        lambda: steps(pipeline, LISTED) == ["proposed", "decided", "entered"], 60, "publication"
    )
    entered = read(pipeline, "risk.list-changes", LISTED)[-1]
    assert entered["entered_at"] == "2026-10-10T16:00:00Z" and entered["measures"]
    wait_until(lambda: alerts(pipeline, LISTED, "list"), 30, "the listing's alert")

    # Another ruling, Monday 12 October; nobody decides by the end of Monday 19 October.
    send(pipeline, record(LATE, "ll-1", "court_dishonest_debtor", "2026-10-12T02:00:00Z"))
    send(pipeline, record(LATE, "ll-2", "licence_granted", "2026-10-19T15:30:00Z"))
    wait_until(lambda: steps(pipeline, LATE) == ["proposed"], 60, "the second proposal")
    assert "list_decision_overdue" not in notices(pipeline, LATE)
    send(pipeline, record(LATE, "ll-3", "licence_granted", "2026-10-19T16:30:00Z"))
    wait_until(lambda: "list_decision_overdue" in notices(pipeline, LATE), 60, "the escalation")
    assert notices(pipeline, LATE)["list_decision_overdue"]["department"] == "court"
    # The escalation's alert (shown under the subject's open critical ruling alert, which
    # mutes the lesser ones of the same subject on the board).
    wait_until(lambda: overdue_alerts(pipeline, LATE), 30, "the escalation's alert")
    (alert,) = overdue_alerts(pipeline, LATE)
    assert (alert["kind"], alert["severity"]) == ("deadline", "high")
    assert (alert["title"], alert["title_zh"]) == (
        "List entry not decided in time",
        "名单认定逾期未作出",
    )
    assert steps(pipeline, LATE) == ["proposed"]  # escalated, not published
