"""``creditwatch demo``: the whole system on this machine, with a live summary.

Starts the embedded broker (Tansu) and Redis on free loopback ports, creates
the topics, starts a worker and the simulator, and prints what the pipeline is
doing. Ctrl-C stops everything it started, simulator first.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from creditwatch.commands.token import create_token
from creditwatch.embedded import EmbeddedError, EmbeddedStack
from creditwatch.monitor import Monitor, Snapshot
from creditwatch.processes import ChildProcess, WorkerProcess, elapsed_since, stop_all
from creditwatch.topic_admin import create_topics
from topics.access import Role
from topics.catalogue import ALL_TOPICS, INPUT_TOPICS

REFRESH_S = 2.0
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run broker, Redis, a worker and the simulator here, with a live summary"
    )
    parser.add_argument("--rate", type=float, default=300.0, help="simulated events/s")
    parser.add_argument("--subjects", type=int, default=10_000, help="simulated subjects")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--workdir", type=Path, help="keep logs and data here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    # A supervisor's SIGTERM means the same as Ctrl-C: stop everything, in order.
    signal.signal(signal.SIGTERM, _interrupt)
    say("creditwatch demo: starting the embedded broker and Redis …")
    status = 0
    with EmbeddedStack(args.workdir) as stack:
        assert stack.workdir is not None
        create_topics(stack.bootstrap, ALL_TOPICS, args.partitions)
        worker = WorkerProcess(
            stack.workdir, stack.kafka_url, stack.redis_url, partitions=args.partitions
        )
        simulator = ChildProcess(
            "simulator",
            [
                "simulate",
                "--bootstrap",
                stack.bootstrap,
                "--rate",
                str(args.rate),
                "--subjects",
                str(args.subjects),
                "--seed",
                str(args.seed),
            ],
            stack.workdir,
        )
        # Children stop before the broker and Redis they talk to, producer first.
        try:
            worker.start()
            simulator.start()
            # The API needs a token; the demo makes a supervision-centre one and
            # hands it to the board in the address's fragment (never sent to a server).
            token = create_token(stack.bootstrap, stack.redis_url, "demo-centre", Role.CENTRE)
            header = (
                f"broker {stack.bootstrap} · redis {stack.redis_url} · logs {stack.workdir}\n"
                f"board http://127.0.0.1:{worker.web_port}/#token={token}\n"
                f"worker pid {worker.pid} · "
                f"simulator pid {simulator.pid} at {args.rate:g} events/s"
            )
            say(header)
            _watch(args, stack, worker, simulator, started, header)
        except KeyboardInterrupt:
            say("\ncreditwatch demo: stopping …")
        except EmbeddedError as exc:
            print(f"creditwatch demo: {exc}", file=sys.stderr)
            status = 1
        finally:
            stop_all([simulator, worker])
    say("creditwatch demo: stopped; every process it started has exited.")
    return status


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def say(*parts: object) -> None:
    print(*parts, flush=True)


def _watch(
    args: argparse.Namespace,
    stack: EmbeddedStack,
    worker: WorkerProcess,
    simulator: ChildProcess,
    started: float,
    header: str,
) -> None:
    monitor = Monitor(stack.bootstrap, stack.redis_url)
    previous: Snapshot | None = None
    previous_at = time.monotonic()
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            time.sleep(REFRESH_S)
            for child in (worker, simulator):
                if not child.running():
                    raise EmbeddedError(f"{child.name} exited:\n{child.log_tail()}")
            snapshot = monitor.snapshot()
            now = time.monotonic()
            screen = render(snapshot, previous, now - previous_at, elapsed_since(started), header)
            # On a terminal, redraw in place; into a log, append.
            print(CLEAR_SCREEN + screen if sys.stdout.isatty() else screen, flush=True)
            previous, previous_at = snapshot, now
    finally:
        monitor.close()


def _rate(now: Snapshot, before: Snapshot | None, topic: str, seconds: float) -> float:
    if before is None or seconds <= 0:
        return 0.0
    return (now.end_offsets.get(topic, 0) - before.end_offsets.get(topic, 0)) / seconds


def render(
    now: Snapshot, before: Snapshot | None, seconds: float, elapsed: str, header: str
) -> str:
    """The live summary, one screenful."""
    rates = {spec.name: _rate(now, before, spec.name, seconds) for spec in INPUT_TOPICS}
    lines = [
        f"\n── creditwatch · {elapsed} " + "─" * 44,
        header,
        "input events/s  "
        + "  ".join(f"{t} {r:,.0f}" for t, r in rates.items())
        + f"  total {sum(rates.values()):,.0f}",
        f"processed       {now.consumed:,} of {now.inputs:,} (lag {now.lag:,})   "
        f"dead letters {now.dead_letters:,}",
        "tiers           " + "  ".join(f"{tier} {n:,}" for tier, n in now.tiers.items()),
        "open alerts     "
        + "  ".join(f"{sev} {n:,}" for sev, n in reversed(list(now.open_alerts.items()))),
        "latest tier changes:",
    ]
    for change in now.recent_tier_changes[:6]:
        reasons = change.get("reasons")
        top = reasons[0] if isinstance(reasons, list) and reasons else {}
        lines.append(
            f"  {str(change['effective_at'])[11:19]} UTC  {change['subject']}  "
            f"{change['previous_tier']} → {change['tier']}  score {change['score']}  "
            f"{top.get('fact', '')} {top.get('value', '')}"
        )
    if not now.recent_tier_changes:
        lines.append("  (none yet)")
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)
