"""Workflow effects joined to the subject's risk state: the score and tier follow the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detectors.casefile import CaseFile
from detectors.policy import load_policy
from detectors.state import SubjectState
from detectors.workflow import on_filing, on_time
from pipeline.context import StepContext
from pipeline.subject import process
from pipeline.supervision import SupervisionOutputs, apply_effects, filing_of, record_kind
from tests.factories import SUBJECT, T0, enforcement, new_id, pseudonym_key
from topics.vocabulary import Tier

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())


class Subject:
    """One subject's state and case file, fed records the way the ingest agent does."""

    def __init__(self) -> None:
        self.state: SubjectState | None = None
        self.case = CaseFile()

    def record(self, **fields: Any) -> SupervisionOutputs:
        event = enforcement(subject=SUBJECT, **fields)
        self.state, outputs = process(self.state, event, CONTEXT)
        assert not outputs.duplicate
        effects = on_filing(self.case, filing_of(event), POLICY)
        return apply_effects(SUBJECT, self.state, self.case, effects, CONTEXT)

    def wake(self, days: float) -> SupervisionOutputs:
        assert self.state is not None
        now = (T0 + timedelta(days=days)).timestamp()
        effects = on_time(self.case, now, POLICY)
        return apply_effects(SUBJECT, self.state, self.case, effects, CONTEXT)


def test_a_repaired_record_leaves_the_score_and_the_tier_follows() -> None:
    subject = Subject()
    serious = enforcement(severity="serious")
    subject.record(
        event_id=serious.event_id,
        severity="serious",
        sector="food_drug",
        occurred_at=T0 - timedelta(days=380),
    )
    assert subject.state is not None and subject.state.tier == "C"  # the serious floor
    subject.record(
        kind="commitment_made",
        commitment_kind="credit_repair",
        occurred_at=T0 - timedelta(days=10),
        deadline=T0 + timedelta(days=20),
    )
    out = subject.record(
        kind="repair_applied",
        department="government_services",
        occurred_at=T0,
        concerns_event_id=serious.event_id,
    )
    assert [n.kind for n in out.notices] == ["repair_approved"]
    assert "penalty_serious" not in subject.state.signals
    assert out.tier_change is not None
    assert (out.tier_change.previous_tier, out.tier_change.tier) == (Tier.C, Tier.B)
    assert [(c.list, c.action, c.exit_reason) for c in out.list_changes] == [
        ("joint_punishment", "exited", "repaired")
    ]


def test_a_refused_repair_says_each_reason_in_chinese_and_in_english() -> None:
    """Seed 十三: the department and the subject read why, with the exact dates."""
    subject = Subject()
    penalty = enforcement(severity="general")
    subject.record(event_id=penalty.event_id, severity="general", occurred_at=T0)
    out = subject.record(
        kind="repair_applied",
        department="government_services",
        occurred_at=T0 + timedelta(days=10),
        concerns_event_id=penalty.event_id,
    )
    (notice,) = out.notices
    assert notice.kind == "repair_rejected"
    day = POLICY.supervision.calendar.iso_date((T0 + timedelta(days=90)).timestamp())
    assert [(r.code, r.detail_zh, r.detail) for r in notice.reasons] == [
        (
            "minimum_period",
            f"一般失信信息最短公示 90 天：{day} 起可申请修复",
            f"a general record is published at least 90 days: repairable from {day}",
        ),
        (
            "no_repair_commitment",
            "近期未作出信用修复承诺，或承诺未履行",
            "no credit-repair commitment made recently and kept",
        ),
    ]


def test_a_missed_commitment_deadline_adds_a_breach_to_the_score() -> None:
    subject = Subject()
    subject.record(
        kind="commitment_made",
        commitment_kind="approval_substitution",
        department="government_services",
        deadline=T0 + timedelta(days=30),
    )
    assert subject.state is not None
    before = subject.state.score
    out = subject.wake(days=45)
    assert subject.state.signals["commitment_breached_approval_substitution"] > 0
    assert subject.state.score > before
    notice, revocation = out.notices
    assert (notice.kind, notice.department) == ("commitment_breached", "government_services")
    assert (revocation.kind, revocation.department) == (
        "approval_revocation",
        "government_services",
    )
    (alert,) = out.alerts
    assert (alert.kind, alert.subject) == ("deadline", SUBJECT)


