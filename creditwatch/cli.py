"""The ``creditwatch`` command line: one entry point, a sub-command per job."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Sub-command modules under creditwatch.commands, in the order --help lists them.
COMMAND_MODULES = (
    "demo",
    "worker",
    "simulate",
    "topics",
    "token",
    "audit",
    "detect",
    "evaluate",
    "bench",
    "schemas",
    "subscribe",
    "spotcheck",
    "archive",
    "policy",
    "public-site",
    "cases",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creditwatch",
        description="Risk monitoring and early warning for credit-based market supervision.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"creditwatch.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"creditwatch.commands.{name.replace('-', '_')}":
                raise
            continue  # not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
