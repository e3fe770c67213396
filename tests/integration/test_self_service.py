"""Issue 18 through the real broker: an association's member feed and reports, a subject's
self-service (repair, objection, voluntary registration), each within its token's scope."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from kafka import KafkaProducer

from creditwatch.admin_io import read_topic
from tests.factories import enforcement_record as record
from tests.factories import make_uscc
from tests.integration.conftest import Pipeline, running_pipeline
from tests.integration.test_pipeline import wait_until
from tests.integration.test_web_api import get_json, post
from topics.access import Role
from topics.catalogue import ENFORCEMENT_EVENTS, REGISTRY_MEMBERSHIPS, RISK_AUDIT, RISK_DLQ

pytestmark = pytest.mark.integration

CST = ZoneInfo("Asia/Shanghai")
MEMBER, FORMER, OUTSIDER = make_uscc(9101), make_uscc(9102), make_uscc(9103)
SELF = make_uscc(9104)  # files for itself
ASSOCIATION = "food-assoc"


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with running_pipeline() as running:
        yield running


def when(*args: int) -> str:
    return datetime(*args, tzinfo=CST).isoformat()


def send(pipeline: Pipeline, topic: str, items: list[tuple[str, dict[str, Any] | bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap, acks="all")
    for key, value in items:
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        producer.send(topic, key=key.encode(), value=raw)
    producer.flush()
    producer.close()


def member(subject: str, since: str, until: str | None = None) -> tuple[str, dict[str, Any]]:
    value = {
        "event_id": f"join-{subject}",
        "association": ASSOCIATION,
        "subject": subject,
        "member_from": since,
        "member_until": until,
        "recorded_at": when(2025, 12, 1),
    }
    return f"{ASSOCIATION}|{subject}", value


def call(pipeline: Pipeline, path: str, token: str) -> tuple[int, Any]:
    return get_json(pipeline, path, {"Authorization": f"Bearer {token}"})


def send_json(pipeline: Pipeline, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    return post(pipeline, path, json.dumps(body).encode(), "application/json", token)


def profile(pipeline: Pipeline, subject: str) -> dict[str, Any] | None:
    status, found = call(pipeline, f"/api/subjects/{subject}", pipeline.token)
    return found if status == 200 else None


# ---------------------------------------------------------------- associations


@pytest.fixture(scope="module")
def association(pipeline: Pipeline) -> str:
    """The register (a member, a former member, and one record that breaks the contract),
    then each subject's first record and a serious penalty; the association's token."""
    send(
        pipeline,
        REGISTRY_MEMBERSHIPS.name,
        [
            member(MEMBER, when(2025, 1, 1)),
            member(FORMER, when(2025, 1, 1), until=when(2026, 3, 1)),
            ("bad", {**member(OUTSIDER, when(2025, 1, 1))[1], "member_until": when(2024, 1, 1)}),
        ],
    )
    items = []
    for n, subject in enumerate((MEMBER, FORMER, OUTSIDER)):
        passed = record(subject, f"pass-{n}", "spot_check", when(2026, 1, 5), result="passed")
        serious = record(subject, f"serious-{n}", "penalty", when(2026, 4, 1), severity="serious")
        items += [(subject, passed), (subject, serious)]
    send(pipeline, ENFORCEMENT_EVENTS.name, items)
    subjects = (MEMBER, FORMER, OUTSIDER)
    at_c = lambda: all((profile(pipeline, s) or {}).get("tier") == "C" for s in subjects)  # noqa: E731
    wait_until(at_c, 60, "every subject at tier C")
    return pipeline.issue_token("food-assoc-token", Role.ASSOCIATION, association=ASSOCIATION)


def feed(pipeline: Pipeline, token: str) -> set[tuple[str, str, str]]:
    status, answer = call(pipeline, "/api/association/feed", token)
    assert status == 200, answer
    return {
        (
            c["change"]["subject"],
            c["type"],
            c["change"].get("tier") or f"{c['change']['list']} {c['change']['action']}",
        )
        for c in answer["changes"]
    }


def test_the_feed_shows_a_member_s_changes_and_not_a_non_member_s(
    pipeline: Pipeline, association: str
) -> None:
    expected = {
        (MEMBER, "tier-change", "C"),
        (MEMBER, "list-change", "joint_punishment entered"),
    }
    wait_until(lambda: feed(pipeline, association) >= expected, 30, "the member's changes")
    time.sleep(1)
    # FORMER's penalty came after its membership ended; OUTSIDER never was a member.
    assert feed(pipeline, association) == expected
    # Asked again from where the last answer ended: nothing new.
    status, answer = call(pipeline, "/api/association/feed", association)
    status, later = call(pipeline, f"/api/association/feed?after={answer['next']}", association)
    assert (status, later["changes"], later["next"]) == (200, [], answer["next"])
    assert call(pipeline, "/api/association/feed?after=x", association)[0] == 400


def test_an_association_reads_members_only_and_no_alerts(
    pipeline: Pipeline, association: str
) -> None:
    status, shown = call(pipeline, f"/api/subjects/{MEMBER}", association)
    assert status == 200
    assert shown["tier"] == "C" and [e["list"] for e in shown["lists"]] == ["joint_punishment"]
    assert "supervision" not in shown and "alert_ids" not in shown
    for other in (FORMER, OUTSIDER):
        assert call(pipeline, f"/api/subjects/{other}", association)[0] == 404
        assert call(pipeline, f"/api/subjects/{other}/measures", association)[0] == 404
    assert call(pipeline, "/api/alerts", association)[0] == 403
    status, register = call(pipeline, "/api/association/members", association)
    assert status == 200
    assert {(m["subject"], m["member_now"], m["tier"]) for m in register["members"]} == {
        (MEMBER, True, "C"),
        (FORMER, False, None),
    }


def test_a_membership_that_breaks_the_contract_is_dead_lettered(
    pipeline: Pipeline, association: str
) -> None:
    def letters() -> list[dict[str, Any]]:
        found = [orjson.loads(m.value) for m in read_topic(pipeline.stack.bootstrap, RISK_DLQ.name)]
        return [d for d in found if d["source_topic"] == REGISTRY_MEMBERSHIPS.name]

    wait_until(lambda: len(letters()) == 1, 30, "the bad membership in the DLQ")
    assert letters()[0]["reason"] == "inconsistent"


def test_an_association_reports_a_member_s_self_discipline_breach(
    pipeline: Pipeline, association: str
) -> None:
    made = {
        "subject": MEMBER,
        "event_id": "c1",
        "kind": "commitment_made",
        "commitment_kind": "industry_self_discipline",
        "occurred_at": when(2026, 4, 2, 10),
        "deadline": when(2027, 4, 2, 17),
    }
    broken = {
        **made,
        "event_id": "c1-broken",
        "kind": "commitment_breached",
        "occurred_at": when(2026, 4, 20, 10),
        "concerns_event_id": f"{ASSOCIATION}:c1",
    }
    assert send_json(pipeline, "/api/association/records", association, made)[0] == 202
    assert send_json(pipeline, "/api/association/records", association, broken)[0] == 202
    outsider = {**made, "subject": OUTSIDER}
    assert send_json(pipeline, "/api/association/records", association, outsider)[0] == 404
    status, refused = send_json(
        pipeline, "/api/association/records", association, {**made, "kind": "penalty"}
    )
    assert status == 400 and "reports only" in refused["error"]
    status, refused = send_json(
        pipeline, "/api/association/records", association, {**made, "occurred_at": "soon"}
    )
    assert status == 400 and "occurred_at" in refused["error"]

    def commitment() -> list[tuple[str, str]]:
        case = (profile(pipeline, MEMBER) or {}).get("supervision") or {}
        return [(c["event_id"], c["status"]) for c in case.get("commitments", [])]

    wait_until(lambda: commitment() == [(f"{ASSOCIATION}:c1", "breached")], 30, "the breach")
    audit = [orjson.loads(m.value) for m in read_topic(pipeline.stack.bootstrap, RISK_AUDIT.name)]
    reports = [a for a in audit if a["action"] == "association.report"]
    assert [(a["actor"], a["target"]) for a in reports] == [
        ("food-assoc-token", f"subject:{MEMBER}")
    ] * 2


# ---------------------------------------------------------------- subjects


@pytest.fixture(scope="module")
def own_token(pipeline: Pipeline) -> str:
    """SELF with a general penalty ten days ago (too recent to repair), and its token."""
    penalty_at = datetime.now(UTC) - timedelta(days=10)
    penalty = record(SELF, "self-p1", "penalty", penalty_at.isoformat(), severity="general")
    send(pipeline, ENFORCEMENT_EVENTS.name, [(SELF, penalty)])
    wait_until(lambda: profile(pipeline, SELF) is not None, 60, "the subject's profile")
    return pipeline.issue_token("self-9104", Role.SUBJECT, subject=SELF)


def test_a_subject_sees_itself_and_nothing_of_another(
    pipeline: Pipeline, own_token: str, association: str
) -> None:
    status, own = call(pipeline, f"/api/subjects/{SELF}", own_token)
    assert status == 200 and own["subject"] == SELF
    assert [r["event_id"] for r in own["supervision"]["published_records"]] == ["self-p1"]
    assert call(pipeline, f"/api/subjects/{SELF}/measures", own_token)[0] == 200
    for path in (f"/api/subjects/{MEMBER}", f"/api/subjects/{MEMBER}/measures"):
        assert call(pipeline, path, own_token)[0] == 404
    assert call(pipeline, f"/api/subjects/{MEMBER}/applications", own_token)[0] == 404
    body = {"concerns_event_id": "serious-0"}
    assert send_json(pipeline, f"/api/subjects/{MEMBER}/repairs", own_token, body)[0] == 404
    assert call(pipeline, "/api/alerts", own_token)[0] == 403
    assert call(pipeline, "/api/association/feed", own_token)[0] == 403
    # ... and an association files nothing for a subject.
    assert send_json(pipeline, f"/api/subjects/{MEMBER}/repairs", association, body)[0] == 403


def test_a_subject_files_a_repair_and_gets_the_reasons_and_the_earliest_date(
    pipeline: Pipeline, own_token: str
) -> None:
    path = f"/api/subjects/{SELF}/repairs"
    status, accepted = send_json(pipeline, path, own_token, {"concerns_event_id": "self-p1"})
    assert status == 202 and accepted["decision"] == f"/api/subjects/{SELF}/applications"

    def decisions() -> list[dict[str, Any]]:
        return call(pipeline, f"/api/subjects/{SELF}/applications", own_token)[1]["decisions"]

    wait_until(lambda: len(decisions()) == 1, 30, "the repair decision")
    decision = decisions()[0]
    assert decision["kind"] == "repair_rejected"
    assert [r["code"] for r in decision["reasons"]] == ["minimum_period", "no_repair_commitment"]
    assert all(r["detail"] and r["detail_zh"] for r in decision["reasons"])
    published = (profile(pipeline, SELF) or {})["supervision"]["published_records"][0]
    earliest = datetime.fromisoformat(decision["earliest_eligible_at"])
    assert earliest == datetime.fromisoformat(published["repairable_from"])
    # A general penalty's minimum period: from the start of the 90th day after its day.
    penalty_day = datetime.fromisoformat(published["at"]).astimezone(CST).date()
    day = penalty_day + timedelta(days=90)
    assert earliest == datetime(day.year, day.month, day.day, tzinfo=CST)
    assert str(earliest.astimezone(CST).date()) in decision["reasons"][0]["detail"]


def test_a_voluntary_registration_counts_only_once_verified(
    pipeline: Pipeline, own_token: str
) -> None:
    def registrations_counted() -> int:
        found = profile(pipeline, SELF) or {}
        return sum(
            1 for c in found.get("contributions", []) if c["fact"] == "voluntary_registration"
        )

    body = {"category": "contract_performance", "description": "三年合同履约记录"}
    status, filed = send_json(pipeline, f"/api/subjects/{SELF}/registrations", own_token, body)
    assert status == 201 and filed["status"] == "pending"
    number = filed["registration_id"]
    status, pending = call(pipeline, "/api/registrations", pipeline.token)
    assert [r["registration_id"] for r in pending["registrations"]] == [number]
    time.sleep(2)  # a pending registration would have been scored by now
    assert registrations_counted() == 0
    decide = f"/api/registrations/{number}/decision"
    assert send_json(pipeline, decide, own_token, {"decision": "verified"})[0] == 403
    status, decided = send_json(pipeline, decide, pipeline.token, {"decision": "verified"})
    assert status == 200 and decided["status"] == "verified"
    assert (
        send_json(pipeline, decide, pipeline.token, {"decision": "rejected", "note": "x"})[0] == 409
    )
    wait_until(lambda: registrations_counted() == 1, 30, "the verified registration scored")
    applications = call(pipeline, f"/api/subjects/{SELF}/applications", own_token)[1]
    assert [(r["registration_id"], r["status"]) for r in applications["registrations"]] == [
        (number, "verified")
    ]
    assert call(pipeline, "/api/registrations", pipeline.token)[1]["registrations"] == []


def test_a_subject_disputes_its_record_and_sees_the_objection_open(
    pipeline: Pipeline, own_token: str
) -> None:
    path = f"/api/subjects/{SELF}/objections"
    body = {"concerns_event_id": "self-p1", "description": "处罚对象认定有误"}
    status, accepted = send_json(pipeline, path, own_token, body)
    assert status == 202 and accepted["kind"] == "objection_filed"
    assert send_json(pipeline, path, own_token, {"description": "no record named"})[0] == 400

    def objections() -> list[tuple[str, str]]:
        answer = call(pipeline, f"/api/subjects/{SELF}/applications", own_token)[1]
        return [(o["record"], o["status"]) for o in answer["objections"]]

    wait_until(lambda: objections() == [("self-p1", "open")], 30, "the objection on file")
    published = (profile(pipeline, SELF) or {})["supervision"]["published_records"]
    assert [(r["event_id"], r["disputed"]) for r in published] == [("self-p1", True)]
    audit = [orjson.loads(m.value) for m in read_topic(pipeline.stack.bootstrap, RISK_AUDIT.name)]
    filed = [a["details"] for a in audit if a["action"] == "self_service.file"]
    assert [(d["kind"], d["concerns"]) for d in filed] == [
        ("repair_applied", "self-p1"),
        ("objection_filed", "self-p1"),
    ]
