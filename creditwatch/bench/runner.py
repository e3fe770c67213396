"""The whole benchmark run, phase by phase, with every process it starts stopped at the end.

Throughput phases run one after another on one embedded broker and one
pre-loaded input, so (a), (b) and (c) read exactly the same records and never
compete for the two cores. The latency phases reuse the pipeline's worker
once it has caught up. State size needs no broker; each recovery size gets a
fresh broker so earlier topics do not inflate the replay.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from creditwatch.bench import idle, latency, profile, raw_consume, recovery, sink, state_size
from creditwatch.bench.histogram import quantile
from creditwatch.bench.kafka_io import GroupOffsets, Produced, produce_all
from creditwatch.bench.report import (
    CpuTimes,
    Row,
    load_average,
    percentile,
    rate,
    ratio,
    steal_note,
)
from creditwatch.bench.throughput import (
    ModuleProcess,
    ThroughputResult,
    WorkerGroup,
    run_group_phase,
)
from creditwatch.embedded import EmbeddedStack
from creditwatch.processes import SinkProcess, WorkerProcess
from creditwatch.simulation import Simulator, wall_clock
from creditwatch.simulation.traffic import DEFAULT_BAD_RATIO, DEFAULT_DUPLICATE_RATIO
from creditwatch.topic_admin import create_topics
from streams.serving.view import PROFILE_REFRESH_MAX_S
from topics.catalogue import ALL_TOPICS, INPUT_TOPICS

INPUT_NAMES = tuple(spec.name for spec in INPUT_TOPICS)
PIPELINE_GROUP = "creditwatch"
BARE_GROUP = "creditwatch-bench-bare"
MS = 1000.0
MB = 1024.0 * 1024.0


@dataclass(frozen=True)
class BenchConfig:
    events: int = 100_000
    subjects: int = 10_000
    partitions: int = 4
    seed: int = 1
    rates: tuple[float, ...] = (1000.0, 5000.0)
    latency_s: float = 20.0
    drain_timeout_s: float = 90.0
    pool_subjects: int = 10_000
    pool_events: int = 100_000
    state_counts: tuple[int, ...] = (100_000, 1_000_000)
    recovery_counts: tuple[int, ...] = (100_000, 1_000_000)
    #: Quiet seconds over which the idle worker's and broker's CPU is measured.
    idle_s: float = 30.0
    #: Worker counts of the scale-out phase, each on a fresh broker.
    scale_workers: tuple[int, ...] = (1, 2)
    phase_timeout_s: float = 900.0
    profile: Path | None = None
    quick: bool = False
    #: Only the latency phases (after a warm-up on the pre-loaded input): ``bench latency``.
    latency_only: bool = False
    log_dir: Path | None = None  # default: a temporary directory, removed afterwards

    @classmethod
    def quick_defaults(cls) -> BenchConfig:
        """Every row, smaller: three to six minutes on a 2-core machine."""
        return cls(
            # Phase (c) ends at a commit, and Faust commits every 2.8 s: at 20,000 events
            # (about 4 s of pipeline) the commit interval decided much of the rate. 60,000
            # cost the whole run about 10 s more.
            events=60_000,
            latency_s=20.0,  # the burst: 5k/s for 20 s
            drain_timeout_s=60.0,
            pool_subjects=3_000,
            pool_events=30_000,
            state_counts=(100_000,),
            recovery_counts=(50_000,),
            quick=True,
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def say(message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def every(seconds: float, show: Callable[[int], str]) -> Callable[[int], None]:
    """A progress callback that prints at most once per ``seconds``."""
    last = [0.0]

    def update(value: int) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            say(show(value))

    return update


@dataclass
class BenchRun:
    """Rows gathered so far and the extras (profile summary) for the JSON file."""

    config: BenchConfig
    rows: list[Row] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def scaled(self, note: str) -> str:
        return f"[quick: scaled] {note}" if self.config.quick else note

    def add(self, name: str, value: float | None, unit: str, notes: str = "") -> None:
        self.rows.append(Row(name, value, unit, notes))


def run_bench(config: BenchConfig) -> BenchRun:
    run = BenchRun(config)
    with _timed(run):
        with ExitStack() as cleanup:
            log_dir = config.log_dir
            if log_dir is None:
                log_dir = Path(
                    cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-"))
                )
            log_dir.mkdir(parents=True, exist_ok=True)
            if config.latency_only:
                guarded(run, "latency phases", lambda: _latency_only(run, log_dir, cleanup))
            else:
                guarded(run, "broker phases", lambda: _broker_phases(run, log_dir, cleanup))
        if config.latency_only:
            return run
        for workers in config.scale_workers:
            guarded(run, f"scale.workers.{workers}", partial(_scale_row, run, workers))
        pool = _state_phase(run)
        if pool:
            _recovery_phase(run, pool)
    return run


@contextmanager
def _timed(run: BenchRun) -> Iterator[None]:
    """Record the load average around the run, and its wall time: other work on the
    machine moves every number."""
    run.extra["load_average_at_start"] = load_average()
    started = time.monotonic()
    yield
    run.extra["load_average_at_end"] = load_average()
    run.extra["wall_time_s"] = round(time.monotonic() - started, 1)
    say(
        f"done in {run.extra['wall_time_s']:.0f} s; load average "
        f"{run.extra['load_average_at_start']} at start, {run.extra['load_average_at_end']} at end"
    )


def guarded(run: BenchRun, what: str, phase: Callable[[], object]) -> bool:
    """Run one phase; a failure becomes a row saying so, and the other phases still run."""
    try:
        phase()
        return True
    except Exception as exc:  # noqa: BLE001 (reported in the table, with the traceback on stderr)
        say(f"{what} failed:\n{traceback.format_exc()}")
        detail = " ".join(str(exc).split())  # one line in the table
        run.add(f"failed: {what}", None, "", f"{type(exc).__name__}: {detail[:300]}")
        return False


# ------------------------------------------------------------------ broker phases


@dataclass
class Preloaded:
    """A started stack with the simulator's first records on its input topics."""

    stack: EmbeddedStack
    simulator: Simulator
    produced: Produced
    targets: dict[tuple[str, int], int]
    events: int


