"""A small labelled scenario through the real pipeline: the embedded broker, Redis and a worker.

Cross-sector cases (one subject reported by two departments; two subjects of
one legal representative in different sectors) and multi-county complaint
surges must each raise their alert; the near misses and clean controls next to
them (one department only, positive records only, a surge in too few counties)
must raise none of those kinds.
"""

from __future__ import annotations

import sys

import pytest

from creditwatch.evaluation.scenario_labels import IncidentKind
from creditwatch.evaluation.scenario_runner import RunSettings, run_pipeline
from creditwatch.evaluation.scenario_scoring import evaluate
from creditwatch.evaluation.scenarios import ScenarioConfig, build_scenario

pytestmark = pytest.mark.integration

KINDS = (
    IncidentKind.CROSS_SECTOR_SUBJECT,
    IncidentKind.CROSS_SECTOR_LEGAL_REP,
    IncidentKind.CROSS_REGION_SURGE,
)
# Ten days: the cross-region baselines need the policy's seven days of history first.
CONFIG = ScenarioConfig(
    seed=11,
    days=10,
    subjects=80,
    background_per_day=400,
    incidents_per_kind=2,
    controls_per_kind=2,
    kinds=KINDS,
)


@pytest.mark.timeout(180)
def test_cross_sector_and_cross_region_incidents_alert_and_controls_stay_quiet() -> None:
    scenario = build_scenario(CONFIG)
    run = run_pipeline(
        scenario.records,
        RunSettings(quiet=3.0, timeout=120),
        progress=lambda line: print(line, file=sys.stderr),
    )
    assert run.consumed == len(scenario.records)
    result = evaluate(scenario.incidents, scenario.controls, run.alerts)

    missed = [r.incident.label for r in result.incidents if r.detected_at is None]
    assert missed == []
    assert {s.kind for s in result.kinds} == set(KINDS)
    noisy = {c.control.label: [a.dedup_key for a in c.alerts] for c in result.controls if c.alerts}
    assert noisy == {}
    # Nothing else of these kinds about the labelled subjects and categories either.
    assert all(s.precision == 1.0 for s in result.kinds)
