"""The in-process pipeline: deadlines fall due as event time passes, as in the ingest agent."""

from __future__ import annotations

from datetime import timedelta

from creditwatch.evaluation.scenario_labels import ScenarioRecord
from creditwatch.evaluation.scenario_offline import OfflinePipeline
from detectors.policy import load_policy
from pipeline.context import StepContext
from tests.factories import (
    ENFORCEMENT_TOPIC,
    T0,
    encode,
    enforcement_data,
    make_uscc,
    pseudonym_key,
)
from topics.lists import ListAction, ListKind

CONTEXT = StepContext(load_policy(), pseudonym_key())
PROMISER, OTHER = make_uscc(811), make_uscc(812)


def message(**fields: object) -> ScenarioRecord:
    data = enforcement_data(**fields)
    return ScenarioRecord(T0, ENFORCEMENT_TOPIC, str(data["subject"]).encode(), encode(data))


def commitment(number: int) -> ScenarioRecord:
    return message(
        event_id=f"promise-{number}",
        subject=PROMISER,
        kind="commitment_made",
        severity=None,
        commitment_kind="voluntary",
        occurred_at=T0,
        deadline=T0 + timedelta(days=5),
    )


def test_missed_deadlines_fall_due_when_other_records_move_event_time_past_them() -> None:
    """Two commitments broken by silence put the subject on the key-attention list
    (two breaches in a year), though it sends nothing more: another subject's record
    a month later is what moves event time past the deadlines."""
    promises = [commitment(1), commitment(2)]
    later = message(subject=OTHER, occurred_at=T0 + timedelta(days=30))

    quiet = OfflinePipeline(CONTEXT)
    quiet.feed(promises)
    assert quiet.run.list_changes == []

    woken = OfflinePipeline(CONTEXT)
    run = woken.feed([*promises, later])
    [entry] = run.list_changes
    assert (entry.subject, entry.list, entry.action) == (
        PROMISER,
        ListKind.KEY_ATTENTION,
        ListAction.ENTERED,
    )
    # Both breaches raise the one alert (the manager folds the second into it), then
    # the listing its own.
    assert [a.dedup_key for a in run.alerts if a.subject == PROMISER] == [
        f"{PROMISER}:commitment_breached",
        f"{PROMISER}:list:key_attention:v1",
    ]
    assert woken.states.subjects[PROMISER].signals["commitment_breached_voluntary"] > 0
