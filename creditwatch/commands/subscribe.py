"""``creditwatch subscribe tier-changes|list-changes --group NAME``: a department's feed.

Department systems apply tier changes and list changes in their own workflows
(design: "subscribe to tier changes and list changes"). This command is the
reference consumer: a Kafka consumer group that prints each change once per
version as one JSON line on stdout (diagnostics on stderr), or POSTs it to a
webhook. See docs/integration.md.

Exit status: 0 when stopped (signal, --max-messages, --timeout), 1 when a
change could not be forwarded or output, 2 when the broker is unreachable or
the state file unusable.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import kafka.errors

from creditwatch.subscription import FORWARD_BATCH, Subscription, connect
from creditwatch.topic_admin import BrokerUnreachable
from creditwatch.versions import (
    FEEDS,
    Change,
    Feed,
    StateError,
    VersionBook,
    load_book,
    save_book,
)
from creditwatch.webhook import ForwardFailed, ForwardInterrupted, Webhook, check_url
from streams.settings import bootstrap_servers, default_bootstrap

PROG = "creditwatch subscribe"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _url(text: str) -> str:
    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "subscribe",
        help="follow tier changes or list changes as a department consumer group",
        description=(
            "Read risk.tier-changes or risk.list-changes as Kafka consumer group NAME and "
            "print each change once per version as one JSON line on stdout, or POST it to "
            "--forward. Redeliveries (same or older version) are skipped; offsets are "
            "committed only after a change was output. The versions seen are kept in "
            "memory, or in --state FILE across restarts."
        ),
    )
    parser.add_argument("feed", choices=sorted(FEEDS), help="which changes to follow")
    parser.add_argument(
        "--group", required=True, metavar="NAME", help="consumer group id, e.g. tax-bureau"
    )
    parser.add_argument(
        "--bootstrap",
        default=None,
        help="broker host:port (default: $CREDITWATCH_KAFKA, else 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--from-beginning",
        action="store_true",
        help="a group with no committed offsets starts at the oldest change (default: new ones)",
    )
    parser.add_argument(
        "--forward",
        type=_url,
        metavar="URL",
        help="POST each change as JSON to this http(s) URL instead of printing it",
    )
    parser.add_argument(
        "--max-messages", type=_positive_int, metavar="N", help="stop after N changes"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="stop after S seconds without any message (default: run until stopped)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep the versions seen in this JSON file, so a restart skips what was output",
    )
    parser.add_argument(
        "--max-poll-interval",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="seconds one batch may take before the group reassigns its partitions; "
        "the embedded broker's first join waits about half of it (default: 10)",
    )
    parser.set_defaults(func=run)


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return status


def _printer(change: Change) -> None:
    # Flushed per line: the offset is committed after this returns, so the line
    # must have left the process by then.
    sys.stdout.write(change.json_line() + "\n")
    sys.stdout.flush()


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM end the loop between messages instead of killing it mid-output."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _checkpoint(path: Path | None) -> Callable[[VersionBook], None] | None:
    if path is None:
        return None
    return lambda book: save_book(book, path)


def run(args: argparse.Namespace) -> int:
    # kafka-python logs every retry; the outcome is reported here in one line.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    feed: Feed = FEEDS[args.feed]
    try:
        book = load_book(feed, args.state)
        bootstrap = bootstrap_servers(args.bootstrap) if args.bootstrap else default_bootstrap()
    except (StateError, ValueError) as exc:
        return _fail(str(exc), 2)
    stop = threading.Event()
    deliver: Callable[[Change], None] = _printer
    if args.forward:
        deliver = Webhook(args.forward, feed.topic, stop=stop)
    try:
        consumer = connect(
            bootstrap,
            feed,
            args.group,
            from_beginning=args.from_beginning,
            max_poll_interval=args.max_poll_interval,
            max_records=FORWARD_BATCH if args.forward else 500,
        )
    except BrokerUnreachable as exc:
        return _fail(str(exc), 2)
    subscription = Subscription(
        consumer,
        book,
        deliver,
        stop=stop,
        max_messages=args.max_messages,
        idle_timeout=args.timeout,
        checkpoint=_checkpoint(args.state),
    )
    print(f"{PROG}: {feed.topic} as group {args.group} at {bootstrap}", file=sys.stderr, flush=True)
    status = 0
    try:
        with _stop_on_signals(stop):
            subscription.run()
    except ForwardFailed as exc:
        status = _fail(str(exc), 1)
    except kafka.errors.KafkaError as exc:
        status = _fail(f"Kafka: {type(exc).__name__}: {exc}", 1)
    except ForwardInterrupted:
        pass  # stopped while retrying: that change stays uncommitted, for next time
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): the line was not output,
        # so it is not committed. Silence the interpreter's final flush too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        consumer.close(autocommit=False)
        if args.state is not None:
            save_book(book, args.state)
    print(f"{PROG}: {subscription.stats.summary()}", file=sys.stderr, flush=True)
    return status
