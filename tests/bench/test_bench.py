"""``creditwatch bench``: the arithmetic and formatting, and one tiny run end to end."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from creditwatch.bench.histogram import histogram_buckets, quantile, subtract
from creditwatch.bench.kafka_io import Produced, reached
from creditwatch.bench.latency import Arrivals, LatencyResult
from creditwatch.bench.profile import summarise
from creditwatch.bench.report import Row, format_table, percentile, rate, ratio
from creditwatch.bench.throughput import result_of
from creditwatch.commands import bench as bench_command

METRICS_TEXT = """\
# HELP creditwatch_event_to_alert_seconds Event time of the causing record to alert sent.
# TYPE creditwatch_event_to_alert_seconds histogram
creditwatch_event_to_alert_seconds_bucket{kind="complaint_surge",le="0.01"} 2.0
creditwatch_event_to_alert_seconds_bucket{kind="complaint_surge",le="0.1"} 6.0
creditwatch_event_to_alert_seconds_bucket{kind="complaint_surge",le="+Inf"} 8.0
creditwatch_event_to_alert_seconds_count{kind="complaint_surge"} 8.0
creditwatch_event_to_alert_seconds_sum{kind="complaint_surge"} 0.5
creditwatch_event_to_alert_seconds_bucket{kind="iot_exceedance",le="0.01"} 0.0
creditwatch_event_to_alert_seconds_bucket{kind="iot_exceedance",le="0.1"} 2.0
creditwatch_event_to_alert_seconds_bucket{kind="iot_exceedance",le="+Inf"} 2.0
creditwatch_event_to_alert_seconds_count{kind="iot_exceedance"} 2.0
creditwatch_event_to_alert_seconds_sum{kind="iot_exceedance"} 0.1
"""


# ------------------------------------------------------------------ histogram quantiles


def test_buckets_are_summed_over_label_sets() -> None:
    buckets = histogram_buckets(METRICS_TEXT, "creditwatch_event_to_alert_seconds")
    assert buckets == {0.01: 2.0, 0.1: 8.0, math.inf: 10.0}


def test_quantile_interpolates_inside_the_bucket_like_promql() -> None:
    buckets = {0.01: 2.0, 0.1: 8.0, math.inf: 10.0}
    # rank 5 of 10 lies 3/6 of the way through (0.01, 0.1]
    assert quantile(0.5, buckets) == pytest.approx(0.01 + 0.09 * 3 / 6)
    # rank 1 of 10 lies in the first bucket, which starts at 0
    assert quantile(0.1, buckets) == pytest.approx(0.005)


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    assert quantile(0.99, {0.01: 2.0, 0.1: 8.0, math.inf: 10.0}) == 0.1


def test_quantile_of_no_observations_is_none() -> None:
    assert quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    assert quantile(0.5, {}) is None


def test_quantile_rejects_a_probability_outside_0_1() -> None:
    with pytest.raises(ValueError):
        quantile(1.5, {0.1: 1.0, math.inf: 1.0})


def test_subtracting_scrapes_leaves_the_phase_observations() -> None:
    before = {0.01: 2.0, 0.1: 8.0, math.inf: 10.0}
    after = {0.01: 2.0, 0.1: 18.0, math.inf: 20.0}
    delta = subtract(after, before)
    assert delta == {0.01: 0.0, 0.1: 10.0, math.inf: 10.0}
    assert quantile(0.5, delta) == pytest.approx(0.01 + 0.09 * 0.5)


# ------------------------------------------------------------------ rates and ratios


def test_rate_and_ratio_arithmetic() -> None:
    assert rate(10_000, 4.0) == 2_500.0
    assert rate(10_000, 0.0) is None
    assert rate(0, 3.0) is None
    assert ratio(2_500.0, 10_000.0) == 0.25
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None


def test_throughput_separates_warm_up_from_steady_state() -> None:
    # launched 0, ready 5, first commit seen at 7 with 2,000 done, all 10,000 at 9
    result = result_of(10_000, 0.0, 5.0, 7.0, 2_000, 9.0)
    assert result.startup_s == 5.0
    assert result.total_rate == 2_500.0  # 10,000 in 4 s
    assert result.steady_rate == 4_000.0  # 8,000 in 2 s


def test_a_timed_out_phase_has_no_rate() -> None:
    result = result_of(10_000, 0.0, 5.0, None, 0, None)
    assert result.total_rate is None and result.steady_rate is None


def test_percentile_interpolates_between_order_statistics() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 0.5) == pytest.approx(50.5)
    assert percentile(samples, 0.99) == pytest.approx(99.01)
    assert percentile([], 0.5) is None


def test_produced_offsets_are_the_targets_a_group_must_reach() -> None:
    produced = Produced()
    for offset in (0, 1, 2):
        produced.record("iot.readings", 0, offset)
    produced.record("iot.readings", 1, 0)
    produced.record("risk.alerts", 0, 7)
    targets = produced.targets(["iot.readings"])
    assert targets == {("iot.readings", 0): 3, ("iot.readings", 1): 1}
    assert produced.count(["iot.readings"]) == 4
    assert reached({("iot.readings", 0): 3, ("iot.readings", 1): 1}, targets)
    assert not reached({("iot.readings", 0): 3}, targets)


# ------------------------------------------------------------------ table and profile


def test_table_has_aligned_columns_and_readable_numbers() -> None:
    rows = [
        Row("a.raw_consume", 301_234.7, "events/s", "aiokafka"),
        Row("latency.1000/s.alert.e2e.p99", 0.01234, "ms"),
        Row("ratio.pipeline/bare", None, "x", "timed out"),
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["name", "value", "unit", "notes"]
    assert "301,235" in lines[2] and "0.0123" in lines[3] and "—" in lines[4]
    # values are right-aligned in one column
    ends = {
        line.index(value) + len(value)
        for line, value in zip(lines[2:], ("301,235", "0.0123", "—"), strict=True)
    }
    assert len(ends) == 1


def test_profile_summary_attributes_samples_to_our_deepest_line() -> None:
    folded = [
        "thread (0x1);main (creditwatch/cli.py:41);ingest (streams/agents/ingest.py:130);"
        "process (pipeline/subject.py:120);Encoder.encode (json/encoder.py:200) 6",
        "thread (0x1);main (creditwatch/cli.py:41);"
        "Fetcher._fetcher (faust/transport/consumer.py:177) 4",
    ]
    summary = summarise(folded)
    assert summary.samples == 10
    assert dict(summary.package_share) == {"stdlib:json": 0.6, "faust": 0.4}
    assert summary.own_line_share[0] == ("process (pipeline/subject.py:120)", 0.6)
    assert ("main (creditwatch/cli.py)", 1.0) not in summary.inclusive_share


# ------------------------------------------------------------------ the command


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_command.register(parser.add_subparsers())
    return parser.parse_args(["bench", *argv])


def test_quick_options_are_smaller_and_explicit_options_win() -> None:
    config = bench_command.config_from_args(parse(["--quick", "--events", "5000"]))
    full = bench_command.config_from_args(parse([]))
    assert config.events == 5000  # type: ignore[attr-defined]
    assert config.quick and not full.quick  # type: ignore[attr-defined]
    assert config.state_counts == (100_000,)  # type: ignore[attr-defined]
    assert full.recovery_counts == (100_000, 1_000_000)  # type: ignore[attr-defined]


def test_bad_option_values_are_rejected() -> None:
    with pytest.raises(SystemExit):
        parse(["--rates", "1000,fast"])
    with pytest.raises(SystemExit):
        parse(["--events", "0"])


@pytest.mark.integration
@pytest.mark.timeout(240)  # with a fresh broker for the scale-out row
def test_smallest_bench_prints_every_row_with_a_positive_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    args = parse(
        [
            "--events", "3000",
            "--rates", "800",
            "--latency-duration", "4",
            "--drain-timeout", "20",
            "--pool-subjects", "300",
            "--pool-events", "3000",
            "--state-counts", "2000",
            "--recovery-counts", "2000",
            "--workers", "2",
            "--idle-duration", "2",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert bench_command.run(args) == 0
    rows = json.loads(out.read_text())["rows"]
    names = [row["name"] for row in rows]
    expected = [
        "input.events",
        "a.raw_consume",
        "b.bare_faust.total",
        "c.pipeline.total",
        "c.pipeline.steady",
        "c.pipeline.startup",
        "ratio.pipeline/raw",
        "ratio.pipeline/bare",
        "b.bare_faust.cpu_per_event",
        "c.pipeline.cpu_per_event",
        "ratio.pipeline/bare.cpu",
        "sink.rows",
        "sink.records",
        "sink.lag.end_of_pipeline",
        "sink.catch_up",
        "ratio.sink_rows/pipeline_events",
        "latency.800/s.offered",
        "latency.800/s.alert.worker.p50",
        "latency.800/s.alert.worker.p99",
        "latency.800/s.alert.e2e.p50",
        "latency.800/s.alert.e2e.p99",
        "latency.800/s.tier_change.e2e.p99",
        "latency.800/s.input_hop.p99",
        "latency.800/s.drain",
        "latency.800/s.alert_p99/input_hop_p99",
        "idle.worker.cpu",
        "idle.broker.cpu",
        "scale.workers.2",
        "state.bytes.mean",
        "state.bytes.p99",
        "state.rss.bytes.2k",
        "state.rss.objects.2k",
        "recovery.2k",
    ]
    assert [name for name in expected if name not in names] == []
    values = {row["name"]: row["value"] for row in rows}
    # 3,000 events may all pass before Faust's first commit (every 2.8 s), so only
    # the warm-up-excluded rates may be missing in a run this small.
    unmeasured = [
        n
        for n, v in values.items()
        if (v is None or (v <= 0 and ".lag." not in n and "idle." not in n)) and "steady" not in n
    ]
    assert unmeasured == []  # an idle process may use no measurable CPU in 2 s: 0 is fine
    assert values["sink.lag.end_of_pipeline"] is not None  # a lag of 0 is the good news
    printed = capsys.readouterr().out
    assert all(name in printed for name in expected)


def test_bench_detectors_times_every_detector_on_simulated_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "detectors.json"
    args = parse(["detectors", "--events", "4000", "--subjects", "400", "--json", str(out)])
    assert bench_command.run(args) == 0
    values = {row["name"]: row["value"] for row in json.loads(out.read_text())["rows"]}
    detectors = [
        "per-subject processing (process)",
        "decode+step (ingest's pure work)",
        "IoT anomaly detector",
        "peer outliers",
        "cross-sector",
        "department mix",
        "cross-region",
        "peer group state",
        "cross-region state",
        "department-mix state",
    ]
    assert [name for name in detectors if not (values.get(name) or 0) > 0] == []
    assert "IoT target" in capsys.readouterr().out


@pytest.mark.integration
def test_bench_sends_times_every_way_a_worker_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sends.json"
    assert bench_command.run(parse(["sends", "--events", "300", "--json", str(out)])) == 0
    values = {row["name"]: row["value"] for row in json.loads(out.read_text())["rows"]}
    ways = ["topic_send", "produce", "table_set", "write_through"]
    assert [w for w in ways if not (values.get(f"sends.{w}") or 0) > 0] == []
    printed = capsys.readouterr().out
    assert all(f"sends.{way}" in printed for way in ways)


@pytest.mark.integration
def test_bench_backtest_stores_reads_and_replays_a_simulated_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "backtest.json"
    args = ["backtest", "--subjects", "300", "--days", "2", "--per-day", "3", "--json", str(out)]
    assert bench_command.run(parse(args)) == 0
    values = {row["name"]: row["value"] for row in json.loads(out.read_text())["rows"]}
    rates = ["backtest.store", "backtest.read", "backtest.replay"]
    assert [name for name in rates if not (values.get(name) or 0) > 0] == []
    assert values["backtest.moved"] is not None
    assert "records/s" in capsys.readouterr().out


# ------------------------------------------------------------------ what the latency rows count

SINCE = 1_772_413_000.0  # 2026-03-02T08:56:40+08:00, the phase's start
RAISED = "2026-03-02T09:00:00+08:00"  # 1772413200.0


def alert_record(event: str, alert_id: str = "a1", kind: str = "rule", **more: object) -> dict:
    return {"alert_id": alert_id, "kind": kind, "event": event, "created_at": RAISED, **more}


def test_only_an_alerts_opened_snapshot_is_timed_end_to_end() -> None:
    result = LatencyResult(target_rate=1000.0, duration_s=20.0)
    arrivals = Arrivals(result, SINCE)
    arrivals.received("risk.alerts", alert_record("opened"), now=1_772_413_200.25)
    # Later snapshots of the same alert keep its first created_at: seconds later they
    # would read as seconds of latency.
    for event in ("repeated", "escalated", "acknowledged", "resolved"):
        arrivals.received("risk.alerts", alert_record(event), now=1_772_413_209.0)
    assert result.alert_e2e_s == [pytest.approx(0.25)]
    assert result.alert_e2e_by_kind == {"rule": [pytest.approx(0.25)]}
    assert result.alert_e2e_first_second_s == []  # raised 200 s into the phase


def test_alerts_raised_before_the_phase_are_not_timed() -> None:
    result = LatencyResult(target_rate=1000.0, duration_s=20.0)
    arrivals = Arrivals(result, since=1_772_413_300.0)  # after RAISED
    arrivals.received("risk.internal.alert-candidates", alert_record("opened"), now=1.8e9)
    arrivals.received("risk.alerts", alert_record("opened"), now=1.8e9)
    assert result.alert_e2e_s == [] and result.candidate_hop_s == []


def test_an_alerts_time_splits_into_its_candidate_hop_and_the_managers_hop() -> None:
    result = LatencyResult(target_rate=1000.0, duration_s=20.0)
    arrivals = Arrivals(result, SINCE)
    candidates = "risk.internal.alert-candidates"
    arrivals.received(candidates, alert_record("opened", "a1", "iot"), now=1_772_413_200.1)
    arrivals.received(candidates, alert_record("opened", "a2", "rule"), now=1_772_413_200.2)
    # A command to the manager is not a candidate.
    command = {"command": {"action": "ack", "alert_id": "a1", "created_at": RAISED}}
    arrivals.received(candidates, command, now=1_772_413_200.3)
    arrivals.received("risk.alerts", alert_record("opened", "a1", "iot"), now=1_772_413_200.4)
    arrivals.received("risk.alerts", alert_record("opened", "a3", "rule"), now=1_772_413_200.5)
    assert result.candidate_hop_s == [pytest.approx(0.1), pytest.approx(0.2)]
    assert result.manager_hop_s == [pytest.approx(0.3)]  # a3's candidate was not seen
    assert result.manager_hop_by_kind == {"iot": [pytest.approx(0.3)]}
    assert sorted(result.candidate_hop_by_kind) == ["iot", "rule"]
    assert sorted(result.alert_e2e_by_kind) == ["iot", "rule"]


def test_tier_changes_are_timed_from_their_effective_time() -> None:
    result = LatencyResult(target_rate=1000.0, duration_s=20.0)
    Arrivals(result, SINCE).received(
        "risk.tier-changes", {"effective_at": RAISED}, now=1_772_413_200.5
    )
    assert result.tier_change_e2e_s == [pytest.approx(0.5)]


def test_the_latency_suite_runs_only_the_latency_phases() -> None:
    config = bench_command.config_from_args(parse(["latency", "--quick", "--rates", "1000"]))
    assert config.latency_only and config.rates == (1000.0,)  # type: ignore[attr-defined]
    assert not bench_command.config_from_args(parse(["--quick"])).latency_only  # type: ignore[attr-defined]


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_bench_recovery_times_a_worker_start_over_a_filled_changelog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "recovery.json"
    args = ["recovery", "--recovery-counts", "3000", "--pool-subjects", "200"]
    args += ["--pool-events", "2000", "--logs", str(tmp_path / "logs"), "--json", str(out)]
    assert bench_command.run(parse(args)) == 0
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["recovery.3k"]["value"] > 0 and "first start" in rows["recovery.3k"]["notes"]
    assert rows["recovery.3k.rss"]["value"] > 0
    assert not any(name.startswith(("failed:", "c.", "latency.")) for name in rows)
    # The timed worker read the states the bench wrote and had nothing to re-grade.
    log = (tmp_path / "logs" / "recovery-3k" / "recovery-3000.log").read_text()
    assert "subject-state: read 3000 changelog records" in log
    assert "re-graded" not in log
    assert "recovery.3k" in capsys.readouterr().out
