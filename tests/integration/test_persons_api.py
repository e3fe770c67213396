"""Seed 十/十一 on the worker's API: a person's record and measures, by role, audited, masked.

The person's record is made by the real pure steps (a legal representative,
then a court ruling that lists the subject and bans it) and stored as the sink
stores ``risk.person-records``; the worker answers from the record store.
"""

from __future__ import annotations

import urllib.parse
from datetime import timedelta
from typing import Any

import orjson
import pytest

from creditwatch.admin_io import read_topic
from detectors.cross_sector import person_pseudonym
from detectors.policy import load_policy
from pipeline.context import StepContext
from tests.factories import T0, enforcement, make_uscc, role
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import wait_until
from tests.integration.test_web_api import get_json
from tests.pipeline.test_persons import City
from tests.public import store_seed
from topics.access import Role
from topics.catalogue import RISK_AUDIT

pytestmark = pytest.mark.integration

SUBJECT = make_uscc(8801)
PERSON_ID = "P-LIU-000042"
KEY = b"the persons API test's own key, 32+ chars"


@pytest.fixture(scope="module")
def person(pipeline: Pipeline) -> str:
    return seed_person(pipeline)


def seed_person(pipeline: Pipeline) -> str:
    """A legal representative whose food company refused a court ruling, in the worker's
    record store; their pseudonym."""
    city = City(StepContext(load_policy(), KEY))  # the pure steps, with this module's key
    city.feed(
        role(subject=SUBJECT, person_id=PERSON_ID, person_name="刘洋", region="130104"),
        enforcement(
            subject=SUBJECT,
            kind="court_dishonest_debtor",
            department="court",
            region="130104",
            occurred_at=T0 + timedelta(days=1),
        ),
    )
    pseudonym = person_pseudonym(PERSON_ID, KEY)
    assert pipeline.database_url is not None
    store_seed.seed(pipeline.database_url, [store_seed.person_record(city.published[pseudonym])])
    return pseudonym


def get(pipeline: Pipeline, path: str, token: str, **query: str) -> tuple[int, Any]:
    """(status, the JSON answer) of a GET with ``token``."""
    if query:
        path += "?" + urllib.parse.urlencode(query)
    return get_json(pipeline, path, {"Authorization": f"Bearer {token}"})


def audited(pipeline: Pipeline, actor: str) -> list[dict[str, Any]]:
    found = [orjson.loads(m.value) for m in read_topic(pipeline.stack.bootstrap, RISK_AUDIT.name)]
    return [r for r in found if r["actor"] == actor and r["action"] == "persons.read"]


def test_the_centre_reads_the_whole_record_with_the_person_s_id_and_name(
    pipeline: Pipeline, person: str
) -> None:
    status, record = get(pipeline, f"/api/persons/{person}", pipeline.token)
    assert status == 200
    assert (record["person_id"], record["person_name"]) == (PERSON_ID, "刘洋")
    assert {(e["subject"], e["list"]) for e in record["entries"]} == {
        (SUBJECT, "joint_punishment"),
        (SUBJECT, "market_ban"),
    }
    wait_until(lambda: audited(pipeline, "test-centre"), 20, "the read on the audit trail")
    (read,) = audited(pipeline, "test-centre")
    assert read["target"] == f"person:{person}" and read["details"]["read"] == "record"


def test_a_department_asks_whether_a_person_may_be_appointed(
    pipeline: Pipeline, person: str
) -> None:
    token = pipeline.issue_token("personnel-bureau", Role.DEPARTMENT)
    status, measures = get(
        pipeline, f"/api/persons/{person}/measures", token, action="officer_appointment"
    )
    assert status == 200
    assert measures["restricted"] is True
    assert {m["code"] for m in measures["measures"]} == {"no_officer_posts", "market_ban"}
    assert all(m["roles"] == ["legal_representative"] for m in measures["measures"])
    # Measures only: the record itself is not a department's to read.
    assert get(pipeline, f"/api/persons/{person}", token)[0] == 403
    wait_until(lambda: audited(pipeline, "personnel-bureau"), 20, "the department's read audited")


def test_an_inspector_reads_people_of_their_county_only_and_masked(
    pipeline: Pipeline, person: str
) -> None:
    near = pipeline.issue_token("inspector-qiaoxi", Role.INSPECTOR, counties=["130104"])
    far = pipeline.issue_token("inspector-changan", Role.INSPECTOR, counties=["130102"])
    status, record = get(pipeline, f"/api/persons/{person}", near)
    assert status == 200
    assert (record["person_id"], record["person_name"]) == ("P*****2", "*****")
    assert get(pipeline, f"/api/persons/{person}", far)[0] == 404
    assert get(pipeline, f"/api/persons/{person}/measures", far)[0] == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/persons/not-a-pseudonym", 400),
        ("/api/persons/" + "0" * 32, 404),
        ("/api/persons/" + "0" * 32 + "/measures", 404),
    ],
)
def test_a_malformed_or_unknown_person_is_refused(
    pipeline: Pipeline, path: str, status: int
) -> None:
    assert get(pipeline, path, pipeline.token)[0] == status


def test_an_unknown_action_is_refused(pipeline: Pipeline, person: str) -> None:
    status, answer = get(pipeline, f"/api/persons/{person}/measures", pipeline.token, action="fly")
    assert status == 400 and "action must be one of" in answer["error"]
