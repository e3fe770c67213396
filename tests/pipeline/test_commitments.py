"""Seed 一: a broken commitment has its kind's score effect and its kind's consequences."""

from __future__ import annotations

import copy
import tomllib
from datetime import timedelta
from typing import Any

import pytest

from detectors.commitments import breach_signal
from detectors.policy import DEFAULT_POLICY_PATH, parse_policy
from detectors.policy_values import PolicyError
from tests.factories import T0, enforcement, new_id
from tests.pipeline.test_supervision import POLICY, Subject
from topics.vocabulary import CommitmentKind

KINDS = [kind.value for kind in CommitmentKind]


def promise(subject: Subject, kind: str, days: int = 0, due: int = 60, **fields: Any) -> str:
    made = new_id("promise")
    subject.record(
        event_id=made,
        kind="commitment_made",
        commitment_kind=kind,
        department=fields.pop("department", "government_services"),
        occurred_at=T0 + timedelta(days=days),
        deadline=T0 + timedelta(days=days + due),
        **fields,
    )
    return made


def breach(subject: Subject, kind: str, commitment: str, days: int) -> Any:
    return subject.record(
        kind="commitment_breached",
        commitment_kind=kind,
        concerns_event_id=commitment,
        department="government_services",
        occurred_at=T0 + timedelta(days=days),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_s_breach_scores_its_own_points(kind: str) -> None:
    subject = Subject()
    made = promise(subject, kind)
    assert subject.state is not None
    before = subject.state.score
    breach(subject, kind, made, days=10)
    assert set(subject.state.signals) == {breach_signal(kind)}
    assert subject.state.score - before == pytest.approx(POLICY.signals[breach_signal(kind)].points)


def test_the_kinds_weigh_differently() -> None:
    points = {kind: POLICY.signals[breach_signal(kind)].points for kind in KINDS}
    assert (
        points["approval_substitution"] > points["industry_self_discipline"] > points["voluntary"]
    )


def test_an_approval_substitution_breach_brings_a_revocation_and_strict_licensing() -> None:
    subject = Subject()
    made = promise(subject, "approval_substitution")
    out = breach(subject, "approval_substitution", made, days=10)
    (notice,) = out.notices
    assert (notice.kind, notice.department, notice.concerns_event_id) == (
        "approval_revocation",
        "government_services",
        made,
    )
    assert [r.code for r in notice.reasons] == ["revoke_approval"]
    # The department reads why in Chinese, a foreign system in English: one table of words.
    day = (T0 + timedelta(days=10)).date().isoformat()
    assert [(r.detail_zh, r.detail) for r in notice.reasons] == [
        (
            f"审批替代型信用承诺 {made} 于 {day} 被违背："
            "撤销依此承诺作出的审批，不再适用告知承诺审批",
            f"approval-substitution commitment {made} broken on {day}: revoke the approval "
            "granted on it; no approvals on commitment now",
        )
    ]
    (listing,) = out.list_changes
    assert (listing.list, listing.action) == ("approval_commitment_breach", "entered")
    assert [(m.code, m.actions) for m in listing.measures] == [("strict_licensing", ["licensing"])]
    assert listing.expires_at == listing.entered_at + timedelta(days=365)


def test_a_self_discipline_breach_is_told_to_the_industry_association() -> None:
    subject = Subject()
    made = promise(subject, "industry_self_discipline", department="industry_association")
    out = breach(subject, "industry_self_discipline", made, days=10)
    (notice,) = out.notices
    assert (notice.kind, notice.department) == ("self_discipline_breached", "industry_association")
    assert out.list_changes == []


def test_a_voluntary_breach_has_no_consequence_but_its_record() -> None:
    subject = Subject()
    made = promise(subject, "voluntary")
    out = breach(subject, "voluntary", made, days=10)
    assert out.notices == [] and out.list_changes == []
    (published,) = out.publications
    assert (published.signal, published.status) == (breach_signal("voluntary"), "published")


def test_a_breach_found_by_the_deadline_has_the_same_consequences() -> None:
    subject = Subject()
    promise(subject, "industry_self_discipline", due=30)
    out = subject.wake(days=45)
    assert [n.kind for n in out.notices] == ["commitment_breached", "self_discipline_breached"]


def repaired_subject() -> tuple[Subject, str, str]:
    """A general penalty repaired on a credit-repair commitment still open."""
    subject = Subject()
    penalty = enforcement(severity="general")
    subject.record(
        event_id=penalty.event_id, severity="general", occurred_at=T0 - timedelta(days=200)
    )
    for offset in (190, 180):  # the second and third general penalty: key attention
        subject.record(severity="general", occurred_at=T0 - timedelta(days=offset))
    assert subject.case.listings["key_attention"].active
    made = promise(subject, "credit_repair", days=-60, due=90)
    repaired = subject.record(
        kind="repair_applied",
        department="government_services",
        occurred_at=T0,
        concerns_event_id=penalty.event_id,
    )
    assert [n.kind for n in repaired.notices] == ["repair_approved"]
    assert [(c.list, c.action) for c in repaired.list_changes] == [("key_attention", "exited")]
    return subject, penalty.event_id, made


def test_a_credit_repair_breach_voids_the_repair_it_supported() -> None:
    subject, record, made = repaired_subject()
    assert subject.state is not None
    tier_after_repair = subject.state.tier
    assert "repair_completed" in subject.state.signals
    out = breach(subject, "credit_repair", made, days=10)
    voided = [n for n in out.notices if n.kind == "repair_voided"]
    assert [(n.department, [r.code for r in n.reasons]) for n in voided] == [
        ("government_services", ["commitment_breached"])
    ]
    # The record is published again, counts again, and the listing it ended is back.
    resumed = [p for p in out.publications if p.event_id == record]
    assert [(p.status, p.reason) for p in resumed] == [("published", "repair_voided")]
    assert [(c.list, c.action, c.version) for c in out.list_changes] == [
        ("key_attention", "entered", 3)
    ]
    assert "repair_completed" not in subject.state.signals  # the repair's credit is taken back
    assert out.tier_change is not None and out.tier_change.previous_tier == tier_after_repair
    (decision,) = subject.case.repairs
    assert decision.voided and decision.commitment_id == made


def test_breaking_another_credit_repair_commitment_voids_nothing() -> None:
    subject, _, _ = repaired_subject()
    unrelated = promise(subject, "credit_repair", days=5)
    out = breach(subject, "credit_repair", unrelated, days=10)
    assert [n.kind for n in out.notices] == []
    assert out.list_changes == []
    assert not subject.case.repairs[0].voided


def test_a_breach_of_a_commitment_the_file_never_saw_still_has_its_consequence() -> None:
    subject = Subject()
    out = breach(subject, "approval_substitution", "made-before-the-file", days=0)
    (notice,) = out.notices
    assert (notice.kind, notice.concerns_event_id) == (
        "approval_revocation",
        "made-before-the-file",
    )


# --- the policy ---------------------------------------------------------------


def document() -> dict[str, Any]:
    return copy.deepcopy(tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8")))


def test_every_kind_needs_its_section() -> None:
    doc = document()
    del doc["commitments"]["voluntary"]
    with pytest.raises(PolicyError, match="commitments.voluntary"):
        parse_policy(doc)


def test_a_consequence_must_be_one_the_code_knows() -> None:
    doc = document()
    doc["commitments"]["voluntary"]["consequences"] = ["fine_the_director"]
    with pytest.raises(PolicyError, match="consequences"):
        parse_policy(doc)


def test_each_kind_s_breach_signal_needs_points_and_a_publication_class() -> None:
    doc = document()
    del doc["publication"]["class_of"][breach_signal("credit_repair")]
    with pytest.raises(PolicyError, match="commitment_breached_credit_repair"):
        parse_policy(doc)
