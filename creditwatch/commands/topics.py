"""``creditwatch topics create|list``: administer the catalogue topics on a broker.

Production brokers (Apache Kafka in compose) should have their topics created
up front with the catalogue's partitions and retention, instead of relying on
auto-creation with broker defaults.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from creditwatch.commands import options
from creditwatch.topic_admin import BrokerUnreachable, create_topics, describe_topics
from topics.catalogue import ALL_TOPICS

TIMEOUT_S = 5.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "topics",
        help="create or list the Kafka topics",
        description="Create the catalogue topics on a Kafka broker, or list its topics.",
    )
    actions = parser.add_subparsers(dest="topics_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create the catalogue topics that are missing")
    options.add_bootstrap(create)
    create.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="partitions per topic (default: $CREDITWATCH_PARTITIONS or 4)",
    )
    create.add_argument(
        "--replication", type=int, default=1, help="replication factor (default: 1)"
    )
    create.set_defaults(func=run_create)

    list_ = actions.add_parser("list", help="list the broker's topics and partition counts")
    options.add_bootstrap(list_)
    list_.set_defaults(func=run_list)


def _fail(message: str) -> int:
    print(f"creditwatch topics: error: {message}", file=sys.stderr)
    return 1


def _quiet_logging() -> None:
    # Show topic_admin's warnings (rejected configs, partition mismatch), but not
    # kafka-python's per-retry connection logs: the failure is reported in one line.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


def run_create(args: argparse.Namespace) -> int:
    _quiet_logging()
    bootstrap = options.bootstrap(args)
    try:
        created = create_topics(
            bootstrap, ALL_TOPICS, args.partitions, args.replication, timeout=TIMEOUT_S
        )
    except BrokerUnreachable as exc:
        return _fail(str(exc))
    except Exception as exc:  # a broker error: one line, not a kafka-python traceback
        return _fail(f"{type(exc).__name__}: {exc}")
    for spec in ALL_TOPICS:
        state = "created" if spec.name in created else "exists "
        print(f"{state}  {spec.name}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    _quiet_logging()
    try:
        counts = describe_topics(options.bootstrap(args), timeout=TIMEOUT_S)
    except BrokerUnreachable as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    width = max((len(name) for name in counts), default=5)
    print(f"{'topic':<{width}}  partitions")
    for name, partitions in counts.items():
        print(f"{name:<{width}}  {partitions}")
    return 0