def test_a_record_is_published_when_filed_and_its_repair_ends_the_publication() -> None:
    """Seed 十五 and 十三: the public site sees a record from its filing until its repair."""
    subject = Subject()
    penalty = enforcement(severity="general")
    filed = subject.record(
        event_id=penalty.event_id,
        severity="general",
        department="market_regulation",
        occurred_at=T0 - timedelta(days=120),
    )
    [entered] = filed.publications
    assert (entered.event_id, entered.status, entered.reason, entered.version) == (
        penalty.event_id,
        "published",
        "filed",
        1,
    )
    assert (entered.kind, entered.signal, entered.severity) == (
        "penalty",
        "penalty_general",
        "general",
    )
    assert entered.published_from == T0 - timedelta(days=120)
    assert entered.published_until > T0 + timedelta(days=200)  # a general record: up to a year
    assert entered.department == "market_regulation" and entered.region == "130102"

    subject.record(
        kind="commitment_made",
        commitment_kind="credit_repair",
        occurred_at=T0 - timedelta(days=5),
        deadline=T0 + timedelta(days=20),
    )
    application_id = new_id("repair")
    repaired = subject.record(
        event_id=application_id,
        kind="repair_applied",
        department="government_services",
        occurred_at=T0,
        concerns_event_id=penalty.event_id,
    )
    [moved] = repaired.publications
    assert (moved.status, moved.reason, moved.version) == ("repaired", "repaired", 2)
    assert moved.cause_event_id == application_id and moved.changed_at == T0
    assert moved.published_until == entered.published_until  # the period is unchanged


def test_a_dispute_marks_the_record_and_an_upheld_objection_corrects_it() -> None:
    """Seed 十七: a disputed record stays published, marked; upheld, it is withdrawn."""
    subject = Subject()
    penalty = enforcement(severity="general")
    subject.record(event_id=penalty.event_id, severity="general", occurred_at=T0)
    disputed = subject.record(
        kind="objection_filed", concerns_event_id=penalty.event_id, occurred_at=T0 + timedelta(1)
    )
    rejected = subject.record(
        kind="objection_decided",
        outcome="rejected",
        concerns_event_id=penalty.event_id,
        occurred_at=T0 + timedelta(2),
    )
    subject.record(
        kind="objection_filed", concerns_event_id=penalty.event_id, occurred_at=T0 + timedelta(3)
    )
    upheld = subject.record(
        kind="objection_decided",
        outcome="upheld",
        concerns_event_id=penalty.event_id,
        occurred_at=T0 + timedelta(4),
    )
    standings = [
        (p.status, p.disputed, p.reason, p.version)
        for out in (disputed, rejected, upheld)
        for p in out.publications
    ]
    assert standings == [
        ("published", True, "objection_filed", 2),
        ("published", False, "objection_rejected", 3),
        ("corrected", False, "objection_upheld", 5),
    ]


def test_a_publication_expires_when_event_time_passes_its_period() -> None:
    subject = Subject()
    [entered] = subject.record(severity="minor", occurred_at=T0).publications
    assert subject.wake(days=30).publications == []
    [expired] = subject.wake(days=400).publications
    assert (expired.status, expired.reason, expired.cause_event_id) == ("expired", "expired", None)
    assert expired.changed_at == entered.published_until and expired.version == 2


def test_a_missed_commitment_deadline_publishes_its_breach() -> None:
    subject = Subject()
    commitment_id = new_id("commitment")
    subject.record(
        event_id=commitment_id,
        kind="commitment_made",
        commitment_kind="approval_substitution",
        department="government_services",
        occurred_at=T0,
        deadline=T0 + timedelta(days=10),
    )
    [breach] = subject.wake(days=30).publications
    assert breach.event_id == f"{commitment_id}:breach"
    assert (breach.kind, breach.reason, breach.status) == (
        "commitment_breached",
        "deadline_missed",
        "published",
    )


def test_every_published_signal_names_the_kind_of_its_record() -> None:
    kinds = {signal: record_kind(signal).value for signal in POLICY.supervision.class_of}
    assert kinds["penalty_minor"] == kinds["penalty_serious"] == "penalty"
    assert kinds["spot_check_problems"] == "spot_check"
    assert kinds["abnormal_operation"] == "abnormal_operation_listed"
    assert kinds["court_dishonest_debtor"] == "court_dishonest_debtor"