def _preload(run: BenchRun, log_dir: Path, cleanup: ExitStack) -> Preloaded:
    config = run.config
    stack = cleanup.enter_context(EmbeddedStack(workdir=log_dir / "stack"))
    create_topics(stack.bootstrap, ALL_TOPICS, config.partitions)
    simulator = Simulator(seed=config.seed, subjects=config.subjects, clock=wall_clock)
    produced = Produced()

    say(f"pre-loading {config.events:,} simulator records")
    started = time.monotonic()
    records = simulator.take(config.events)
    generated = time.monotonic()
    asyncio.run(
        produce_all(stack.bootstrap, ((r.topic, r.key, r.value) for r in records), produced)
    )
    load_s = time.monotonic() - generated
    del records
    targets = produced.targets(INPUT_NAMES)
    events = sum(targets.values())
    run.add(
        "input.events",
        events,
        "events",
        run.scaled(
            f"{config.subjects:,} subjects, {config.partitions} partitions, "
            f"bad {DEFAULT_BAD_RATIO:.1%}, duplicates {DEFAULT_DUPLICATE_RATIO:.1%}; "
            f"generated in {generated - started:.1f} s"
        ),
    )
    run.add("input.preload", rate(events, load_s), "events/s", "aiokafka producer, batched")
    return Preloaded(stack, simulator, produced, targets, events)


def _latency_only(run: BenchRun, log_dir: Path, cleanup: ExitStack) -> None:
    """``bench latency``: the worker reads the pre-loaded input (a warm-up, so its
    tables hold the subjects), then the latency phases; no other phase."""
    config = run.config
    loaded = _preload(run, log_dir, cleanup)
    stack = loaded.stack
    offsets = GroupOffsets(stack.bootstrap)
    cleanup.callback(offsets.close)
    say("warm-up: the creditwatch pipeline reads the pre-loaded input")
    worker = WorkerProcess(log_dir, stack.kafka_url, stack.redis_url, partitions=config.partitions)
    cleanup.callback(worker.stop)
    warm_up = run_group_phase(
        worker,
        offsets,
        PIPELINE_GROUP,
        loaded.targets,
        timeout=config.phase_timeout_s,
        progress=every(5.0, lambda n: f"warm-up committed {n:,}/{loaded.events:,}"),
    )
    run.add("warm_up.pipeline.total", warm_up.total_rate, "events/s", _cpu_note(warm_up))
    _latency_phases(run, loaded, offsets, worker)
    worker.stop()


