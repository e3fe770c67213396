"""``step`` and ``on_time``: the whole per-subject path as two pure functions, no Kafka."""

from __future__ import annotations

import random
from datetime import timedelta

from detectors.casefile import CaseFile
from detectors.iot import StreamAnomalyDetector
from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.subject import on_time, step
from tests.factories import DAY, T0, complaint, enforcement, make_uscc, pseudonym_key, reading
from topics.enforcement import EnforcementEvent

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
SUBJECT = make_uscc(801)


def test_an_enforcement_record_is_scored_then_filed_in_one_step() -> None:
    """A serious penalty: its rule alert and first tier, then the list it puts the subject on."""
    record = enforcement(subject=SUBJECT, severity="serious")

    state, case, out = step(None, None, record, CONTEXT)

    assert case is not None and out.case_settled  # the case file it opened, to be stored
    assert [a.kind for a in out.alerts] == ["rule"]
    assert out.tier_change is not None and out.tier_change.version == 1
    (filed,) = out.casework
    assert [a.kind for a in filed.alerts] == ["list"]
    assert [(c.list, c.action) for c in filed.list_changes] == [("joint_punishment", "entered")]
    assert out.next_due_s == case.next_due_s() is not None
    # Sent again (a redelivery), it produces nothing and leaves the case file alone.
    _, again_case, again = step(state, case, record, CONTEXT)
    assert again.duplicate and not again.case_settled and again_case is case


def test_a_record_the_workflows_do_not_act_on_leaves_the_case_file_alone() -> None:
    case = CaseFile()
    for record in (
        complaint(subject=SUBJECT),
        enforcement(subject=SUBJECT, kind="spot_check", result="passed"),
    ):
        _, returned, out = step(None, case, record, CONTEXT)
        assert returned is case and not out.case_settled and out.casework == []


def commitment_due_in_ten_days() -> EnforcementEvent:
    return enforcement(
        subject=SUBJECT,
        kind="commitment_made",
        commitment_kind="approval_substitution",
        department="government_services",
        occurred_at=T0,
        deadline=T0 + 10 * DAY,
    )


def test_a_deadline_passed_by_the_partition_s_event_time_fires_in_on_time() -> None:
    made = commitment_due_in_ten_days()
    state, case, out = step(None, None, made, CONTEXT)
    assert case is not None and out.next_due_s is not None

    state, case, due = on_time(SUBJECT, state, case, (T0 + 20 * DAY).timestamp(), CONTEXT)

    (fired,) = due.casework
    assert [n.kind for n in fired.notices] == ["commitment_breached", "approval_revocation"]
    assert [a.kind for a in fired.alerts] == ["deadline"]
    assert due.case_settled and state.signals["commitment_breached_approval_substitution"] > 0


def test_a_deadline_already_behind_the_watermark_fires_with_its_record() -> None:
    """A commitment filed late, its deadline before the partition's event time."""
    made = commitment_due_in_ten_days()

    _, _, out = step(None, None, made, CONTEXT, watermark_s=(T0 + 20 * DAY).timestamp())

    assert [n.kind for fired in out.casework for n in fired.notices] == [
        "commitment_breached",
        "approval_revocation",
    ]


def test_a_reading_is_scored_by_its_series_model_in_the_step() -> None:
    model, state = StreamAnomalyDetector(), None
    rng = random.Random(11)
    flagged: list[int] = []
    for i in range(320):
        value = 9.5 if i == 300 else 4.0 + rng.gauss(0.0, 0.15)
        record = reading(
            subject=SUBJECT,
            event_id=f"st-{i}",
            value=value,
            measured_at=T0 + i * timedelta(minutes=5),
        )
        state, _, out = step(state, None, record, CONTEXT, model)
        if out.model_flagged:
            flagged.append(i)
            assert out.alerts[-1].kind == "anomaly"
    assert flagged == [300]
    assert isinstance(state, SubjectState) and state.events == 320
