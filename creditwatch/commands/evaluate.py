"""``creditwatch eval``: evaluation of the detectors.

``eval nab`` scores the IoT detector offline on the NAB benchmark; ``eval
scenarios`` runs labelled incidents through the whole pipeline on the embedded
broker and scores the alerts it raises.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from creditwatch.evaluation import nab
from detectors.iot import StreamAnomalyDetector

if TYPE_CHECKING:
    from creditwatch.evaluation.alert_budget import AlertBudget, AlertTally
    from creditwatch.evaluation.scenario_scoring import Evaluation, ObservedAlert
    from creditwatch.evaluation.scenarios import Scenario

# The NAB subset ships next to the repository checkout in this workspace; the
# absolute path covers running from elsewhere.
NAB_DIR_CANDIDATES = (Path("..") / "shared" / "nab", Path("/work/shared/nab"))


def default_nab_dir() -> Path:
    """First candidate holding ``labels/combined_windows.json``; else the first one."""
    for candidate in NAB_DIR_CANDIDATES:
        if (candidate / nab.LABELS_PATH).is_file():
            return candidate
    return NAB_DIR_CANDIDATES[0]


def score_series(series: nab.LabelledSeries) -> list[float]:
    """A fresh default detector per file, fed strictly in order."""
    detector = StreamAnomalyDetector()
    return [detector.update(t, v) for t, v in zip(series.timestamps, series.values, strict=True)]


def _progress(index: int, total: int, series: nab.LabelledSeries) -> None:
    print(
        f"[{index + 1}/{total}] {series.name} ({len(series.values)} rows)",
        file=sys.stderr,
        flush=True,
    )


def run_nab(args: argparse.Namespace) -> int:
    root: Path = args.directory if args.directory is not None else default_nab_dir()
    try:
        corpus = nab.load_corpus(root)
    except (OSError, ValueError, KeyError) as exc:
        print(f"creditwatch eval nab: cannot load a NAB corpus from {root}: {exc}", file=sys.stderr)
        return 2
    rows = sum(len(series.values) for series in corpus)
    print(f"scoring {len(corpus)} files, {rows} rows from {root}", file=sys.stderr)
    started = time.perf_counter()
    scores = nab.run_detector(corpus, score_series, progress=_progress)
    elapsed = time.perf_counter() - started
    print(
        f"detector: {rows / elapsed:,.0f} updates/s; optimising thresholds...",
        file=sys.stderr,
        flush=True,
    )
    print(nab.format_report(nab.score_corpus(corpus, scores)))
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse_seeds(text: str) -> list[int]:
    """``"3"``, ``"1,4,9"`` or ``"101-110"`` (or a mix) as a list of seeds.

    >>> parse_seeds("1-3,7")
    [1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        seeds += range(int(first), int(last or first) + 1)
    if not seeds:
        raise argparse.ArgumentTypeError("no seed given")
    return seeds


def run_scenarios(args: argparse.Namespace) -> int:
    # Imported here: they pull in the embedded stack and Kafka clients, which
    # `eval nab` and `--help` do not need.
    from creditwatch.embedded import EmbeddedError
    from creditwatch.evaluation import scenario_report as report
    from creditwatch.evaluation.alert_budget import combine_budgets
    from creditwatch.evaluation.scenario_offline import expected_dead_letters
    from creditwatch.evaluation.scenario_runner import PipelineError
    from creditwatch.evaluation.scenario_scoring import combine
    from creditwatch.evaluation.scenarios import ScenarioConfig, build_scenario

    seeds: list[int] = args.seeds or [args.seed]
    evaluations: list[Evaluation] = []
    budgets: list[AlertBudget] = []
    dead_letters = bad_records = 0
    for seed in seeds:
        try:
            config = ScenarioConfig(
                seed=seed,
                days=args.days,
                subjects=args.subjects,
                background_per_day=args.per_day,
                incidents_per_kind=args.incidents,
            )
            scenario = build_scenario(config)
        except ValueError as exc:
            print(f"creditwatch eval scenarios: {exc}", file=sys.stderr)
            return 2
        _stderr(
            f"scenario seed {seed}: {len(scenario.records):,} records over {config.days} days "
            f"({scenario.background_records:,} background), {len(scenario.incidents)} incidents, "
            f"{len(scenario.controls)} controls, {scenario.cast_subjects} scripted subjects"
        )
        try:
            ran = _run(scenario, args)
        except (PipelineError, EmbeddedError) as exc:
            print(f"creditwatch eval scenarios: {exc}", file=sys.stderr)
            return 1
        evaluation = evaluate_run(scenario, ran.alerts, args.fp_budget)
        evaluations.append(evaluation)
        subjects = scenario.city_subjects + scenario.cast_subjects
        budget = ran.tally.budget(subjects, days=config.days, records=len(scenario.records))
        budgets.append(budget)
        bad = expected_dead_letters(scenario.records)
        if len(seeds) > 1:
            print(f"seed {seed}:")
        print(report.format_table(evaluation))
        dead_letters, bad_records = dead_letters + ran.dead_letters, bad_records + bad
        verdict = "every one" if ran.dead_letters == bad else "NOT every one"
        print(f"dead letters: {ran.dead_letters} of the {bad} bad records ({verdict})")
        print()
        print(budget.report())
        if len(seeds) == 1:
            facts = report.RunFacts(
                len(scenario.records), ran.seconds, evaluation.total_alerts, budget
            )
            args.report.write_text(report.render_html(scenario, evaluation, facts), "utf-8")
            print(f"report: {args.report}")
            if args.json is not None:
                document = report.to_json(scenario, evaluation, facts)
                args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False), "utf-8")
                print(f"json: {args.json}")
    if len(seeds) > 1:
        combined = combine(evaluations)
        print(f"all {len(seeds)} seeds ({_seed_list(seeds)}):")
        print(report.format_table(combined).split("\n\n", 1)[0])
        print(
            f"alerts on controls: {combined.control_false_positives}; dead letters: "
            f"{dead_letters} of the {bad_records} bad records"
        )
        print()
        print(combine_budgets(budgets).report())
    return 0