def _latency_phases(
    run: BenchRun, loaded: Preloaded, offsets: GroupOffsets, worker: WorkerProcess
) -> None:
    """Each offered rate in turn, once the worker has finished its internal topics."""
    config, bootstrap = run.config, loaded.stack.bootstrap
    for target in sorted(config.rates):
        say("waiting for the worker to finish its internal topics")
        idle = asyncio.run(
            latency.wait_idle(bootstrap, offsets, PIPELINE_GROUP, config.drain_timeout_s)
        )
        say(f"latency at {target:,.0f} events/s for {config.latency_s:.0f} s")
        cpu_at_start = CpuTimes.now()
        result = asyncio.run(
            latency.run_latency_phase(
                bootstrap,
                f"http://127.0.0.1:{worker.web_port}/metrics",
                loaded.simulator,
                loaded.produced,
                offsets,
                rate=target,
                duration=config.latency_s,
                drain_timeout=config.drain_timeout_s,
                partitions=config.partitions,
                group=PIPELINE_GROUP,
                progress=say,
            )
        )
        _latency_rows(run, result, steal_note(cpu_at_start) + ("" if idle else "started busy; "))


def _broker_phases(run: BenchRun, log_dir: Path, cleanup: ExitStack) -> None:
    config = run.config
    loaded = _preload(run, log_dir, cleanup)
    stack, targets, events = loaded.stack, loaded.targets, loaded.events

    say("(a) raw consume")
    raw = asyncio.run(raw_consume.raw_consume(stack.bootstrap, targets, config.phase_timeout_s))
    raw_rate = rate(raw.events, raw.seconds)
    run.add(
        "a.raw_consume",
        raw_rate,
        "events/s",
        f"aiokafka assign() + orjson.loads, {raw.events:,} in {raw.seconds:.2f} s",
    )

    offsets = GroupOffsets(stack.bootstrap)
    cleanup.callback(offsets.close)

    say("(b) bare Faust app")
    bare = ModuleProcess(
        "bare-faust",
        "creditwatch.bench.bare_faust",
        log_dir,
        env={
            "BENCH_KAFKA": stack.kafka_url,
            "BENCH_PARTITIONS": str(config.partitions),
            "BENCH_DATA_DIR": str(log_dir / "bare-data"),
        },
    )
    cpu_at_start = CpuTimes.now()
    try:
        bare_result = run_group_phase(
            bare,
            offsets,
            BARE_GROUP,
            targets,
            timeout=config.phase_timeout_s,
            progress=every(5.0, lambda n: f"(b) committed {n:,}/{events:,}"),
        )
    finally:
        bare.stop()
    _throughput_rows(run, "b.bare_faust", bare_result, steal_note(cpu_at_start))

    say("(c) creditwatch pipeline, with the archive sink alongside")
    worker = WorkerProcess(log_dir, stack.kafka_url, stack.redis_url, partitions=config.partitions)
    cleanup.callback(worker.stop)
    assert stack.database_url is not None
    archive = SinkProcess(log_dir, stack.kafka_url, stack.database_url)
    cleanup.callback(archive.stop)
    profiler: list[subprocess.Popen[bytes]] = []
    sink_start: list[sink.SinkCounts] = []

    def on_ready() -> None:
        sink_start.append(sink.counts_now(archive))
        if config.profile is not None and worker.pid is not None:
            say(f"profiling worker pid {worker.pid} with py-spy")
            profiler.append(profile.start_profiler(worker.pid, config.profile, 3600))

    cpu_at_start = CpuTimes.now()
    archive.start()
    try:
        pipeline = run_group_phase(
            worker,
            offsets,
            PIPELINE_GROUP,
            targets,
            timeout=config.phase_timeout_s,
            on_ready=on_ready,  # profile the consuming, not the start-up
            progress=every(5.0, lambda n: f"(c) committed {n:,}/{events:,}"),
        )
    finally:
        for spy in profiler:
            _stop_profiler(spy)
    caveat = ("py-spy sampling; " if profiler else "") + steal_note(cpu_at_start)
    _throughput_rows(run, "c.pipeline", pipeline, caveat + "archive sink alongside; ")
    guarded(
        run,
        "archive sink",
        lambda: _sink_rows(run, stack.bootstrap, archive, sink_start, pipeline),
    )
    archive.stop()
    run.add("c.pipeline.startup", pipeline.startup_s, "s", "process start → ready, empty tables")
    run.add("ratio.pipeline/raw", ratio(pipeline.total_rate, raw_rate), "x", "c.total / a")
    run.add(
        "ratio.pipeline/bare", ratio(pipeline.total_rate, bare_result.total_rate), "x", "totals"
    )
    run.add(
        "ratio.pipeline/bare.steady",
        ratio(pipeline.steady_rate, bare_result.steady_rate),
        "x",
        "warm-up excluded",
    )
    run.add(
        "ratio.pipeline/bare.cpu",
        ratio(bare_result.cpu_us_per_event, pipeline.cpu_us_per_event),
        "x",
        "b.cpu_per_event / c.cpu_per_event: the throughput ratio if each had a core of its own",
    )
    if config.profile is not None and config.profile.exists():
        _profile_rows(run, config.profile)

    _latency_phases(run, loaded, offsets, worker)
    guarded(run, "idle", lambda: _idle_rows(run, stack, offsets, worker))
    worker.stop()


