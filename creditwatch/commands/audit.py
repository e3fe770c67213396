"""``creditwatch audit verify|show``: check and read the hash-chained audit trail.

``verify`` reads all of ``risk.audit`` and reports every altered, removed,
reordered or unreadable record (topics/audit_chain.py); exit code 0 when the
chain is intact, 1 when it is not, 2 when the trail could not be read. It
prints the head (last seq and hash): keep it elsewhere, and a later run that
shows a different hash at that seq, or an earlier end, proves the tail was
rewritten or cut (seed 十七).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from creditwatch import admin_io
from creditwatch.commands import options
from creditwatch.topic_admin import BrokerUnreachable
from topics.audit import AuditRecord, parse_audit_record
from topics.audit_chain import Problem, verify
from topics.catalogue import RISK_AUDIT
from topics.validation import InvalidRecord

CANNOT_READ = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="verify or show the audit trail",
        description="Verify the hash chain of the audit trail (risk.audit), or show its records.",
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)

    check = actions.add_parser("verify", help="check that no record was altered, removed or moved")
    options.add_bootstrap(check)
    check.add_argument(
        "--timeout", type=float, default=admin_io.TIMEOUT_S, help="seconds to read the trail"
    )
    check.set_defaults(func=run_verify)

    show = actions.add_parser("show", help="print the latest records")
    options.add_bootstrap(show)
    show.add_argument("--last", type=int, default=20, metavar="N", help="how many (default 20)")
    show.add_argument(
        "--timeout", type=float, default=admin_io.TIMEOUT_S, help="seconds to read the trail"
    )
    show.set_defaults(func=run_show)


def read_trail(
    bootstrap: str, timeout: float
) -> tuple[list[AuditRecord], list[int], list[Problem]]:
    """The readable records with their offsets, and a problem per unreadable one."""
    records: list[AuditRecord] = []
    offsets: list[int] = []
    unreadable: list[Problem] = []
    for message in admin_io.read_topic(bootstrap, RISK_AUDIT.name, timeout):
        try:
            records.append(parse_audit_record(message.value))
            offsets.append(message.offset)
        except InvalidRecord as exc:
            unreadable.append(Problem("unreadable", None, message.offset, exc.detail))
    return records, offsets, unreadable


def _fail(message: str) -> int:
    print(f"creditwatch audit: error: {message}", file=sys.stderr)
    return CANNOT_READ


def run_verify(args: argparse.Namespace) -> int:
    try:
        records, offsets, unreadable = read_trail(options.bootstrap(args), args.timeout)
    except (BrokerUnreachable, admin_io.ReadIncomplete) as exc:
        return _fail(str(exc))
    problems = sorted(
        [*unreadable, *verify(records, offsets)],
        key=lambda p: -1 if p.offset is None else p.offset,
    )
    total = len(records) + len(unreadable)
    for problem in problems:
        print(problem)
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {total} records")
        return 1
    head = f" (head: seq {records[-1].seq}, hash {records[-1].hash})" if records else ""
    print(f"OK: {total} records, chain intact{head}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    if args.last < 1:
        print("creditwatch audit: error: --last must be at least 1", file=sys.stderr)
        return 2
    try:
        records, _, unreadable = read_trail(options.bootstrap(args), args.timeout)
    except (BrokerUnreachable, admin_io.ReadIncomplete) as exc:
        return _fail(str(exc))
    for record in records[-args.last :]:
        details = orjson.dumps(record.details).decode()
        print(
            f"{record.seq:>6}  {record.at.isoformat(timespec='seconds')}  {record.actor}  "
            f"{record.action}  {record.target}  {details}  {record.hash[:12]}…"
        )
    if unreadable:
        print(
            f"({len(unreadable)} unreadable record(s); run `creditwatch audit verify`)",
            file=sys.stderr,
        )
    return 0