class _Ran(NamedTuple):
    """What one run of a scenario gave: the alerts it opened, its dead letters, its
    seconds, and every alert snapshot counted for the budget."""

    alerts: list[ObservedAlert]
    dead_letters: int
    seconds: float
    tally: AlertTally


def _run(scenario: Scenario, args: argparse.Namespace) -> _Ran:
    """The run of a scenario through the real pipeline, or with ``--offline`` through
    the pure steps in this process."""
    if args.offline:
        from creditwatch.embedded import embedded_pseudonym_key
        from creditwatch.evaluation.scenario_offline import run_offline
        from detectors.policy import default_policy
        from pipeline.context import StepContext
        from streams.settings import pseudonym_secret

        context = StepContext(default_policy(), pseudonym_secret(embedded_pseudonym_key()))
        started = time.perf_counter()
        offline = run_offline(scenario.records, context)
        dead = sum(offline.dead_letters.values())
        return _Ran(offline.alerts, dead, time.perf_counter() - started, offline.tally)
    from creditwatch.evaluation.scenario_runner import RunSettings, run_pipeline

    settings = RunSettings(partitions=args.partitions, timeout=args.timeout)
    run = run_pipeline(scenario.records, settings, progress=_stderr)
    return _Ran(run.alerts, run.dead_letters, run.seconds, run.tally)


def evaluate_run(scenario: Scenario, alerts: list[ObservedAlert], fp_budget: int) -> Evaluation:
    from creditwatch.evaluation.scenario_scoring import evaluate

    return evaluate(scenario.incidents, scenario.controls, alerts, fp_budget=fp_budget)


def _seed_list(seeds: list[int]) -> str:
    return ", ".join(str(s) for s in seeds)


def _add_scenarios(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = benchmarks.add_parser(
        "scenarios",
        help="inject labelled incidents into simulated traffic and score the pipeline's alerts",
        description=(
            "Simulate a city's traffic for some days, inject labelled incidents of every kind "
            "(IoT spikes, level shifts and drifts; peer outliers; cross-sector cases, also via a "
            "shared legal representative; multi-county complaint surges) plus clean and "
            "near-miss controls, run the real pipeline on the embedded broker, and print "
            "recall, precision, F1 and median detection delay (event time) per kind, the "
            "alerts on controls and the alert budget. Writes an HTML report with plots. "
            "Targets (recall >= 0.95, precision >= 0.90) are printed, not enforced: the exit "
            "code is 0 whenever the run completes. Progress goes to stderr. "
            "See docs/anomaly-detection.md."
        ),
    )
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument(
        "--seeds",
        type=parse_seeds,
        help="several seeds, e.g. 101-110 or 1,4,9: a table per seed and one over all "
        "(no HTML or JSON report); overrides --seed",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="run the pipeline's pure steps in this process instead of a worker on the "
        "embedded broker: seconds instead of minutes, one record at a time (no batches, "
        "partitions or changelogs); for tuning and many seeds, not the figure to report",
    )
    parser.add_argument("--days", type=int, default=14, help="simulated days (default 14, min 10)")
    parser.add_argument(
        "--subjects", type=int, default=300, help="subjects of the simulated city (default 300)"
    )
    parser.add_argument(
        "--per-day",
        type=int,
        default=2_500,
        help="background records per simulated day (default 2500)",
    )
    parser.add_argument("--incidents", type=int, default=5, help="incidents per kind (default 5)")
    parser.add_argument(
        "--fp-budget",
        type=int,
        default=0,
        help="alerts on controls tolerated before the report says over budget (default 0)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("scenario-report.html"),
        help="HTML report to write (default scenario-report.html)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--partitions", type=int, default=2, help="partitions per topic (default 2)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds the pipeline may take once started (default 900)",
    )
    parser.set_defaults(func=run_scenarios)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` sub-command with its own sub-commands."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate the detectors offline",
        description="Offline evaluation of the detectors against labelled benchmarks.",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    nab_parser = benchmarks.add_parser(
        "nab",
        help="score the IoT stream detector with the NAB method",
        description=(
            "Run the default IoT stream detector over every labelled file of a NAB-layout "
            "folder (data/<folder>/<file>.csv and labels/combined_windows.json), then print "
            "the NAB score per profile (null detector 0, perfect 100), in sample and leave "
            "one folder out (each folder at the threshold chosen on the others), and per file. "
            "Progress goes to stderr."
        ),
    )
    nab_parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="NAB-layout folder (default: ../shared/nab if it exists, else /work/shared/nab)",
    )
    nab_parser.set_defaults(func=run_nab)
    _add_scenarios(benchmarks)