#: Seconds of quiet before the idle measurement: the fetch wait lengthens after ~1 s, and
#: the profiles of the subjects the last phase changed are written up to
#: PROFILE_REFRESH_MAX_S later (a refresh that took long pauses the next one): work of
#: that phase (hundreds of ms after a busy one), not of an idle worker.
IDLE_SETTLE_S = PROFILE_REFRESH_MAX_S + 1.0


def _idle_rows(
    run: BenchRun, stack: EmbeddedStack, offsets: GroupOffsets, worker: WorkerProcess
) -> None:
    """CPU of the worker and the broker with no traffic at all (issue 19: < 2 % and < 5 %)."""
    config = run.config
    say("waiting for the worker to finish its internal topics")
    quiet = asyncio.run(
        latency.wait_idle(stack.bootstrap, offsets, PIPELINE_GROUP, config.drain_timeout_s)
    )
    time.sleep(IDLE_SETTLE_S)
    assert worker.pid is not None and stack.broker is not None and stack.broker.pid is not None
    say(f"idle CPU over {config.idle_s:.0f} s")
    shares = idle.core_shares({"worker": worker.pid, "broker": stack.broker.pid}, config.idle_s)
    basis = f"CPU time over {config.idle_s:.0f} s with no traffic" + (
        "" if quiet else " (the worker had not finished its internal topics)"
    )
    run.add("idle.worker.cpu", _percent(shares["worker"]), "% core", f"{basis}; target < 2 %")
    run.add(
        "idle.broker.cpu",
        _percent(shares["broker"]),
        "% core",
        f"{basis}, polled by the one worker; target < 5 %",
    )


def _cpu_note(result: ThroughputResult) -> str:
    cpu = result.cpu_us_per_event
    return "CPU not measured" if cpu is None else f"{cpu:,.0f} µs CPU per event"


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100.0


