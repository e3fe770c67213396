"""``creditwatch bench``: throughput, latency, state size and recovery in one run;
``creditwatch bench detectors``: each detector's own speed, without a broker;
``creditwatch bench recovery``: the recovery rows alone."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

DEFAULT_JSON = Path("artifacts/bench.json")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text}")
    return values


def _rates(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive rates, got {text}")
    return values


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure throughput, latency, state size and recovery on an embedded broker",
        description=(
            "Start an embedded broker and Redis, pre-load simulated input and measure: "
            "(a) a raw aiokafka consumer, (b) a bare hand-written Faust app, (c) the "
            "creditwatch pipeline; event-to-alert latency at fixed offered rates; "
            "subject-state size and memory; changelog recovery time. Prints a table "
            "and writes JSON. The full run takes several minutes; --quick about five."
        ),
    )
    parser.add_argument(
        "suite",
        nargs="?",
        choices=("pipeline", "latency", "detectors", "sends", "backtest", "recovery"),
        default="pipeline",
        help="pipeline (default): the broker-backed run; latency: only its latency "
        "phases, after the worker has read the pre-loaded input; detectors: each detector's "
        "events/s on one core, no broker; sends: microseconds per record for each way "
        "a worker writes to Kafka; backtest: records/s of `creditwatch policy backtest` "
        "on a simulated city's history in an embedded PostgreSQL; recovery: worker start "
        "→ ready over a changelog of --recovery-counts subjects, the first start on the "
        "empty changelog beside it",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, every row")
    parser.add_argument("--events", type=_positive_int, help="pre-loaded input records")
    parser.add_argument("--subjects", type=_positive_int, help="simulated city size")
    parser.add_argument("--partitions", type=_positive_int, help="partitions per topic")
    parser.add_argument("--seed", type=int, help="simulator seed")
    parser.add_argument(
        "--days", type=_positive_float, help="days of history (backtest; default 30)"
    )
    parser.add_argument(
        "--per-day",
        type=_positive_float,
        help="records per subject per day (backtest; default 4)",
    )
    parser.add_argument("--rates", type=_rates, help="offered rates for latency, e.g. 1000,5000")
    parser.add_argument(
        "--latency-duration", type=_positive_float, help="seconds of live traffic per rate"
    )
    parser.add_argument(
        "--drain-timeout", type=_positive_float, help="seconds to wait for the worker to catch up"
    )
    parser.add_argument("--pool-subjects", type=_positive_int, help="subjects simulated for sizes")
    parser.add_argument("--pool-events", type=_positive_int, help="events simulated for sizes")
    parser.add_argument("--state-counts", type=_ints, help="subjects held for RSS, e.g. 100000")
    parser.add_argument(
        "--recovery-counts", type=_ints, help="subjects in the changelog, e.g. 100000,1000000"
    )
    parser.add_argument(
        "--workers",
        type=_ints,
        help="worker counts of the scale-out rows, each on a fresh broker (default 1,2)",
    )
    parser.add_argument(
        "--idle-duration", type=_positive_float, help="seconds of the idle-CPU measurement"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="?",
        const=Path("artifacts/profile.folded"),
        help="sample the worker with py-spy during (c), or through the largest recovery "
        "with `bench recovery` (folded stacks; default %(const)s)",
    )
    parser.add_argument("--logs", type=Path, help="keep process logs here (default: temporary)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="results file (default %(default)s)"
    )
    parser.set_defaults(func=run)


OPTION_FIELDS = {
    "events": "events",
    "subjects": "subjects",
    "partitions": "partitions",
    "seed": "seed",
    "rates": "rates",
    "latency_duration": "latency_s",
    "drain_timeout": "drain_timeout_s",
    "pool_subjects": "pool_subjects",
    "pool_events": "pool_events",
    "state_counts": "state_counts",
    "recovery_counts": "recovery_counts",
    "workers": "scale_workers",
    "idle_duration": "idle_s",
    "profile": "profile",
    "logs": "log_dir",
}


def config_from_args(args: argparse.Namespace) -> object:
    from creditwatch.bench.runner import BenchConfig

    config = BenchConfig.quick_defaults() if args.quick else BenchConfig()
    if args.suite == "latency":
        config = replace(config, latency_only=True)
    overrides = {
        field: getattr(args, option)
        for option, field in OPTION_FIELDS.items()
        if getattr(args, option) is not None
    }
    return replace(config, **overrides)


def run_detectors(args: argparse.Namespace) -> int:
    from creditwatch.bench.detectors import bench_detectors
    from creditwatch.bench.report import format_table, write_json
    from creditwatch.bench.runner import say

    events = args.events or (20_000 if args.quick else 100_000)
    subjects = args.subjects or (2_000 if args.quick else 10_000)
    seed = 1 if args.seed is None else args.seed
    say(f"simulating {events} records for {subjects} subjects, then timing each detector")
    rows = bench_detectors(events, subjects, seed)
    print(format_table(rows))
    path = (
        args.json if args.json != DEFAULT_JSON else DEFAULT_JSON.with_name("bench-detectors.json")
    )
    write_json(path, rows, {"events": events, "subjects": subjects, "seed": seed})
    say(f"results written to {path}")
    return 0


def run_sends(args: argparse.Namespace) -> int:
    from creditwatch.bench.report import format_table, write_json
    from creditwatch.bench.runner import say
    from creditwatch.bench.send_costs import bench_sends

    records = args.events or (2_000 if args.quick else 20_000)
    say(f"timing {records:,} records each way in a worker on an embedded broker")
    rows = bench_sends(records)
    print(format_table(rows))
    path = args.json if args.json != DEFAULT_JSON else DEFAULT_JSON.with_name("bench-sends.json")
    write_json(path, rows, {"records": records})
    say(f"results written to {path}")
    return 0


def run_backtest(args: argparse.Namespace) -> int:
    from creditwatch.bench.backtest import bench_backtest
    from creditwatch.bench.report import format_table, write_json
    from creditwatch.bench.runner import say

    subjects = args.subjects or (1_000 if args.quick else 10_000)
    days = args.days or (3.0 if args.quick else 30.0)
    per_day = args.per_day or 4.0
    seed = 1 if args.seed is None else args.seed
    rows = bench_backtest(subjects, days, per_day, seed)
    config = {"subjects": subjects, "days": days, "per_day": per_day, "seed": seed}
    print(format_table(rows))
    path = args.json if args.json != DEFAULT_JSON else DEFAULT_JSON.with_name("bench-backtest.json")
    write_json(path, rows, config)
    say(f"results written to {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    from creditwatch.embedded import embedded_pseudonym_key
    from streams.settings import PSEUDONYM_KEY_VARIABLE

    # A benchmark is a throwaway deployment: the detectors it runs in this process
    # and the workers it starts share one random pseudonym key.
    os.environ.setdefault(PSEUDONYM_KEY_VARIABLE, embedded_pseudonym_key())
    if args.suite == "detectors":
        return run_detectors(args)
    if args.suite == "sends":
        return run_sends(args)
    if args.suite == "backtest":
        return run_backtest(args)
    # Imported late: the bench pulls in aiokafka and the simulator.
    from creditwatch.bench.profile import format_summary, py_spy_path, summarise
    from creditwatch.bench.report import format_table, write_json
    from creditwatch.bench.runner import BenchConfig, run_bench, run_recovery_bench, say

    config = config_from_args(args)
    assert isinstance(config, BenchConfig)
    if config.profile is not None and py_spy_path() is None:
        print("creditwatch bench: --profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return 2
    if args.suite == "recovery":
        result = run_recovery_bench(config)
        path = (
            args.json
            if args.json != DEFAULT_JSON
            else DEFAULT_JSON.with_name("bench-recovery.json")
        )
    else:
        result, path = run_bench(config), args.json
    print(format_table(result.rows))
    if config.profile is not None and config.profile.exists():
        print()
        print(format_summary(summarise(config.profile.read_text(errors="replace").splitlines())))
    write_json(path, result.rows, config.as_dict(), result.extra)
    say(f"results written to {path}")
    failed = [row.name for row in result.rows if row.name.startswith("failed:")]
    return 1 if failed else 0
