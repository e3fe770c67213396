"""The alert budget: what a centre sees, counted from ``risk.alerts`` snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from creditwatch.evaluation.alert_budget import AlertTally, outcome_of, rule_of
from creditwatch.evaluation.scenario_labels import Incident, IncidentKind
from creditwatch.evaluation.scenario_scoring import ObservedAlert, evaluate

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def snapshot(alert_id: str, hours: float = 0.0, **fields: Any) -> dict[str, Any]:
    at = (T0 + timedelta(hours=hours)).isoformat()
    return {
        "alert_id": alert_id,
        "dedup_key": f"S1:{fields.get('rule', 'peer_outlier')}",
        "subject": "S1",
        "kind": "anomaly",
        "rule": "peer_outlier",
        "severity": "medium",
        "created_at": at,
        "last_seen_at": at,
        "event": "opened",
        "muted_by": None,
        "disposition": "board",
        **fields,
    }


def test_each_alert_counts_once_by_what_became_of_it_and_repeats_count_apart() -> None:
    tally = AlertTally()
    for snap in (
        snapshot("a"),
        snapshot("a"),  # redelivered
        snapshot("a", 2, event="repeated", last_seen_at=(T0 + timedelta(hours=2)).isoformat()),
        snapshot("a", event="acknowledged"),
        snapshot("b", disposition="case"),
        snapshot("c", disposition="digest"),
        snapshot("d", muted_by="alert:x"),
        snapshot("e", dedup_key="digest:peer_outlier:130102:2026-03-02", subject=None),
    ):
        tally.add(snap)

    budget = tally.budget(subjects=500, days=0.5)
    row = ("anomaly", "peer_outlier", "medium")
    outcomes = {o: budget.total((o,), [row]) for o in ("board", "case", "in digests", "muted")}
    assert outcomes == {"board": 1, "case": 1, "in digests": 1, "muted": 1}
    assert budget.total(("digests",)) == 1 and budget.total(("repeats",)) == 1
    # Board items are board alerts and digests, for 500 subjects: one alert over half a
    # day is 4 per 1,000 a day; one digest is the day's item (its day is 2026-03-02),
    # however much of the day was counted: 2 per 1,000 a day.
    assert budget.board_items == pytest.approx(1 * 1000 / 500 / 0.5 + 1 * 1000 / 500 / 1)
    assert "board items 6.0 per 1,000 subjects per day (alerts 4.0, digests 2.0)" in (
        budget.summary()
    )


def test_rates_are_per_day_of_event_time_given_or_else_between_the_alerts() -> None:
    tally = AlertTally()
    tally.add(snapshot("a", hours=3))
    tally.add(snapshot("b", hours=9))
    assert tally.days == pytest.approx(0.25)
    # An hour of demo traffic is 1/24 of a day: its count is scaled by 24.
    assert tally.budget(1_000, days=1 / 24).board_items == pytest.approx(2 * 24)
    assert tally.budget(1_000).board_items == pytest.approx(2 / 0.25)
    assert AlertTally().budget(1_000).board_items == 0.0  # nothing counted yet


def test_the_table_has_a_row_per_kind_rule_and_severity_and_a_total() -> None:
    tally = AlertTally()
    tally.add(snapshot("a", severity="high"))
    tally.add(snapshot("b", kind="rule", rule="tier_d", severity="critical",
                       dedup_key="S1:tier_d"))  # fmt: skip
    budget = tally.budget(subjects=1_000, days=1.0, records=50_000)
    lines = budget.report().splitlines()
    assert lines[0].endswith("50.0 input records per subject per day; per 1,000 subjects per day")
    assert [line.split()[:3] for line in lines[3:5]] == [
        ["anomaly", "peer_outlier", "high"],
        ["rule", "tier_d", "critical"],
    ]
    assert lines[-1].split()[:2] == ["total", "2.00"]
    assert budget.by(("board",), 0) == {"anomaly": 1.0, "rule": 1.0}


def test_older_alerts_without_the_new_fields_count_as_board_alerts_of_their_dedup_rule() -> None:
    old = {"alert_id": "x", "dedup_key": "S1:penalty_serious:e1", "subject": "S1",
           "kind": "rule", "severity": "high", "created_at": T0.isoformat()}  # fmt: skip
    assert outcome_of(old) == "board" and rule_of(old) == "penalty_serious"
    area = {"dedup_key": "cross_region:price:2026-03-02", "subject": None}
    assert rule_of(area) == "cross_region"


def test_an_alert_kept_in_the_case_only_does_not_detect_an_incident() -> None:
    """Recall counts what a centre sees: the board, or a digest naming the alert."""
    spike = Incident("s", IncidentKind.IOT_SPIKE, "S1:iot_anomaly:D1:cod", T0,
                     T0 + timedelta(days=1), ("S1",), "")  # fmt: skip
    at = T0 + timedelta(minutes=5)

    def seen(disposition: str) -> ObservedAlert:
        return ObservedAlert("a", "anomaly", spike.dedup_key, at, "S1", disposition=disposition)

    assert evaluate([spike], [], [seen("digest")]).kinds[0].recall == 1.0
    assert evaluate([spike], [], [seen("case")]).kinds[0].recall == 0.0