def _scale_row(run: BenchRun, workers: int) -> None:
    """(c) again with ``workers`` worker processes in one consumer group, on a fresh broker
    (no archive sink), over the same number of simulator records."""
    config = run.config
    say(f"scale-out: {workers} worker(s) on a fresh broker")
    with ExitStack() as cleanup, tempfile.TemporaryDirectory(prefix="cw-bench-scale-") as tmp:
        log_dir = config.log_dir / f"scale-{workers}" if config.log_dir else Path(tmp)
        stack = cleanup.enter_context(EmbeddedStack(workdir=log_dir / "stack", postgres=False))
        create_topics(stack.bootstrap, ALL_TOPICS, config.partitions)
        simulator = Simulator(seed=config.seed, subjects=config.subjects, clock=wall_clock)
        produced = Produced()
        asyncio.run(
            produce_all(
                stack.bootstrap,
                ((r.topic, r.key, r.value) for r in simulator.take(config.events)),
                produced,
            )
        )
        targets = produced.targets(INPUT_NAMES)
        offsets = GroupOffsets(stack.bootstrap)
        cleanup.callback(offsets.close)
        group = WorkerGroup(
            [
                WorkerProcess(
                    log_dir,
                    stack.kafka_url,
                    stack.redis_url,
                    name=f"worker-{index}",
                    partitions=config.partitions,
                )
                for index in range(1, workers + 1)
            ]
        )
        cleanup.callback(group.stop)
        cpu_at_start = CpuTimes.now()
        result = run_group_phase(
            group,
            offsets,
            PIPELINE_GROUP,
            targets,
            timeout=config.phase_timeout_s,
            progress=every(5.0, lambda n: f"(scale {workers}) committed {n:,}"),
        )
        consume = "timed out" if result.consume_s is None else f"{result.consume_s:.1f} s"
        run.add(
            f"scale.workers.{workers}",
            result.total_rate,
            "events/s",
            run.scaled(
                f"{steal_note(cpu_at_start)}{workers} worker process(es), "
                f"{config.partitions} partitions, no sink; all ready → all "
                f"{result.events:,} committed: {consume}; {_cpu_note(result)}"
            ),
        )


def _sink_rows(
    run: BenchRun,
    bootstrap: str,
    archive: SinkProcess,
    start: list[sink.SinkCounts],
    pipeline: ThroughputResult,
) -> None:
    """The sink's rows/s while the pipeline ran, its lag when the pipeline was done,
    and how long it took to catch up."""
    end = sink.counts_now(archive)
    behind = sink.lag(bootstrap)
    catch_up = sink.wait_caught_up(bootstrap, archive, run.config.drain_timeout_s)
    first = start[0] if start else end
    seconds = end.at - first.at
    rows_rate = rate(end.rows - first.rows, seconds)
    window = f"worker ready → (c) done, {seconds:.1f} s"
    run.add(
        "sink.rows",
        rows_rate,
        "rows/s",
        f"{end.rows - first.rows:,.0f} rows written to PostgreSQL, {window}",
    )
    run.add(
        "sink.records",
        rate(end.records - first.records, seconds),
        "messages/s",
        f"inputs and derived facts stored, {window}",
    )
    run.add(
        "sink.lag.end_of_pipeline",
        behind,
        "messages",
        f"not yet stored when (c) committed its last input ({end.records:,.0f} stored by then)",
    )
    run.add(
        "sink.catch_up",
        catch_up,
        "s",
        "after (c): lag 0"
        if catch_up is not None
        else f"NOT caught up within {run.config.drain_timeout_s:.0f} s",
    )
    run.add(
        "ratio.sink_rows/pipeline_events",
        ratio(rows_rate, pipeline.total_rate),
        "x",
        "sink.rows / c.pipeline.total: rows stored per input event processed",
    )


def _stop_profiler(spy: subprocess.Popen[bytes]) -> None:
    # py-spy writes its output when interrupted, like a Ctrl-C at the terminal.
    if spy.poll() is None:
        spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
    if spy.returncode not in (0, -signal.SIGINT) and spy.stderr is not None:
        say(f"py-spy: {spy.stderr.read().decode(errors='replace').strip()[-500:]}")


def _throughput_rows(
    run: BenchRun, prefix: str, result: ThroughputResult, caveat: str = ""
) -> None:
    consume = "timed out" if result.consume_s is None else f"{result.consume_s:.1f} s"
    run.add(
        f"{prefix}.total",
        result.total_rate,
        "events/s",
        f"{caveat}ready → all {result.events:,} committed: {consume}",
    )
    steady = "—" if result.steady_s is None else f"{result.steady_s:.1f} s"
    run.add(
        f"{prefix}.steady",
        result.steady_rate,
        "events/s",
        f"{caveat}first commit → all committed ({result.steady_events:,} in {steady})",
    )
    run.add(
        f"{prefix}.cpu_per_event",
        result.cpu_us_per_event,
        "µs",
        "CPU time of the process(es), ready → all committed, per input event",
    )


def _profile_rows(run: BenchRun, folded: Path) -> None:
    summary = profile.summarise(folded.read_text(errors="replace").splitlines())
    text = profile.format_summary(summary)
    folded.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    run.extra["profile"] = {
        "folded": str(folded),
        "samples": summary.samples,
        "self_by_package": summary.package_share,
        "self_by_function": summary.self_share,
        "inclusive_by_function": summary.inclusive_share,
    }
    say(f"profile summary in {folded.with_suffix('.txt')}")


