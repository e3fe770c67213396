"""Connection options shared by the administrative commands (``topics``, ``token``, ``audit``,
``archive``)."""

from __future__ import annotations

import argparse
import os

from streams.settings import Settings, bootstrap_servers, default_bootstrap


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap",
        default=None,
        help="broker host:port (default: $CREDITWATCH_KAFKA, else 127.0.0.1:9092)",
    )


def add_redis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        default=None,
        help="Redis URL (default: $CREDITWATCH_REDIS, else redis://127.0.0.1:6379/0)",
    )


def bootstrap(args: argparse.Namespace) -> str:
    return bootstrap_servers(args.bootstrap) if args.bootstrap else default_bootstrap()


def redis_url(args: argparse.Namespace) -> str:
    return str(args.redis or os.environ.get("CREDITWATCH_REDIS") or Settings().redis)


def add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        help="record store, a libpq URL (default: $CREDITWATCH_DATABASE, else "
        "postgresql://creditwatch@127.0.0.1:5432/creditwatch)",
    )


def database_url(args: argparse.Namespace) -> str:
    return str(args.database or Settings.from_env().database)


def redacted(url: str) -> str:
    """The URL without its password.

    >>> redacted("postgresql://creditwatch:s3cret@postgres:5432/creditwatch")
    'postgresql://creditwatch:***@postgres:5432/creditwatch'
    """
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def unreachable(url: str, exc: BaseException) -> str:
    """What to say when the record store at ``url`` cannot be reached: its address
    (without the password) and the first line of the error."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"record store {redacted(url)} unreachable: {first}"
