"""``creditwatch simulate``: feed a broker with realistic synthetic city traffic."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from creditwatch.simulation.population import DEFAULT_SIZE
from creditwatch.simulation.producer import BrokerUnavailable, produce
from creditwatch.simulation.traffic import (
    DEFAULT_BAD_RATIO,
    DEFAULT_DUPLICATE_RATIO,
    Simulator,
    wall_clock,
)
from streams.settings import default_bootstrap


def _ratio(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="produce realistic synthetic traffic to the input topics",
        description=(
            "Produce synthetic enforcement events, 12315 complaints and IoT readings for a "
            "seeded city of market subjects, including a small share of deliberately bad "
            "records and exact duplicate re-sends, after the register's records of every "
            "subject's responsible people and type (registry.roles, sent at once). Runs until "
            "Ctrl-C unless --duration or --count is given."
        ),
    )
    parser.add_argument(
        "--bootstrap",
        default=default_bootstrap(),
        help="Kafka bootstrap servers (default: $CREDITWATCH_KAFKA or %(default)s)",
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="events per second, 0 = unpaced (%(default)s)"
    )
    parser.add_argument(
        "--subjects", type=_positive_int, default=DEFAULT_SIZE, help="city size (%(default)s)"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--count", type=_positive_int, help="stop after this many records")
    parser.add_argument("--seed", type=int, default=1, help="random seed (%(default)s)")
    parser.add_argument(
        "--bad-ratio",
        type=_ratio,
        default=DEFAULT_BAD_RATIO,
        help="share of deliberately invalid records (%(default)s)",
    )
    parser.add_argument(
        "--duplicate-ratio",
        type=_ratio,
        default=DEFAULT_DUPLICATE_RATIO,
        help="share of exact duplicate re-sends (%(default)s)",
    )
    parser.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="first send the register's role records, unpaced (default: yes)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress line on stderr (default: only on a terminal)",
    )
    parser.set_defaults(func=run)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Build the city, produce until told to stop, print what was sent."""
    if threading.current_thread() is threading.main_thread():
        # A supervisor (the demo, systemd, docker stop) sends SIGTERM: stop like
        # Ctrl-C, so buffered records are flushed and the summary printed.
        signal.signal(signal.SIGTERM, _interrupt)
    simulator = Simulator(
        seed=args.seed,
        subjects=args.subjects,
        clock=wall_clock,
        bad_ratio=args.bad_ratio,
        duplicate_ratio=args.duplicate_ratio,
    )
    try:
        if args.register:
            registered = produce(args.bootstrap, simulator.registrations(), rate=0, progress=False)
            print(
                f"registered the people of {len(simulator.subjects):,} subjects: "
                + (registered.summary().splitlines()[0])
            )
        stats = produce(
            args.bootstrap,
            simulator,
            rate=args.rate,
            duration=args.duration,
            total=args.count,
            progress=args.progress,
        )
    except BrokerUnavailable as exc:
        print(f"creditwatch simulate: {exc}", file=sys.stderr)
        return 2
    print(stats.summary())
    return 0