def _latency_rows(run: BenchRun, result: latency.LatencyResult, caveat: str = "") -> None:
    tag = f"latency.{result.target_rate:.0f}/s"
    saturated = f"; NOT drained: {result.backlog:,} behind" if result.backlog else "; drained"
    run.add(
        f"{tag}.offered",
        result.achieved_rate,
        "events/s",
        run.scaled(f"{caveat}{result.sent:,} sent in {result.duration_s:.0f} s{saturated}"),
    )
    buckets = result.alert_buckets
    n_hist = int(buckets.get(float("inf"), 0))
    for q in (0.5, 0.99):
        value = quantile(q, buckets)
        run.add(
            f"{tag}.alert.worker.p{q * 100:.0f}",
            None if value is None else value * MS,
            "ms",
            f"worker histogram event_to_alert, n={n_hist}",
        )
    timed = (
        ("alert.e2e", result.alert_e2e_s, "event time → opened snapshot received from "
         "risk.alerts"),
        ("tier_change.e2e", result.tier_change_e2e_s, "event time → received from "
         "risk.tier-changes"),
        ("alert.candidate", result.candidate_hop_s, "event time → candidate received from "
         "the alert manager's input"),
        ("alert.manager_hop", result.manager_hop_s, "candidate received → its opened "
         "snapshot received"),
        ("input_hop", result.input_hop_s, "sent → received by a plain consumer, no worker: "
         "one hop's floor"),
    )  # fmt: skip
    for label, samples, basis in timed:
        for q in (0.5, 0.99):
            run.add(
                f"{tag}.{label}.p{q * 100:.0f}", _ms(samples, q), "ms", f"{basis}, n={len(samples)}"
            )
    first = result.alert_e2e_first_second_s
    run.add(
        f"{tag}.alert.e2e.first_second.max",
        max(first) * MS if first else None,
        "ms",
        f"alerts of the phase's first second (the worker's fetch wait is still the idle "
        f"one), n={len(first)} of {len(result.alert_e2e_s)}",
    )
    for kind, samples in sorted(result.alert_e2e_by_kind.items()):
        run.add(
            f"{tag}.alert.e2e.{kind}.p99",
            _ms(samples, 0.99),
            "ms",
            f"p50 {_ms(samples, 0.5) or 0:,.0f} ms, n={len(samples)}; candidate "
            f"{_p50_p99_ms(result.candidate_hop_by_kind.get(kind, []))}; manager hop "
            f"{_p50_p99_ms(result.manager_hop_by_kind.get(kind, []))}",
        )
    run.add(
        f"{tag}.drain",
        result.drain_s,
        "s",
        "last record sent → every input committed (up to one 2.8 s commit interval high)"
        if result.drain_s is not None
        else f"NOT drained within {run.config.drain_timeout_s:.0f} s",
    )
    run.add(
        f"{tag}.alert_p99/input_hop_p99",
        ratio(percentile(result.alert_e2e_s, 0.99), percentile(result.input_hop_s, 0.99)),
        "x",
        "alert e2e p99 / plain-hop p99 of the same phase; target ≤ 3 at 1k/s",
    )


def _ms(samples: list[float], q: float) -> float | None:
    """The ``q`` quantile of samples in seconds, in ms (None for none)."""
    value = percentile(samples, q)
    return None if value is None else value * MS


def _p50_p99_ms(samples: list[float]) -> str:
    if not samples:
        return "not seen"
    p50, p99 = (_ms(samples, q) or 0.0 for q in (0.5, 0.99))
    return f"p50 / p99 {p50:,.0f} / {p99:,.0f} ms, n={len(samples)}"


# ------------------------------------------------------------------ state and recovery


def run_recovery_bench(config: BenchConfig) -> BenchRun:
    """``creditwatch bench recovery``: the recovery rows alone (``--profile`` samples
    the worker through the largest recovery)."""
    run = BenchRun(config)
    with _timed(run):
        pool = _pool_phase(run)
        if pool:
            _recovery_phase(run, pool, profiled=max(config.recovery_counts))
    return run


