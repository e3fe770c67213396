"""Property-based API testing: schemathesis generates requests from /openapi.json.

Against a live worker with some alerts in it, every operation must answer
without a server error, with a status code, content type and body the
document declares. The two server-sent-event endpoints stay open by design,
so they are exercised by the SSE tests instead (test_alert_lifecycle.py,
test_web_api.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get_json, send

pytestmark = pytest.mark.integration

STREAMING = {"/api/events", "/api/inbox/{inspector}/events"}
OPERATIONS = [
    ("GET", "/health"),
    ("GET", "/api/alerts"),
    ("GET", "/api/alerts/{alert_id}"),
    ("POST", "/api/alerts/{alert_id}/ack"),
    ("POST", "/api/alerts/{alert_id}/resolve"),
    ("GET", "/api/subjects/{subject}"),
    ("GET", "/api/tiers"),
    ("GET", "/api/silences"),
    ("POST", "/api/silences"),
    ("DELETE", "/api/silences/{silence_id}"),
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


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_answers_as_documented(
    operations: dict[tuple[str, str], Any], pipeline: Pipeline, method: str, path: str
):
    base_url = f"http://127.0.0.1:{pipeline.worker.web_port}"

    @given(case=operations[(method, path)].as_strategy())
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        # A schema cannot say that a USCC's check digit must be right, so a
        # schema-valid request may still be refused (400): that is not a failure.
        case.call_and_validate(
            base_url=base_url,
            headers=pipeline.auth,
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )

    answers_as_documented()
