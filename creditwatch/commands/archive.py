"""``creditwatch archive``: the PostgreSQL record store (docs/record-store.md).

``migrate`` brings the schema to the newest Alembic revision; ``sink`` runs the
sink (topics -> PostgreSQL) until stopped; ``rebuild`` drops the store and
recreates it from the topics; ``digest`` prints each table's row count and an
order-independent digest; ``prune-iot`` deletes readings older than the IoT
retention period.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from creditwatch.commands import options
from streams.archive import DEFAULT_GROUP
from streams.settings import Settings

DEFAULT_METRICS_PORT = 6067
#: Printed once the sink has joined its group and has partitions to read.
READY_LINE = "creditwatch: archive sink ready"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "archive",
        help="the PostgreSQL record store: migrate, sink, rebuild, digest, prune-iot",
        description="The record store: every input record and derived fact in PostgreSQL "
        "(docs/record-store.md).",
    )
    actions = parser.add_subparsers(dest="archive_action", metavar="ACTION", required=True)

    migrate = actions.add_parser("migrate", help="upgrade the store's schema to the newest")
    options.add_database(migrate)
    migrate.set_defaults(func=run_migrate)

    sink = actions.add_parser(
        "sink",
        help="write the topics into the store until stopped (its own consumer group)",
        description="Consume every archived topic and write it to PostgreSQL in batches, "
        "idempotently; refused rows go to risk.dlq. Migrates the schema first.",
    )
    options.add_bootstrap(sink)
    options.add_database(sink)
    _add_group(sink)
    sink.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        help="port of the sink's Prometheus metrics (default %(default)s; 0: none)",
    )
    sink.add_argument(
        "--metrics-bind",
        default="127.0.0.1",
        help="address of the metrics server (default %(default)s)",
    )
    sink.add_argument("--batch", type=int, default=None, help="most messages per batch")
    sink.set_defaults(func=run_sink)

    rebuild = actions.add_parser(
        "rebuild",
        help="drop the store and recreate it from the topics (stop the sinks first)",
        description="Drop every table of the store, migrate, then read every archived topic "
        "from offset 0 to its current end. Stop the sinks first; afterwards they resume "
        "from their own committed offsets (rows already there are skipped).",
    )
    options.add_bootstrap(rebuild)
    options.add_database(rebuild)
    rebuild.add_argument(
        "--yes", action="store_true", help="confirm: the store's tables are dropped"
    )
    rebuild.set_defaults(func=run_rebuild)

    digest = actions.add_parser(
        "digest", help="row count and order-independent digest of every table"
    )
    options.add_database(digest)
    digest.set_defaults(func=run_digest)

    prune = actions.add_parser(
        "prune-iot",
        help="delete IoT readings older than the IoT retention period",
        description="Readings are kept as long as their topic keeps them "
        "(iot.readings' retention); run this daily (cron, a compose job).",
    )
    options.add_database(prune)
    prune.add_argument(
        "--days",
        type=float,
        default=None,
        help="keep this many days (default: iot.readings' retention)",
    )
    prune.set_defaults(func=run_prune)


def _add_group(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help="consumer group (default %(default)s)"
    )


def _fail(message: str) -> int:
    print(f"creditwatch archive: error: {message}", file=sys.stderr)
    return 1


def _unreachable() -> tuple[type[BaseException], ...]:
    """What a database that cannot be reached raises, through psycopg or SQLAlchemy."""
    import psycopg
    import sqlalchemy.exc

    return (psycopg.OperationalError, sqlalchemy.exc.OperationalError)


def _database_down(url: str, exc: BaseException) -> int:
    return _fail(options.unreachable(url, exc))


def run_migrate(args: argparse.Namespace) -> int:
    from streams.archive.migrate import current_revision, upgrade

    url = options.database_url(args)
    try:
        before = current_revision(url)
        upgrade(url)
        after = current_revision(url)
    except _unreachable() as exc:
        return _database_down(url, exc)
    print(f"record store at revision {after}" + (f" (was {before})" if before != after else ""))
    return 0


def _sink_settings(args: argparse.Namespace, database: str) -> Any:
    from streams.archive.sink import MAX_BATCH, SinkSettings

    settings = Settings.from_env()
    return SinkSettings(
        bootstrap=options.bootstrap(args),
        database=database,
        group=getattr(args, "group", None) or DEFAULT_GROUP,
        max_batch=getattr(args, "batch", None) or MAX_BATCH,
        rebalance_timeout_s=settings.rebalance_timeout,
    )


def run_sink(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from streams.archive.migrate import upgrade
    from streams.archive.sink import run_sink as sink_loop

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    database = options.database_url(args)
    try:
        upgrade(database)
    except _unreachable() as exc:
        return _database_down(database, exc)  # a supervisor restarts it
    settings = _sink_settings(args, database)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_bind)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await sink_loop(settings, stop, on_ready=announce)

    def announce(partitions: int) -> None:
        print(f"{READY_LINE} ({partitions} partitions)", flush=True)

    asyncio.run(main())
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    from streams.archive.migrate import downgrade_to_base, upgrade
    from streams.archive.sink import replay

    if not args.yes:
        return _fail("rebuild drops every table of the store: run it again with --yes")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    database = options.database_url(args)
    settings = _sink_settings(args, database)
    started = time.monotonic()
    downgrade_to_base(database)
    upgrade(database)
    print("store dropped and migrated; reading the topics from offset 0 …", flush=True)
    shown = [0.0]

    def progress(records: int, rows: int) -> None:
        if time.monotonic() - shown[0] >= 2.0:
            shown[0] = time.monotonic()
            elapsed = time.monotonic() - started
            print(f"  {records:,} messages, {rows:,} rows written, {elapsed:.0f} s", flush=True)

    sink = asyncio.run(replay(settings, progress))
    elapsed = time.monotonic() - started
    print(f"rebuilt: {sink.records:,} messages, {sink.rows_written:,} rows in {elapsed:.1f} s")
    return 0


def run_digest(args: argparse.Namespace) -> int:
    import psycopg

    from streams.archive.store import digests

    with psycopg.connect(options.database_url(args)) as conn:
        found = digests(conn)
    width = max(len(d.table) for d in found)
    print(f"{'table':<{width}}  {'rows':>12}  digest")
    for d in found:
        print(f"{d.table:<{width}}  {d.rows:>12,}  {d.digest}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    import psycopg

    from streams.archive.store import prune_readings
    from topics.catalogue import IOT_READINGS

    if args.days is not None:
        keep = timedelta(days=args.days)
    else:
        assert IOT_READINGS.retention_ms is not None, "readings have a retention period"
        keep = timedelta(milliseconds=IOT_READINGS.retention_ms)
    before = datetime.now(UTC) - keep
    with psycopg.connect(options.database_url(args)) as conn:
        deleted = prune_readings(conn, before)
    print(f"deleted {deleted:,} readings measured before {before.isoformat(timespec='seconds')}")
    return 0
