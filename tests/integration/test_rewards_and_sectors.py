"""Issue 18 items 4 and 5 on the real embedded broker and Redis, through a worker process.

A subject a year in tier A with a fresh honour enters the red list (诚信红名单,
seed 九) and an approval workflow is told its incentives; a penalty ends the
listing, on ``risk.list-changes`` like any list. A provincial sector evaluation
(seed 六) moves a subject's score and tier, which departments receive on
``risk.tier-changes`` with the evaluation among its reasons.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from creditwatch.admin_io import read_topic
from tests.integration.conftest import Pipeline, running_pipeline
from tests.integration.test_pipeline import NOW, enforcement, make_uscc, wait_until
from tests.integration.test_policy_regrade import send
from tests.integration.test_web_api import get_json

pytestmark = pytest.mark.integration

HONOURED, EVALUATED = make_uscc(9701), make_uscc(9702)
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the policy's calendar: days are local days


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with running_pipeline() as running:
        yield running


def values(pipeline: Pipeline, topic: str, key: str) -> list[dict[str, Any]]:
    return [
        orjson.loads(m.value)
        for m in read_topic(pipeline.stack.bootstrap, topic)
        if m.key == key.encode() and m.value is not None
    ]


def test_a_red_list_entry_its_incentives_and_its_exit(pipeline: Pipeline) -> None:
    days_ago = 400 * 24 * 60
    send(
        pipeline,
        ("enforcement.events", enforcement(HONOURED, "rl-honour-1", "honour", days_ago)),
        ("enforcement.events", enforcement(HONOURED, "rl-honour-2", "honour", 30)),
    )
    key = f"{HONOURED}|red_list"
    wait_until(lambda: len(values(pipeline, "risk.list-changes", key)) >= 1, 60, "the entry")
    (entered,) = values(pipeline, "risk.list-changes", key)
    assert (entered["action"], entered["version"], entered["exit_reason"]) == ("entered", 1, None)
    assert [b["fact"] for b in entered["basis"]] == [
        "red_list_tier", "honour", "honour", "red_list_clean"]  # fmt: skip
    assert [m["code"] for m in entered["measures"]] == [
        "fast_track", "accept_with_gaps", "fewer_spot_checks"]  # fmt: skip

    measures = f"/api/subjects/{HONOURED}/measures?action=licensing"

    def eased() -> bool:
        status, answer = get_json(pipeline, measures)
        return status == 200 and bool(answer["incentives"])

    wait_until(eased, 30, "the profile with the red list")
    _, answer = get_json(pipeline, measures)
    assert answer["restricted"] is False and answer["measures"] == []
    assert [(m["list"], m["code"]) for m in answer["incentives"]] == [
        ("red_list", "fast_track"), ("red_list", "accept_with_gaps")]  # fmt: skip

    send(
        pipeline,
        (
            "enforcement.events",
            enforcement(HONOURED, "rl-penalty", "penalty", 10, severity="minor"),
        ),
    )
    wait_until(lambda: len(values(pipeline, "risk.list-changes", key)) >= 2, 60, "the exit")
    left = values(pipeline, "risk.list-changes", key)[-1]
    assert (left["action"], left["version"], left["exit_reason"]) == (
        "exited", 2, "no_longer_eligible")  # fmt: skip
    assert [(b["fact"], b["detail"]) for b in left["basis"]] == [
        ("penalty_minor",
         f"event rl-penalty on {(NOW - timedelta(minutes=10)).astimezone(SHANGHAI).date()} "
         "by market regulation")]  # fmt: skip
    wait_until(lambda: not get_json(pipeline, measures)[1]["incentives"], 30, "no incentives")


def test_a_provincial_evaluation_moves_the_score_and_the_tier(pipeline: Pipeline) -> None:
    evaluation = {
        "event_id": "ev-prov-1",
        "subject": EVALUATED,
        "sector": "production_safety",
        "level": "provincial",
        "evaluator": "河北省应急管理厅",
        "grade": "D",
        "evaluated_at": (NOW - timedelta(minutes=5)).isoformat(),
        "region": "130102",
    }
    broken = {**evaluation, "event_id": "ev-prov-bad", "sector": "other"}
    send(pipeline, ("evaluations.sector", broken), ("evaluations.sector", evaluation))

    wait_until(lambda: values(pipeline, "risk.tier-changes", EVALUATED), 60, "the tier change")
    (change,) = values(pipeline, "risk.tier-changes", EVALUATED)
    # 30 + 24 × 1.3 (production safety's weight) = 61.2: C, which starts at 45 there.
    assert (change["tier"], change["score"], change["sector"]) == ("C", 61.2, "production_safety")
    assert change["reasons"][0]["fact"] == "sector_evaluation_d"
    status, profile = get_json(pipeline, f"/api/subjects/{EVALUATED}")
    assert status == 200 and profile["score"] == 61.2

    def dead_lettered() -> list[dict[str, Any]]:
        letters = [
            orjson.loads(m.value)
            for m in read_topic(pipeline.stack.bootstrap, "risk.dlq")
            if m.value is not None
        ]
        return [d for d in letters if d["source_topic"] == "evaluations.sector"]

    wait_until(dead_lettered, 30, "the bad evaluation in the DLQ")
    (letter,) = dead_lettered()
    assert b"ev-prov-bad" in base64.b64decode(letter["value_b64"])
    assert (letter["source_topic"], letter["reason"], letter["field"]) == (
        "evaluations.sector", "bad_enum", "sector")  # fmt: skip
