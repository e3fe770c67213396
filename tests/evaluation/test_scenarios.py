"""The scenario generator, the alert matching and the report, without a broker."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from creditwatch.cli import main
from creditwatch.evaluation import scenario_report as report
from creditwatch.evaluation import scenario_runner
from creditwatch.evaluation.alert_budget import AlertTally
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    cross_region_key,
    iot_anomaly_key,
    peer_outlier_key,
)
from creditwatch.evaluation.scenario_offline import expected_dead_letters, run_offline
from creditwatch.evaluation.scenario_scoring import ObservedAlert, combine, evaluate
from creditwatch.evaluation.scenarios import Scenario, ScenarioConfig, build_scenario
from creditwatch.simulation.population import build_population
from detectors.cross_sector import linkage_group
from detectors.policy import default_policy
from pipeline.context import StepContext
from pipeline.subject import observation_of
from tests.factories import pseudonym_key
from topics.complaints import Complaint
from topics.decode import Rejected, decode_input
from topics.risk import Alert, Evidence, to_json_dict
from topics.vocabulary import AlertKind, AlertSeverity, AlertStatus, ComplaintKind, Sector

SMALL = ScenarioConfig(
    seed=3, days=10, subjects=120, background_per_day=300, incidents_per_kind=2, controls_per_kind=2
)
POLICY = default_policy()
EVENT_TIME_FIELDS = ("occurred_at", "received_at", "measured_at")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(SMALL)


def payload(record: ScenarioRecord) -> dict[str, Any]:
    return dict(orjson.loads(record.value))


def records_about(scenario: Scenario, subjects: set[str]) -> Iterator[ScenarioRecord]:
    keys = {s.encode() for s in subjects}
    return (r for r in scenario.records if r.key in keys)


# ----------------------------------------------------------------------- generator


def test_same_seed_same_records_and_labels(scenario: Scenario) -> None:
    again = build_scenario(SMALL)
    assert again.records == scenario.records
    assert (again.incidents, again.controls) == (scenario.incidents, scenario.controls)
    other = build_scenario(replace(SMALL, seed=4))
    assert other.records != scenario.records


def test_records_are_in_event_time_order_and_injected_ones_valid(scenario: Scenario) -> None:
    times = [r.at for r in scenario.records]
    assert times == sorted(times)
    city = {s.uscc.encode() for s in build_population(SMALL.seed, SMALL.subjects)}
    scripted = [r for r in scenario.records if r.key not in city]
    assert len(scripted) > 1000
    for record in scripted:
        decoded = decode_input(record.topic, record.key, record.value)
        assert not isinstance(decoded, Rejected), (record, decoded)
        stamped = next(payload(record)[f] for f in EVENT_TIME_FIELDS if f in payload(record))
        assert datetime.fromisoformat(stamped) == record.at  # the label's clock is the record's


def test_every_kind_has_incidents_and_controls_with_unique_labels(scenario: Scenario) -> None:
    assert Counter(i.kind for i in scenario.incidents) == {k: 2 for k in IncidentKind}
    assert set(Counter(c.kind for c in scenario.controls)) == set(IncidentKind)
    labels = [i.label for i in scenario.incidents] + [c.label for c in scenario.controls]
    assert len(labels) == len(set(labels))
    assert scenario.cast_subjects > 0 and scenario.labelled_subjects


def test_default_scenario_stays_within_the_record_budget() -> None:
    big = build_scenario()
    assert 40_000 < len(big.records) <= 60_000
    assert Counter(i.kind for i in big.incidents) == {k: 5 for k in IncidentKind}


def test_each_incident_starts_with_its_first_labelled_record(scenario: Scenario) -> None:
    by_label: dict[str, list[ScenarioRecord]] = defaultdict(list)
    for record in scenario.records:
        if record.label is not None:
            by_label[record.label].append(record)
    assert set(by_label) == {i.label for i in scenario.incidents}
    for incident in scenario.incidents:
        records = by_label[incident.label]
        assert records[0].at == incident.start < incident.end
        assert {r.key.decode() for r in records} <= set(incident.subjects)


def test_iot_incidents_fault_a_warmed_up_device_and_controls_stay_normal(
    scenario: Scenario,
) -> None:
    for incident in scenario.incidents:
        if incident.alert_kind is not AlertKind.ANOMALY or incident.device_id is None:
            continue
        readings = [
            payload(r)
            for r in records_about(scenario, set(incident.subjects))
            if r.topic == "iot.readings"
        ]
        before = [p for p in readings if datetime.fromisoformat(p["measured_at"]) < incident.start]
        assert len(before) >= 120  # the detector's warm-up
        [(subject, device, metric)] = {
            (p["subject"], p["device_id"], p["metric"]) for p in readings
        }
        assert incident.dedup_key == iot_anomaly_key(subject, device, metric)
        assert device == incident.device_id


def _linkage(record: ScenarioRecord) -> tuple[str, str, str] | None:
    """(linkage group, department, sector) of an adverse record, else None."""
    decoded = decode_input(record.topic, record.key, record.value)
    if isinstance(decoded, Rejected) or record.topic != "enforcement.events":
        return None
    obs = observation_of(decoded)
    if not POLICY.adverse(obs.signal):
        return None
    data = payload(record)
    group = linkage_group(data["subject"], data.get("legal_rep_id"), pseudonym_key())
    return group, data["department"], data["sector"]


def _sources(scenario: Scenario, subjects: tuple[str, ...]) -> dict[str, int]:
    """Per linkage group: max(distinct departments, distinct sectors) of adverse records."""
    departments, sectors = defaultdict(set), defaultdict(set)
    for record in records_about(scenario, set(subjects)):
        linked = _linkage(record)
        if linked is not None:
            departments[linked[0]].add(linked[1])
            sectors[linked[0]].add(linked[2])
    return {g: max(len(departments[g]), len(sectors[g])) for g in departments}


def test_cross_sector_incidents_cross_the_policy_and_controls_do_not(scenario: Scenario) -> None:
    needed = POLICY.cross_sector.min_sources
    kinds = (IncidentKind.CROSS_SECTOR_SUBJECT, IncidentKind.CROSS_SECTOR_LEGAL_REP)
    for incident in (i for i in scenario.incidents if i.kind in kinds):
        group = incident.dedup_key.removeprefix("cross_sector:")
        assert _sources(scenario, incident.subjects)[group] >= needed
    for control in (c for c in scenario.controls if c.kind in kinds):
        assert all(n < needed for n in _sources(scenario, control.subjects).values())
    subject_keys = [i.dedup_key for i in scenario.incidents if i.kind is kinds[0]]
    # One incident names no representative (its subject is the group), the other one does.
    assert {k.split(":")[1] for k in subject_keys} == {"subject", "rep"}


def _surging_counties(scenario: Scenario, subjects: tuple[str, ...], category: str) -> Counter:
    return Counter(
        payload(r)["region"]
        for r in records_about(scenario, set(subjects))
        if r.topic == "complaints.12315" and payload(r)["category"] == category
    )


def test_cross_region_surges_reach_enough_counties_and_near_misses_do_not(
    scenario: Scenario,
) -> None:
    rules = POLICY.cross_region
    for incident in (i for i in scenario.incidents if i.kind is IncidentKind.CROSS_REGION_SURGE):
        assert incident.category is not None
        counts = _surging_counties(scenario, incident.subjects, incident.category)
        assert len(counts) >= rules.min_counties
        assert min(counts.values()) >= rules.surge_min
        day = (incident.start - SMALL.start).days
        assert day > rules.warmup_days
        assert incident.dedup_key == cross_region_key(
            incident.category, incident.start.date().isoformat()
        )
    for control in (c for c in scenario.controls if c.kind is IncidentKind.CROSS_REGION_SURGE):
        category = control.dedup_keys[0].split(":")[1]
        assert (
            1 <= len(_surging_counties(scenario, control.subjects, category)) < rules.min_counties
        )


def test_peer_outliers_stand_out_in_groups_of_their_own(scenario: Scenario) -> None:
    city_groups = {(s.sector, s.region) for s in build_population(SMALL.seed, SMALL.subjects)}
    counted: Counter[str] = Counter()
    group_of: dict[str, tuple[str, str]] = {}
    for record in scenario.records:
        complaint = decode_input(record.topic, record.key, record.value)
        if not isinstance(complaint, Complaint):
            continue  # another topic, or a deliberately broken record
        group_of[complaint.subject] = (complaint.sector.value, complaint.region)
        if complaint.kind is not ComplaintKind.ENQUIRY:
            counted[complaint.subject] += 1
    controls = {c.label: c for c in scenario.controls if c.kind is IncidentKind.PEER_OUTLIER}
    for incident in (i for i in scenario.incidents if i.kind is IncidentKind.PEER_OUTLIER):
        [outlier] = incident.subjects
        assert incident.dedup_key == peer_outlier_key(outlier)
        sector, region = group_of[outlier]
        assert (Sector(sector), region) not in city_groups
        # Its group's controls carry the label of the group's first outlier.
        peers = next(
            c for label, c in controls.items()
            if label.endswith("-peers") and group_of[c.subjects[0]] == (sector, region)
        )  # fmt: skip
        near = controls[peers.label.replace("-peers", "-near-miss")]
        assert len(peers.subjects) + 1 >= POLICY.peers.min_peers
        assert counted[outlier] > max(counted[s] for s in (*peers.subjects, *near.subjects))
        assert counted[outlier] >= 10
    clean = [
        c for c in scenario.controls if c.kind is IncidentKind.PEER_OUTLIER and not c.near_miss
    ]
    assert all(len(c.subjects) >= POLICY.peers.min_peers for c in clean)


# ------------------------------------------------------------------------- scoring

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def incident(
    label: str, kind: IncidentKind, key: str, subject: str = "S1", **extra: Any
) -> Incident:
    return Incident(
        label=label,
        kind=kind,
        dedup_key=key,
        start=T0,
        end=T0 + timedelta(days=1),
        subjects=(subject,),
        detail="",
        **extra,
    )


def alert(
    key: str, kind: str = "anomaly", minutes: float = 10, subject: str | None = "S1", aid: str = ""
) -> ObservedAlert:
    return ObservedAlert(
        aid or f"{key}@{minutes}", kind, key, T0 + timedelta(minutes=minutes), subject
    )


SPIKE = incident("spike-1", IncidentKind.IOT_SPIKE, "S1:iot_anomaly:D1:cod")
SPIKE_2 = incident("spike-2", IncidentKind.IOT_SPIKE, "S2:iot_anomaly:D2:cod", subject="S2")
CLEAN_DEVICE = Control("clean-1", IncidentKind.IOT_SPIKE, ("S3:iot_anomaly:D3:cod",), ("S3",), "")


def test_recall_precision_and_delay_from_matching_alerts() -> None:
    alerts = [
        alert(SPIKE.dedup_key, minutes=30),
        alert(SPIKE.dedup_key, minutes=90),  # a second alert for the same fault still matches
        alert(SPIKE_2.dedup_key, minutes=-5, subject="S2"),  # before the fault: false positive
    ]
    result = evaluate([SPIKE, SPIKE_2], [CLEAN_DEVICE], alerts)
    [score] = result.kinds
    assert (score.incidents, score.detected, score.recall) == (2, 1, 0.5)
    assert (score.alerts_in_scope, score.matching_alerts, score.false_positives) == (3, 2, 1)
    assert score.precision == pytest.approx(2 / 3)
    assert score.median_delay == timedelta(minutes=30)
    assert not score.meets_targets


def test_alert_after_the_window_does_not_detect() -> None:
    late = alert(SPIKE.dedup_key, minutes=2 * 24 * 60)
    [score] = evaluate([SPIKE], [], [late]).kinds
    assert (score.detected, score.false_positives) == (0, 1)


def test_alerts_about_unlabelled_subjects_are_left_out_and_counted() -> None:
    alerts = [
        alert(SPIKE.dedup_key),
        alert("CITY:iot_anomaly:X:cod", subject="CITY"),
        alert("cross_sector:rep:abc", kind="cross-sector", subject="CITY"),
    ]
    result = evaluate([SPIKE], [], alerts)
    assert result.kinds[0].precision == 1.0
    assert result.unlabelled == {"anomaly": 1, "cross-sector": 1}


def test_alerts_on_controls_count_against_the_budget() -> None:
    alerts = [alert(SPIKE.dedup_key), alert(CLEAN_DEVICE.dedup_keys[0], subject="S3")]
    strict = evaluate([SPIKE], [CLEAN_DEVICE], alerts)
    assert strict.control_false_positives == 1 and not strict.within_budget
    assert strict.kinds[0].control_alerts == 1 and strict.kinds[0].precision == 0.5
    assert evaluate([SPIKE], [CLEAN_DEVICE], alerts, fp_budget=1).within_budget


def test_a_replayed_alert_counts_once() -> None:
    twice = [alert(SPIKE.dedup_key, aid="same"), alert(SPIKE.dedup_key, aid="same")]
    result = evaluate([SPIKE], [], twice)
    assert result.total_alerts == 1 and result.kinds[0].alerts_in_scope == 1


def test_cross_region_alerts_are_scoped_by_category_on_any_day() -> None:
    surge = incident(
        "surge-1", IncidentKind.CROSS_REGION_SURGE, cross_region_key("price", "2026-03-10"),
        subject="M1", category="price",
    )  # fmt: skip
    near = Control(
        "near-1",
        IncidentKind.CROSS_REGION_SURGE,
        (cross_region_key("price", "2026-03-12"),),
        (),
        "",
    )
    alerts = [
        alert(surge.dedup_key, kind="cross-region", subject=None),
        alert(cross_region_key("price", "2026-03-12"), kind="cross-region", subject=None),
        alert(cross_region_key("price", "2026-03-08"), kind="cross-region", subject=None),
        alert(cross_region_key("food_safety", "2026-03-10"), kind="cross-region", subject=None),
    ]
    result = evaluate([surge], [near], alerts)
    [score] = result.kinds
    assert (score.detected, score.alerts_in_scope, score.false_positives) == (1, 3, 2)
    assert result.control_false_positives == 1
    assert result.unlabelled == {"cross-region": 1}


def test_other_alerts_about_an_incident_are_noted_not_scored() -> None:
    rule = alert("S1:iot_exceedances", kind="iot", minutes=60)
    result = evaluate([SPIKE], [], [rule])
    assert result.kinds[0].alerts_in_scope == 0 and result.kinds[0].precision is None
    assert result.incidents[0].other_alerts == {"iot": 1}
    assert result.other_on_labelled == {"iot": 1}


def test_alerts_parse_from_the_wire_format_including_area_wide_ones() -> None:
    area = Alert(
        alert_id="a1", dedup_key=cross_region_key("price", "2026-03-10"), subject=None,
        kind=AlertKind.CROSS_REGION, severity=AlertSeverity.HIGH, score=0.0, tier=None,
        region="130100", sector=Sector.OTHER, title="Surge",
        evidence=[Evidence("county 130102", 9)],
        source_event_ids=["e1"], created_at=T0, status=AlertStatus.OPEN, policy_version="v",
    )  # fmt: skip
    parsed = ObservedAlert.from_json(orjson.dumps(to_json_dict(area)))
    assert parsed is not None
    assert (parsed.subject, parsed.kind, parsed.created_at) == (None, "cross-region", T0)
    assert ObservedAlert.from_json(b"not json") is None
    assert ObservedAlert.from_json(b'{"kind": "rule"}') is None


# -------------------------------------------------------------------------- report


def _result(scenario: Scenario) -> tuple[Any, list[ObservedAlert]]:
    """Every incident detected one minute in, plus one alert on a control."""
    alerts = [
        alert(i.dedup_key, kind=i.alert_kind.value, subject=i.subjects[0], aid=i.label)
        for i in scenario.incidents
    ]
    alerts = [
        ObservedAlert(a.alert_id, a.kind, a.dedup_key, i.start + timedelta(minutes=1), a.subject)
        for a, i in zip(alerts, scenario.incidents, strict=True)
    ]
    control = scenario.controls[0]
    alerts.append(
        alert(
            control.dedup_keys[0], kind=control.kind.alert_kind.value, subject=control.subjects[0]
        )
    )
    return evaluate(scenario.incidents, scenario.controls, alerts), alerts


def test_table_and_html_report(scenario: Scenario, tmp_path: Path) -> None:
    evaluation, _ = _result(scenario)
    table = report.format_table(evaluation)
    assert "iot_spike" in table and "control false positives: 1 (budget 0): OVER BUDGET" in table
    facts = report.RunFacts(len(scenario.records), 12.0, evaluation.total_alerts)
    page = report.render_html(scenario, evaluation, facts)
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    assert page.count("<svg") == 2 and "<script" not in page
    # Self-contained: the only URL is the SVG namespace.
    assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0
    document = report.to_json(scenario, evaluation, facts)
    assert json.loads(json.dumps(document))["control_false_positives"] == 1


def test_cli_writes_the_report_and_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raised: list[ObservedAlert] = []

    def fake_run(records: Any, settings: Any, progress: Any) -> scenario_runner.PipelineRun:
        built = build_scenario(ScenarioConfig(seed=5, days=10, subjects=60, background_per_day=100,
                                              incidents_per_kind=1))  # fmt: skip
        assert list(records) == list(built.records)
        _, alerts = _result(built)
        raised.extend(alerts)
        tally = AlertTally()
        for seen in alerts:  # each opened on the board
            tally.add({"alert_id": seen.alert_id, "kind": seen.kind, "severity": "high",
                       "dedup_key": seen.dedup_key, "subject": seen.subject,
                       "created_at": seen.created_at.isoformat(), "event": "opened"})  # fmt: skip
        return scenario_runner.PipelineRun(alerts, len(records), len(records), 1.0, tally=tally)

    monkeypatch.setattr(scenario_runner, "run_pipeline", fake_run)
    html, out = tmp_path / "r.html", tmp_path / "r.json"
    argv = ["eval", "scenarios", "--seed", "5", "--days", "10", "--subjects", "60", "--per-day",
            "100", "--incidents", "1", "--report", str(html), "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "cross_region_surge" in printed and "recall" in printed
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    document = json.loads(out.read_text(encoding="utf-8"))
    kinds = {k["kind"]: k for k in document["kinds"]}
    assert kinds["iot_drift"]["recall"] == 1.0
    # The alert budget over the scenario's days and every subject, city and scripted.
    budget = document["budget"]
    assert budget["days"] == 10 and budget["subjects"] > 60
    opened = sum(row["counts"]["board"] for row in budget["rows"])
    assert opened == len({a.alert_id for a in raised}) > 0
    assert "alert budget: " in printed and "board items" in printed
    assert "<h2>Alert budget</h2>" in html.read_text(encoding="utf-8")


def test_cli_rejects_too_short_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "scenarios", "--days", "5"]) == 2
    assert "at least 10" in capsys.readouterr().err


# ------------------------------------------------------------------------- offline


def test_the_offline_run_meets_the_targets_and_dead_letters_every_bad_record(
    scenario: Scenario,
) -> None:
    context = StepContext(POLICY, pseudonym_key())
    run = run_offline(scenario.records, context)
    assert run.consumed == len(scenario.records)
    assert sum(run.dead_letters.values()) == expected_dead_letters(scenario.records) > 0
    result = evaluate(scenario.incidents, scenario.controls, run.alerts)
    assert [s.kind.value for s in result.kinds if not s.meets_targets] == []
    assert result.control_false_positives == 0
    # The budget counts what the manager made of them: digests opened for the alerts
    # the policy rolls into one, each alert opened once.
    subjects = scenario.city_subjects + scenario.cast_subjects
    budget = run.tally.budget(subjects, days=scenario.config.days)
    assert 0 < budget.total(("digests",)) <= budget.total(("in digests",))
    opened = budget.total(("board", "in digests", "case", "muted"))
    assert opened + budget.total(("digests",)) == len({a.alert_id for a in run.alerts})


def test_evaluations_of_several_seeds_combine_by_kind() -> None:
    spike = incident("s1", IncidentKind.IOT_SPIKE, "k1")
    other = incident("s2", IncidentKind.IOT_SPIKE, "k2")
    one = evaluate([spike], [], [alert("k1", minutes=2)])
    two = evaluate([other], [], [alert("x", subject="S1"), alert("k9", subject="S9")])
    both = combine([one, two])
    [score] = both.kinds
    assert (score.incidents, score.detected, score.recall) == (2, 1, 0.5)
    assert score.median_delay == timedelta(minutes=2)
    assert len(both.incidents) == 2


def test_cli_runs_several_seeds_offline_and_prints_one_table_over_all(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["eval", "scenarios", "--seeds", "3-4", "--offline", "--days", "10", "--subjects",
            "60", "--per-day", "100", "--incidents", "1"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "seed 3:" in printed and "seed 4:" in printed and "all 2 seeds (3, 4):" in printed
    assert printed.count("dead letters:") == 3 and "NOT every one" not in printed
    # A budget per seed, and one over both seeds' days.
    assert printed.count("alert budget:") == 3 and "20.00 days of event time" in printed
