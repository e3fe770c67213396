"""Issue 17, item 4: a policy version proposed by one official and approved by a second
reaches the running worker without a restart, and re-grades.

The worker runs the bundled policy. Official "li" proposes the bundled file
with C starting at 35 instead of 50; li's own approval is refused (403); "zhao"
approves it. The same worker process (its pid unchanged) then moves a subject
at 40 points from B to C by a tier change naming the policy change, shows the
new version on the subject's profile and on ``/api/policy/versions``, and the
audit trail holds the proposal, the approval and the worker putting it in force.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from creditwatch.cli import main
from detectors.policy import DEFAULT_POLICY_PATH, default_policy
from tests.integration.conftest import Pipeline
from tests.integration.test_access_audit import audit_trail
from tests.integration.test_pipeline import complaint, enforcement, make_uscc, wait_until
from tests.integration.test_policy_regrade import profile, send, tier_changes
from tests.integration.test_web_api import get_json, post
from topics.access import Role

pytestmark = pytest.mark.integration

DEBTOR, QUIET = make_uscc(9601), make_uscc(9602)


def stricter_text() -> str:
    bundled = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = bundled.replace("c_from = 50.0", "c_from = 35.0").replace(
        f'version = "{default_policy().version}"', 'version = "test-hot"'
    )
    assert text.count("test-hot") == 1 and "c_from = 35.0" in text
    return text


def propose(pipeline: Pipeline, token: str, text: str, **extra: Any) -> tuple[int, Any]:
    body = json.dumps({"policy": text, **extra}).encode()
    return post(pipeline, "/api/policy/versions", body, "application/json", token)


def approve(pipeline: Pipeline, token: str, proposal_id: str) -> tuple[int, Any]:
    path = f"/api/policy/versions/{proposal_id}/approve"
    return post(pipeline, path, b"", "application/json", token)


def debtor_moves(bootstrap: str) -> list[tuple[int, str, str]]:
    return sorted(
        (c["version"], c["tier"], c["policy_version"])
        for c in tier_changes(bootstrap)
        if c["subject"] == DEBTOR
    )


def test_a_second_officials_approval_puts_a_policy_in_force_without_a_restart(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    client = redis.Redis.from_url(pipeline.stack.redis_url)
    bootstrap = pipeline.stack.bootstrap
    maker = pipeline.issue_token("li", Role.CENTRE)
    checker = pipeline.issue_token("zhao", Role.CENTRE)
    inspector = pipeline.issue_token("wang", Role.INSPECTOR, ["130102"])
    pid = pipeline.worker.pid
    send(
        pipeline,
        ("enforcement.events", enforcement(DEBTOR, "pv-1", "penalty", 30, severity="general")),
        ("complaints.12315", complaint(QUIET, "pv-2")),
    )
    wait_until(lambda: profile(client, DEBTOR) and profile(client, QUIET), 60, "both profiles")
    assert debtor_moves(bootstrap) == [(1, "B", default_policy().version)]

    # Only supervision centres propose; a file that would not load is refused when proposed.
    assert propose(pipeline, inspector, stricter_text())[0] == 403
    status, refused = propose(pipeline, maker, "version = 3")
    assert status == 400 and "policy" in refused["error"]
    assert propose(pipeline, maker, DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))[0] == 409

    status, proposal = propose(pipeline, maker, stricter_text(), note="C from 35 points")
    assert status == 201, proposal
    assert (proposal["status"], proposal["version"], proposal["proposed_by"]) == (
        "proposed",
        "test-hot",
        "li",
    )
    assert "-c_from = 50.0" in proposal["diff"] and "+c_from = 35.0" in proposal["diff"]
    # Proposed is not approved: nothing moves.
    assert debtor_moves(bootstrap) == [(1, "B", default_policy().version)]

    status, refused = approve(pipeline, maker, proposal["proposal_id"])
    assert status == 403 and "second official" in refused["error"]
    # The same from the command line: refused, and it says why.
    api = f"http://127.0.0.1:{pipeline.worker.web_port}"
    command = ["policy", "approve", proposal["proposal_id"], "--api", api, f"--token={maker}"]
    assert main(command) == 1
    assert "a second official approves it" in capsys.readouterr().err
    status, approved = approve(pipeline, checker, proposal["proposal_id"])
    assert status == 202, approved
    assert (approved["status"], approved["approved_by"]) == ("approved", "zhao")
    assert approve(pipeline, checker, proposal["proposal_id"])[0] == 409  # once only

    try:
        wait_until(lambda: len(debtor_moves(bootstrap)) == 2, 60, "the re-grade's tier change")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{pipeline.worker.log_tail()}") from None
    assert debtor_moves(bootstrap) == [(1, "B", default_policy().version), (2, "C", "test-hot")]
    (change,) = [c for c in tier_changes(bootstrap) if (c["subject"], c["version"]) == (DEBTOR, 2)]
    assert change["reasons"][0]["fact"] == "policy_changed"
    assert "更换为策略 test-hot（" in change["reasons"][0]["detail_zh"]
    assert pipeline.worker.pid == pid, "the worker was not restarted"
    wait_until(
        lambda: (profile(client, QUIET) or {}).get("policy_version") == "test-hot",
        30,
        "the unchanged subject's profile naming the policy in force",
    )
    status, versions = get_json(pipeline, "/api/policy/versions")
    assert status == 200 and versions["in_force"]["version"] == "test-hot"
    status, shown = get_json(pipeline, f"/api/policy/versions/{proposal['proposal_id']}")
    assert status == 200 and shown["in_force"] is True

    # A record after the approval is graded under the new version too.
    later = make_uscc(9603)
    send(pipeline, ("complaints.12315", complaint(later, "pv-3")))
    wait_until(lambda: profile(client, later), 60, "a later subject's profile")
    assert profile(client, later)["policy_version"] == "test-hot"

    def audited() -> list[tuple[str, str, str]]:
        trail = audit_trail(pipeline)
        return [(r.action, r.actor, r.details.get("version")) for r in trail]

    def in_force_audited() -> bool:
        return ("policy.change", "test-hot") in {(a, v) for a, _, v in audited()}

    wait_until(in_force_audited, 30, "the worker's audit of the policy it put in force")
    steps = [(action, actor) for action, actor, version in audited() if version == "test-hot"]
    assert steps[:2] == [("policy.propose", "li"), ("policy.approve", "zhao")]
    assert steps[2][0] == "policy.change" and steps[2][1].startswith("worker:")
    assert "re-grading under the new policy failed" not in pipeline.worker.log_text()
