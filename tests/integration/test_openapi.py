"""Property-based API testing: schemathesis generates requests from /openapi.json.

Against a live worker with some alerts in it, every operation must answer
without a server error, with a status code, content type and body the
document declares. The two server-sent-event endpoints stay open by design,
so they are exercised by the SSE tests instead (test_alert_lifecycle.py,
test_web_api.py).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import Pipeline
from tests.integration.test_persons_api import seed_person
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get_json, send
from tests.public import store_seed
from tests.public.store_seed import seed

pytestmark = pytest.mark.integration

#: Generated requests per operation and mode; CREDITWATCH_FUZZ_EXAMPLES for a longer run.
EXAMPLES = int(os.environ.get("CREDITWATCH_FUZZ_EXAMPLES", "40"))
NEGATIVE = schemathesis.GenerationMode.NEGATIVE
STREAMING = {"/api/events", "/api/inbox/{inspector}/events"}
OPERATIONS = [
    ("GET", "/health"),
    ("GET", "/api/alerts"),
    ("GET", "/api/alerts/{alert_id}"),
    ("POST", "/api/alerts/{alert_id}/ack"),
    ("POST", "/api/alerts/{alert_id}/resolve"),
    ("GET", "/api/subjects/{subject}"),
    ("GET", "/api/subjects/{subject}/measures"),
    ("GET", "/api/tiers"),
    ("GET", "/api/silences"),
    ("POST", "/api/silences"),
    ("DELETE", "/api/silences/{silence_id}"),
    ("GET", "/api/subjects/{subject}/records"),
    ("POST", "/api/subjects/{subject}/reports"),
    ("GET", "/api/reports/{number}"),
    ("GET", "/api/persons/{person}"),
    ("GET", "/api/persons/{person}/measures"),
    # Issue 18: self-service and associations.
    ("POST", "/api/subjects/{subject}/objections"),
    ("POST", "/api/subjects/{subject}/repairs"),
    ("GET", "/api/subjects/{subject}/applications"),
    ("POST", "/api/subjects/{subject}/registrations"),
    ("GET", "/api/registrations"),
    ("POST", "/api/registrations/{registration_id}/decision"),
    ("GET", "/api/association/members"),
    ("GET", "/api/association/feed"),
    ("POST", "/api/association/records"),
    ("GET", "/api/cases"),
    ("GET", "/api/cases/{case_id}"),
    ("POST", "/api/cases/{case_id}/assign"),
    ("POST", "/api/cases/{case_id}/status"),
    ("POST", "/api/cases/{case_id}/notes"),
    ("POST", "/api/cases/{case_id}/alerts/{alert_id}/verdict"),
    ("POST", "/api/cases/{case_id}/attachments"),
    ("GET", "/api/cases/{case_id}/attachments/{attachment_id}"),
    ("GET", "/api/case-precision"),
    ("GET", "/api/policy/versions"),
    ("POST", "/api/policy/versions"),
    ("GET", "/api/policy/versions/{proposal_id}"),
    ("POST", "/api/policy/versions/{proposal_id}/approve"),
]


@pytest.fixture(scope="module")
def operations(pipeline: Pipeline) -> dict[tuple[str, str], Any]:
    subjects = [make_uscc(7600 + i) for i in range(3)]
    send(
        pipeline, *(enforcement(s, f"oa-{s}", "penalty", 10, severity="serious") for s in subjects)
    )
    wait_until(
        lambda: get_json(pipeline, "/api/alerts")[1]["total"] >= 3, 40, "alerts to test with"
    )
    url = f"http://127.0.0.1:{pipeline.worker.web_port}/openapi.json"
    found = {}
    for result in schemathesis.openapi.from_url(url).get_all_operations():
        operation = result.ok()
        found[(operation.method.upper(), operation.path)] = operation
    return found


def test_the_document_lists_every_operation(operations: dict[tuple[str, str], Any]):
    assert set(operations) == set(OPERATIONS) | {("GET", path) for path in STREAMING}


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        (method, path, mode)
        for method, path in OPERATIONS
        for mode in schemathesis.GenerationMode
        if (method, path, mode) != ("GET", "/health", NEGATIVE)  # nothing there to break
    ],
)
def test_every_operation_answers_as_documented(
    operations: dict[tuple[str, str], Any],
    pipeline: Pipeline,
    method: str,
    path: str,
    mode: schemathesis.GenerationMode,
):
    """Requests the document allows (positive) and requests it forbids (negative,
    e.g. no token, wrong types, unknown fields): never a server error, and every
    answer in a status, content type and shape the document declares."""
    base_url = f"http://127.0.0.1:{pipeline.worker.web_port}"
    statuses: Counter[int] = Counter()

    @given(case=operations[(method, path)].as_strategy(mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=pipeline.auth)
        statuses[response.status_code] += 1
        # A schema cannot say that a USCC's check digit must be right, so a
        # schema-valid request may still be refused (400); and the server ignores
        # query parameters it does not know, as HTTP servers do. Neither is a failure.
        case.validate_response(
            response,
            headers=pipeline.auth,
            excluded_checks=[
                schemathesis.checks.positive_data_acceptance,
                schemathesis.checks.negative_data_rejection,
            ],
        )

    answers_as_documented()
    print(f"\n{method} {path} ({mode}): {sum(statuses.values())} requests, {dict(statuses)}")
    assert not [status for status in statuses if status >= 500]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/subjects/{subject}", {}),
        ("/api/subjects/{subject}/measures", {}),
        ("/api/subjects/{subject}/measures", {"action": "bidding"}),
    ],
)
def test_a_listed_subject_s_answers_are_as_documented(
    operations: dict[tuple[str, str], Any], pipeline: Pipeline, path: str, query: dict[str, str]
):
    """Generated requests rarely name a subject that exists; this one is on the
    joint-punishment list (a serious penalty in food and drugs), so the case file
    and the measures are in the answers checked."""
    subject = make_uscc(7600)

    def listed() -> bool:
        status, profile = get_json(pipeline, f"/api/subjects/{subject}")
        return status == 200 and bool(profile["supervision"] and profile["supervision"]["lists"])

    wait_until(listed, 30, "the listing in the profile")
    base_url = f"http://127.0.0.1:{pipeline.worker.web_port}"
    case = operations[("GET", path)].Case(path_parameters={"subject": subject}, query=query)
    response = case.call(base_url=base_url, headers=pipeline.auth)
    assert response.status_code == 200
    answer = response.json()
    # Not an empty answer, which would match the document trivially.
    assert answer["supervision"]["lists"] if "supervision" in answer else answer["measures"]
    case.validate_response(response, headers=pipeline.auth)


def test_a_subject_s_records_and_reports_are_as_documented(
    operations: dict[tuple[str, str], Any], pipeline: Pipeline
):
    """Records seeded into the worker's store as the sink writes them: the search's
    answer, an issued report (a PDF) and the report read back, JSON and HTML."""
    assert pipeline.database_url is not None
    subject = make_uscc(7650)
    seed(
        pipeline.database_url,
        [
            store_seed.enforcement(subject=subject, event_id="oa-rec-1", legal_rep_id="LR1"),
            store_seed.publication(subject, "oa-rec-1", datetime.now(UTC) - timedelta(days=1)),
            store_seed.enforcement(subject=subject, event_id="oa-rec-2", kind="honour"),
        ],
    )
    base_url = f"http://127.0.0.1:{pipeline.worker.web_port}"

    def call(method: str, path: str, **parts: Any) -> Any:
        case = operations[(method, path)].Case(**parts)
        response = case.call(base_url=base_url, headers=pipeline.auth)
        case.validate_response(response, headers=pipeline.auth)
        return response

    search = call("GET", "/api/subjects/{subject}/records", path_parameters={"subject": subject})
    assert [r["event_id"] for r in search.json()["records"]] == ["oa-rec-2", "oa-rec-1"]
    issued = call(
        "POST",
        "/api/subjects/{subject}/reports",
        path_parameters={"subject": subject},
        body={},
        media_type="application/json",
    )
    assert issued.status_code == 201 and issued.content.startswith(b"%PDF")
    (number,) = issued.headers["x-report-number"]  # schemathesis: lower-case names, lists
    for output in ("json", "html"):
        read = call(
            "GET",
            "/api/reports/{number}",
            path_parameters={"number": number},
            query={"format": output},
        )
        assert read.status_code == 200


def test_a_person_s_record_and_measures_are_as_documented(
    operations: dict[tuple[str, str], Any], pipeline: Pipeline
):
    """A responsible person's record, seeded as the sink stores risk.person-records, and
    the measures on them: both answers as the document declares them."""
    pseudonym = seed_person(pipeline)
    base_url = f"http://127.0.0.1:{pipeline.worker.web_port}"
    for path, query in (
        ("/api/persons/{person}", {}),
        ("/api/persons/{person}/measures", {"action": "market_entry"}),
    ):
        case = operations[("GET", path)].Case(path_parameters={"person": pseudonym}, query=query)
        response = case.call(base_url=base_url, headers=pipeline.auth)
        assert response.status_code == 200
        answer = response.json()
        assert answer["entries"] if "entries" in answer else answer["measures"]
        case.validate_response(response, headers=pipeline.auth)
