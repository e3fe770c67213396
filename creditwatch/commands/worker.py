"""``creditwatch worker``: run one stream worker against any Kafka-compatible broker."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import time
from typing import TYPE_CHECKING, Any

from creditwatch.topic_admin import BrokerUnreachable, check_reachable
from streams.settings import SettingError, Settings

if TYPE_CHECKING:
    import faust

#: Printed to stderr once the worker has recovered its tables and consumes.
READY_LINE = "creditwatch: worker ready"

#: The options that override a setting of the environment (named as Settings' fields).
SETTING_OPTIONS = (
    "kafka",
    "redis",
    "partitions",
    "web_port",
    "web_bind",
    "data_dir",
    "policy",
    "routing",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a stream worker (settings from CREDITWATCH_* variables or options)",
        description="Run a creditwatch worker. Options override the CREDITWATCH_* "
        "environment variables documented in streams/settings.py.",
    )
    parser.add_argument("--kafka", help="broker URL, e.g. kafka://127.0.0.1:9092")
    parser.add_argument("--redis", help="Redis URL, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--partitions", type=int, help="partitions per topic and table")
    parser.add_argument("--web-port", type=int, help="web server port (default 6066)")
    parser.add_argument("--web-bind", help="web server address (default 127.0.0.1)")
    parser.add_argument("--data-dir", help="Faust data directory")
    parser.add_argument("--policy", help="policy TOML file")
    parser.add_argument("--routing", help="alert routing TOML file (pipeline/routing.toml)")
    parser.add_argument("--loglevel", default="warning", help="worker log level")
    parser.add_argument(
        "--wait-for-broker",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="retry an unreachable broker this long before giving up (default 300)",
    )
    parser.set_defaults(func=run)


#: Allocations between two generation-0 collections (CPython's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def use_uvloop() -> None:
    """uvloop makes a Faust worker ~35% faster here; it must be chosen before the loop exists."""
    import importlib.util

    if importlib.util.find_spec("uvloop") is not None:
        import mode.loop

        mode.loop.use("uvloop")


def _calm_garbage_collector() -> None:
    """Keep the start-up heap out of every collection, and collect young objects less often.

    Faust allocates several objects per message, which triggers a generation-0
    collection every few hundred messages; each older collection then walks
    every module, table and model loaded at start-up. Nothing here relies on
    prompt cycle collection (the per-message objects are freed by refcount).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def wait_for_broker(kafka_url: str, patience_s: float, retry_s: float = 2.0) -> bool:
    """Wait for the broker to accept connections, saying so; False if it never does.

    Faust itself would retry an unreachable broker silently and forever; an
    operator needs to see which address is wrong.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            check_reachable(kafka_url, timeout=retry_s)
            return True
        except BrokerUnreachable as exc:
            if time.monotonic() >= deadline:
                print(f"creditwatch: giving up after {patience_s:g} s: {exc}", file=sys.stderr)
                return False
            print(f"creditwatch: {exc}; retrying in {retry_s:g} s", file=sys.stderr, flush=True)
            time.sleep(retry_s)


def worker_settings(args: argparse.Namespace) -> Settings:
    """The ``CREDITWATCH_*`` environment's settings, with the options given overriding them."""
    given = {name: getattr(args, name) for name in SETTING_OPTIONS}
    return dataclasses.replace(
        Settings.from_env(), **{name: value for name, value in given.items() if value is not None}
    )


def run(args: argparse.Namespace) -> int:
    settings = worker_settings(args)
    use_uvloop()  # before the app and its event loop exist
    # Imported here: the command line's other commands need none of the worker.
    from detectors.policy import PolicyError
    from pipeline.routing import RoutingError
    from streams.runtime.compat import UncheckedRuntime, check_runtime
    from streams.worker import build_worker

    try:
        # Before anything runs: our replacements of Faust's internals are known
        # to fit only the libraries they were checked on.
        check_runtime()
        worker = build_worker(settings)
    except (UncheckedRuntime, PolicyError, RoutingError, SettingError) as exc:
        raise SystemExit(f"creditwatch: {exc}") from None
    if not wait_for_broker(settings.kafka, args.wait_for_broker):
        return 2

    service_worker(worker.app, args.loglevel).execute_from_commandline()
    return 0


def service_worker(app: faust.App, loglevel: str) -> faust.Worker:
    """A Faust worker run as a service: no spinner, a calm collector, a ready line.

    It also rewrites Faust's stall-detector ERROR blocks into what they mean
    (:mod:`streams.runtime.faust_logging`): lag and progress at INFO, a real stall at WARNING.
    """
    import faust

    from streams.runtime import faust_logging

    class Worker(faust.Worker):
        async def on_first_start(self) -> None:
            # At start-up, not at import: only a running worker's log is rewritten.
            # `app`, not `self.app` (the same object, typed only as AppT there).
            faust_logging.install(app)
            await super().on_first_start()

        def _setup_spinner_handler(self, logger: Any, level: int) -> None:
            # Faust's start-up spinner sets the root logger to DEBUG, so every
            # debug call in Faust and aiokafka builds a record to discard
            # (~5% of worker CPU). A service has no spinner to feed.
            self.spinner = None

        async def on_startup_finished(self) -> None:
            await super().on_startup_finished()
            _calm_garbage_collector()
            print(READY_LINE, file=sys.stderr, flush=True)

    return Worker(app, loglevel=loglevel, quiet=True)
