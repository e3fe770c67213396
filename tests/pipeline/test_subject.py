"""``process(state, record, policy)``: a subject's history, record by record, without Kafka."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import orjson
import pytest

from detectors.iot import StreamAnomalyDetector
from detectors.policy import load_policy
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.subject import Outputs, detect_iot_anomaly, observation_of, process
from tests import factories
from tests.factories import (
    DAY,
    HOUR,
    T0,
    complaint,
    enforcement,
    make_uscc,
    pseudonym_key,
    reading,
)
from topics.decode import InputRecord
from topics.risk import to_json_dict
from topics.vocabulary import EnforcementKind, Tier

POLICY = load_policy()
CONTEXT = StepContext(POLICY, pseudonym_key())
SUBJECT = make_uscc(300)


def run(
    records: list[InputRecord], state: SubjectState | None = None, via_bytes: bool = False
) -> tuple[SubjectState, list[Outputs]]:
    """Process ``records`` in order; ``via_bytes`` stores and reloads the state between
    records, as the agent does with its changelogged table."""
    outputs = []
    for record in records:
        if via_bytes and state is not None:
            state = SubjectState.from_bytes(state.to_bytes())
        state, out = process(state, record, CONTEXT)
        outputs.append(out)
    assert state is not None
    return state, outputs


def wire(outputs: list[Outputs]) -> list[dict[str, Any]]:
    """Everything the records produced, as it would appear on the output topics."""
    return [
        {
            "duplicate": out.duplicate,
            "alerts": [to_json_dict(a) for a in out.alerts],
            "tier_change": None if out.tier_change is None else to_json_dict(out.tier_change),
        }
        for out in outputs
    ]


def script() -> list[InputRecord]:
    """A subject going from B to D over five days (the bundled policy's weights)."""
    return [
        enforcement(subject=SUBJECT, event_id="s-1", kind="penalty", severity="general",
                    occurred_at=T0),  # 30 + 10 = 40: first tier, B
        enforcement(subject=SUBJECT, event_id="s-2", kind="spot_check", result="passed",
                    occurred_at=T0 + DAY),  # about 38
        enforcement(subject=SUBJECT, event_id="s-3", kind="tax_violation",
                    occurred_at=T0 + 2 * DAY),  # about 50: at C's bound, inside the margin
        enforcement(subject=SUBJECT, event_id="s-4", kind="licence_suspended",
                    occurred_at=T0 + 3 * DAY),  # about 65: C
        enforcement(subject=SUBJECT, event_id="s-5", kind="court_dishonest_debtor",
                    occurred_at=T0 + 4 * DAY),  # 100 and a D floor: D
    ]  # fmt: skip


# --- tier changes -----------------------------------------------------------------


def test_tier_changes_only_when_the_tier_changes() -> None:
    _, outputs = run(script())
    changes = [(i, out.tier_change) for i, out in enumerate(outputs) if out.tier_change]
    assert [(i, c.previous_tier, c.tier) for i, c in changes] == [
        (0, None, Tier.B),
        (3, Tier.B, Tier.C),
        (4, Tier.C, Tier.D),
    ]


def test_score_at_a_boundary_does_not_change_the_tier() -> None:
    state, outputs = run(script()[:3])
    assert POLICY.tiers.c_from - POLICY.tiers.hysteresis < state.score
    assert state.score < POLICY.tiers.c_from + POLICY.tiers.hysteresis
    assert outputs[2].tier_change is None and state.tier == "B"


def test_versions_rise_by_one_per_change() -> None:
    state, outputs = run(script())
    versions = [out.tier_change.version for out in outputs if out.tier_change]
    assert versions == [1, 2, 3]
    assert state.version == 3


def test_recovery_is_a_tier_change_too_and_continues_the_versions() -> None:
    adverse = [
        enforcement(subject=SUBJECT, kind=kind, occurred_at=T0 - 730 * DAY + i * HOUR)
        for i, kind in enumerate(["licence_suspended", "tax_violation", "interview"])
    ]
    state, outputs = run(adverse)
    assert state.tier == "C" and state.version == 2  # first tier, then C
    # Two years on, these one-year half-life records weigh a quarter: back to B.
    later = enforcement(subject=SUBJECT, kind="honour", occurred_at=T0)
    state, out = process(state, later, CONTEXT)
    assert out.tier_change is not None
    assert (out.tier_change.previous_tier, out.tier_change.tier) == (Tier.C, Tier.B)
    assert out.tier_change.version == 3


def test_tier_change_carries_score_reasons_and_context() -> None:
    _, outputs = run(script())
    change = outputs[3].tier_change
    assert change is not None
    assert change.subject == SUBJECT and change.policy_version == POLICY.version
    assert change.effective_at == T0 + 3 * DAY
    assert change.region == "130102" and change.sector == "food_drug"
    facts = [r.fact for r in change.reasons]
    assert {"licence_suspended", "tax_violation", "penalty_general", "spot_check_passed"} <= set(
        facts
    )
    assert facts[0] == "licence_suspended"  # the biggest effect first
    # The reasons add up to the score (each rounded to hundredths).
    total = POLICY.base_score + sum(r.value for r in change.reasons)
    assert change.score == pytest.approx(total, abs=0.05)


# --- duplicates ------------------------------------------------------------------


def test_duplicate_event_produces_nothing_and_changes_nothing() -> None:
    state, _ = run(script())
    before = state.to_bytes()
    state, out = process(state, script()[-1], CONTEXT)
    assert out.duplicate and out.alerts == [] and out.tier_change is None
    assert state.to_bytes() == before


def test_redelivery_of_an_old_event_is_still_a_duplicate() -> None:
    state, _ = run(script())
    _, out = process(state, script()[0], CONTEXT)
    assert out.duplicate


def test_a_new_event_id_with_the_same_content_counts() -> None:
    state, _ = run(script()[:1])
    again = enforcement(subject=SUBJECT, event_id="s-1b", kind="penalty", severity="general",
                        occurred_at=T0)  # fmt: skip
    state, out = process(state, again, CONTEXT)
    assert not out.duplicate and state.events == 2


# --- alerts ----------------------------------------------------------------------


def test_alerts_carry_evidence_policy_version_and_source() -> None:
    _, outputs = run(script())
    alerts = {a.dedup_key: a for a in outputs[4].alerts}
    assert set(alerts) == {f"{SUBJECT}:court_dishonest_debtor", f"{SUBJECT}:tier_d"}
    ruling = alerts[f"{SUBJECT}:court_dishonest_debtor"]
    assert ruling.severity == "critical" and ruling.status == "open"
    assert ruling.source_event_ids == ["s-5"]
    assert ruling.policy_version == POLICY.version
    assert ruling.created_at == T0 + 4 * DAY
    assert ruling.tier is Tier.D and ruling.score == 100.0
    assert ruling.evidence and "s-5" in (ruling.evidence[0].detail or "")
    tier_d = alerts[f"{SUBJECT}:tier_d"]
    assert tier_d.evidence[0].fact == "score" and tier_d.evidence[0].value == 100.0


def test_alert_ids_are_distinct_per_fact() -> None:
    _, outputs = run(script())
    ids = [a.alert_id for out in outputs for a in out.alerts]
    assert len(ids) == len(set(ids)) == 2


def test_replay_from_a_fresh_state_gives_identical_outputs() -> None:
    _, first = run(script())
    _, second = run(script())
    assert wire(first) == wire(second)


def test_restoring_state_between_records_gives_identical_outputs() -> None:
    # A worker restarted mid-stream continues from the changelogged bytes.
    _, in_memory = run(script())
    _, restored = run(script(), via_bytes=True)
    assert wire(restored) == wire(in_memory)


# --- what records mean ------------------------------------------------------------


def test_enquiries_do_not_count_as_complaints() -> None:
    n = POLICY.complaints.surge_min + 3
    enquiries = [complaint(subject=SUBJECT, kind="enquiry", received_at=T0 + i * HOUR)
                 for i in range(n)]  # fmt: skip
    state, outputs = run(enquiries)
    assert state.score == POLICY.base_score
    assert all(out.alerts == [] for out in outputs)
    assert state.events == n  # they were applied, they just carry no risk

    complaints = [complaint(subject=SUBJECT, kind=kind, received_at=T0 + i * HOUR)
                  for i, kind in enumerate(["complaint", "report"] * (n // 2))]  # fmt: skip
    state, outputs = run(complaints)
    assert state.score > POLICY.base_score
    assert any(a.title.startswith("Surge") for out in outputs for a in out.alerts)


def test_abnormal_operation_removal_clears_its_signal() -> None:
    listed = enforcement(subject=SUBJECT, kind="abnormal_operation_listed", occurred_at=T0)
    state, _ = run([listed])
    assert state.score == POLICY.base_score + POLICY.signals["abnormal_operation"].points
    removed = enforcement(subject=SUBJECT, kind="abnormal_operation_removed",
                          occurred_at=T0 + 10 * DAY)  # fmt: skip
    state, _ = run([removed], state)
    assert state.score == POLICY.base_score
    assert "abnormal_operation" not in state.signals


def test_iot_exceedance_means_above_the_limit() -> None:
    assert observation_of(reading(value=9.0, limit=8.0)).iot_exceedance
    assert not observation_of(reading(value=8.0, limit=8.0)).iot_exceedance
    assert not observation_of(reading(value=-30.0, limit=8.0)).iot_exceedance
    assert not observation_of(reading(value=1e5, limit=None)).iot_exceedance


def test_every_enforcement_kind_can_be_processed() -> None:
    extra = {
        "severity": "serious",
        "commitment_kind": "credit_repair",
        "result": "not_found_at_address",
        "deadline": T0 + timedelta(days=30),
        "concerns_event_id": "enf-earlier",
        "outcome": "upheld",
        "reference": "joint_punishment",  # the list a list_proposed names
    }
    for kind in EnforcementKind:
        record = enforcement(subject=SUBJECT, kind=kind.value, **extra)
        obs = observation_of(record)
        assert obs.signal is None or obs.signal in POLICY.signals, kind
        _, out = process(None, record, CONTEXT)
        assert out.tier_change is not None  # every first record assigns a tier


def test_penalty_severity_and_spot_check_result_choose_the_signal() -> None:
    for severity in ("minor", "general", "serious"):
        record = enforcement(kind="penalty", severity=severity)
        assert observation_of(record).signal == f"penalty_{severity}"
    for result, signal in [("passed", "spot_check_passed"),
                           ("problems_found", "spot_check_problems"),
                           ("not_found_at_address", "spot_check_problems")]:  # fmt: skip
        assert observation_of(enforcement(kind="spot_check", result=result)).signal == signal


def test_a_different_subjects_state_is_not_mixed_in() -> None:
    other = make_uscc(301)
    state_a, _ = run(script())
    _, out = process(None, enforcement(subject=other, event_id="s-5"), CONTEXT)
    # Same event id, different subject, fresh state: not a duplicate.
    assert not out.duplicate and state_a.events == 5


def _fridge_series(detector, count: int, spike_at: int | None = None):
    """Feed a cold-chain fridge's readings (5-minute steps); yield each step's alert."""
    rng = random.Random(11)
    state = None
    for i in range(count):
        value = 9.5 if i == spike_at else 4.0 + rng.gauss(0.0, 0.15)
        record = factories.reading(
            event_id=f"fr-{i}", value=value, measured_at=factories.T0 + i * timedelta(minutes=5)
        )
        state, _ = process(state, record, CONTEXT)
        yield i, detect_iot_anomaly(detector, record, state, POLICY)


def test_an_iot_spike_raises_one_explained_anomaly_alert() -> None:
    detector = StreamAnomalyDetector()
    alerts = [(i, alert) for i, alert in _fridge_series(detector, 400, spike_at=300) if alert]

    assert [i for i, _ in alerts] == [300]
    alert = alerts[0][1]
    assert alert.kind == "anomaly" and alert.source_event_ids == ["fr-300"]
    facts = {e.fact: e for e in alert.evidence}
    assert facts["anomaly_score"].value >= POLICY.iot.anomaly_threshold
    assert facts["value"].value == 9.5 and facts["value"].threshold == 8.0
    assert abs(facts["expected"].value - 4.0) < 0.5  # the baseline, not the spike
    assert facts["deviation"].value > 5


def test_normal_readings_and_warm_up_raise_no_anomaly() -> None:
    detector = StreamAnomalyDetector()
    assert not any(alert for _, alert in _fridge_series(detector, 400))


def test_state_built_from_records_has_plain_string_labels_for_json() -> None:
    state, _ = process(None, complaint(subject=SUBJECT, event_id="c-json"), CONTEXT)
    assert all(type(label) is str for label in state.complaints.by_label())
    assert type(state.sector) is str
    orjson.dumps(state.complaints.by_label())  # orjson refuses str-subclass keys
