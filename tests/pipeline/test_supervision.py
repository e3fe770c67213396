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
from pipeline.supervision import SupervisionOutputs, apply_effects, filing_of
from tests.factories import SUBJECT, T0, enforcement, pseudonym_key
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
    assert subject.state.signals["commitment_breached"] > 0
    assert subject.state.score > before
    (notice,) = out.notices
    assert (notice.kind, notice.department) == ("commitment_breached", "government_services")
    (alert,) = out.alerts
    assert (alert.kind, alert.subject) == ("deadline", SUBJECT)