def _pool_phase(run: BenchRun) -> list[bytes]:
    """Simulated subject states (the values a changelog holds), with their size rows."""
    config = run.config
    say(f"state size: {config.pool_events:,} events over {config.pool_subjects:,} subjects")
    pools: list[list[bytes]] = []
    guarded(
        run,
        "state pool",
        lambda: pools.append(
            state_size.simulate_pool(config.pool_subjects, config.pool_events, seed=config.seed)
        ),
    )
    if not pools:
        return []
    pool = pools[0]
    stats = state_size.size_stats(pool, config.pool_events)
    basis = (
        f"{stats.subjects:,} simulated subjects, {stats.events:,} events over 30 days "
        f"(max {stats.max_bytes:,} B)"
    )
    run.add("state.bytes.mean", stats.mean_bytes, "B", run.scaled(basis))
    run.add("state.bytes.p99", stats.p99_bytes, "B", run.scaled(basis))
    return pool


def _state_phase(run: BenchRun) -> list[bytes]:
    pool = _pool_phase(run)
    if not pool:
        return pool
    config = run.config
    with tempfile.TemporaryDirectory(prefix="cw-bench-pool-") as tmp:
        pool_path = Path(tmp) / "pool.txt"
        state_size.write_pool(pool, pool_path)
        for count in config.state_counts:
            for form in state_size.FORMS:
                guarded(
                    run,
                    f"state.rss.{form}.{_count_label(count)}",
                    partial(_rss_row, run, pool_path, count, form),
                )
    return pool


def _rss_row(run: BenchRun, pool_path: Path, count: int, form: str) -> None:
    say(f"RSS of {count:,} states as {form}")
    held = state_size.measure_rss(pool_path, count, form)
    what = (
        "{uscc: state bytes} as the memory:// store"
        if form == "bytes"
        else "decoded SubjectState objects"
    )
    run.add(
        f"state.rss.{form}.{_count_label(count)}",
        held.rss_bytes / MB,
        "MB",
        run.scaled(f"{what}; {held.per_subject:,.0f} B/subject"),
    )


def _recovery_phase(run: BenchRun, pool: list[bytes], profiled: int | None = None) -> None:
    """One row per recovery count; ``--profile`` samples the worker recovering ``profiled``."""
    for count in run.config.recovery_counts:
        guarded(
            run,
            f"recovery.{_count_label(count)}",
            partial(_recovery_row, run, pool, count, profiled=count == profiled),
        )


def _recovery_row(run: BenchRun, pool: list[bytes], count: int, *, profiled: bool) -> None:
    config = run.config
    label = _count_label(count)
    say(f"changelog recovery of {count:,} subjects")
    folded = config.profile if profiled else None

    def watch(pid: int) -> Callable[[], None]:
        assert folded is not None
        say(f"profiling worker pid {pid} with py-spy, start → ready")
        return partial(_stop_profiler, profile.start_profiler(pid, folded, 3600))

    with ExitStack() as cleanup:
        if config.log_dir is not None:
            log_dir = config.log_dir / f"recovery-{label}"
            log_dir.mkdir(parents=True, exist_ok=True)
        else:
            log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cw-rec-")))
        result = recovery.run_recovery(
            pool,
            count,
            config.partitions,
            log_dir,
            timeout=config.phase_timeout_s,
            progress=say,
            watch=watch if folded is not None else None,
        )
    run.add(
        f"recovery.{label}",
        result.ready_s,
        "s",
        run.scaled(
            ("py-spy sampling; " if folded else "")
            + f"worker start → ready over {result.written_bytes / MB:,.0f} MB changelog "
            f"(written in {result.write_s:.1f} s); first start, empty changelog "
            f"{result.empty_start_s:.1f} s"
        ),
    )
    if result.rss_bytes is not None:
        run.add(f"recovery.{label}.rss", result.rss_bytes / MB, "MB", "worker RSS at ready")
    if folded is not None and folded.exists():
        _profile_rows(run, folded)


def _count_label(count: int) -> str:
    """Short count for row names.

    >>> _count_label(100_000), _count_label(1_000_000), _count_label(2_500)
    ('100k', '1M', '2500')
    """
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)
