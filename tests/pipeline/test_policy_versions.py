"""Maker-checker for policy versions (issue 17, item 4): the pure steps."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from detectors.policy import DEFAULT_POLICY_PATH, PolicyError, default_policy, policy_from_text
from pipeline.policy_versions import (
    BadProposal,
    ProcedureRefused,
    SelfApproval,
    approve,
    propose,
    to_put_in_force,
)
from topics.policy_versions import PolicyVersion, PolicyVersionStatus

BUNDLED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
IN_FORCE = default_policy()
AT = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


def stricter(version: str = "test-stricter") -> str:
    text = BUNDLED.replace("c_from = 50.0", "c_from = 35.0").replace(
        f'version = "{IN_FORCE.version}"', f'version = "{version}"'
    )
    assert text != BUNDLED
    return text


def proposed(by: str = "li", **extra: object) -> PolicyVersion:
    return propose(stricter(), IN_FORCE, BUNDLED, by, AT, "C from 35", **extra)  # type: ignore[arg-type]


def test_a_proposal_carries_its_text_digest_and_diff_from_the_policy_in_force() -> None:
    record = proposed()
    assert record.status is PolicyVersionStatus.PROPOSED
    assert (record.version, record.proposed_by, record.note) == ("test-stricter", "li", "C from 35")
    assert record.sha256 == policy_from_text(stricter()).digest != IN_FORCE.digest
    assert (record.based_on_version, record.based_on_sha256) == (IN_FORCE.version, IN_FORCE.digest)
    changed = [line for line in record.diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert "-c_from = 50.0" in changed and "+c_from = 35.0" in changed
    assert len(changed) == 4  # the threshold and the version, nothing else
    assert record.approved_by is None and record.backtest is None
    # A record survives the topic: what the API stores is what the worker reads.
    read = PolicyVersion.loads(record.dumps())
    assert (read.diff, read.status, read.proposed_at) == (record.diff, record.status, AT)


def test_a_text_that_would_not_load_or_is_in_force_already_is_refused_when_proposed() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        propose("version = ", IN_FORCE, BUNDLED, "li", AT)
    with pytest.raises(PolicyError):
        propose(BUNDLED.replace("c_from = 50.0", "c_from = -5.0"), IN_FORCE, BUNDLED, "li", AT)
    with pytest.raises(ProcedureRefused, match="in force already"):
        propose(BUNDLED, IN_FORCE, BUNDLED, "li", AT)


def test_the_proposer_cannot_approve_a_second_official_can_once() -> None:
    record = proposed()
    with pytest.raises(SelfApproval) as refused:
        approve(record, IN_FORCE, "li", AT + timedelta(minutes=5))
    assert refused.value.status == 403
    approved = approve(record, IN_FORCE, "zhao", AT + timedelta(minutes=5))
    assert approved.status is PolicyVersionStatus.APPROVED
    assert (approved.approved_by, approved.approved_at) == ("zhao", AT + timedelta(minutes=5))
    assert (approved.proposal_id, approved.text, approved.proposed_by) == (
        record.proposal_id,
        record.text,
        "li",
    )
    with pytest.raises(ProcedureRefused, match="approved") as again:
        approve(approved, IN_FORCE, "zhang", AT + timedelta(minutes=6))
    assert again.value.status == 409


def test_a_proposal_made_against_a_policy_no_longer_in_force_must_be_proposed_again() -> None:
    record = proposed()
    since = dataclasses.replace(IN_FORCE, version="other", digest="f" * 64)
    with pytest.raises(ProcedureRefused, match="propose it again"):
        approve(record, since, "zhao", AT)


def test_an_approved_version_is_put_in_force_once_a_proposal_never() -> None:
    record = proposed()
    assert to_put_in_force(record, IN_FORCE) is None
    approved = PolicyVersion.loads(approve(record, IN_FORCE, "zhao", AT).dumps())
    policy = to_put_in_force(approved, IN_FORCE)
    assert policy is not None and policy.tiers.c_from == 35.0 and policy.version == "test-stricter"
    assert to_put_in_force(approved, policy) is None  # read again after a restart


def test_an_attached_backtest_must_be_of_the_text_proposed_and_loses_its_subjects() -> None:
    digest = policy_from_text(stricter()).digest
    report = {
        "policies": {"current": {"sha256": IN_FORCE.digest}, "new": {"sha256": digest}},
        "worded": {"tables": []},
        "moves": [{"subject": "S1"}] * 3,
    }
    record = proposed(backtest=report)
    assert record.backtest is not None and "moves" not in record.backtest
    assert record.backtest["worded"] == {"tables": []}
    other = {**report, "policies": {"new": {"sha256": "0" * 64}}}
    with pytest.raises(BadProposal, match="another file"):
        proposed(backtest=other)
    with pytest.raises(BadProposal, match="policy backtest --json"):
        proposed(backtest=["not", "a", "report"])
