"""``creditwatch public-site``: the public disclosure site (docs/public-site.md).

A read-only web server of its own, apart from the worker: no login,
rate-limited per client, reading the record store. It binds 127.0.0.1 by
default; put it behind a reverse proxy (TLS) to publish it, and name the proxy
in ``CREDITWATCH_PUBLIC_TRUSTED_PROXIES`` so rate limits apply per client.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from creditwatch.commands import options
from streams.settings import Settings

READY_LINE = "creditwatch: public site ready at"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "public-site",
        help="the public disclosure site (双公示, lists, spot checks, report verification)",
        description="Serve the public disclosure site from the record store: read-only, "
        "no login, rate-limited per client (CREDITWATCH_PUBLIC_* settings).",
    )
    options.add_database(parser)
    parser.add_argument("--bind", default=None, help="address (default $CREDITWATCH_PUBLIC_BIND)")
    parser.add_argument(
        "--port", type=int, default=None, help="port (default $CREDITWATCH_PUBLIC_PORT, 6080)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.disclosure_policy import DisclosureError
    from streams.settings import load_disclosure_policy

    settings = Settings.from_env()
    try:
        policy = load_disclosure_policy(settings)
    except DisclosureError as exc:
        print(f"creditwatch public-site: {exc}", file=sys.stderr)
        return 1
    bind = args.bind or settings.public_bind
    port = settings.public_port if args.port is None else args.port
    return asyncio.run(_serve(settings, policy, options.database_url(args), bind, port))


async def _serve(settings: Settings, policy: Any, database: str, bind: str, port: int) -> int:
    from aiohttp import web

    from streams.public.site import SiteConfig, build_site
    from streams.public.store import read_only_store
    from streams.settings import worker_policy

    config = SiteConfig(
        policy=policy,
        zone=worker_policy().supervision.calendar.timezone,
        rate=settings.public_rate,
        burst=settings.public_burst,
        trusted_proxies=frozenset(settings.public_trusted_proxies),
    )
    runner = web.AppRunner(build_site(read_only_store(database), config), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, bind, port).start()
    except OSError as exc:
        await runner.cleanup()
        print(f"creditwatch public-site: cannot listen on {bind}:{port}: {exc}", file=sys.stderr)
        return 1
    print(f"{READY_LINE} http://{bind}:{port}/", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()
    return 0
