"""``creditwatch cases precision``: which rules officials found right, from the record store.

Issue 17 item 2. The worker's ``GET /api/case-precision`` and the
``creditwatch_rule_precision`` gauge count every verdict in the serving view;
this reads the latest version of each case from the record store
(``case_state``, docs/record-store.md), so it can be limited to the cases
opened since a date, and needs no running worker. Precision is
``pipeline.cases.precision``: confirmed / (confirmed + false positive), worst
first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from creditwatch.commands import options
from pipeline.cases import Case, RulePrecision, precision, verdict_of
from topics.wire_time import moment

CASES_SINCE = "SELECT body FROM case_state WHERE opened_at >= %s"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "cases",
        help="reports on cases (docs/cases.md)",
        description="Reports on cases, from the record store.",
    )
    actions = parser.add_subparsers(dest="cases_action", metavar="ACTION", required=True)
    report = actions.add_parser(
        "precision",
        help="precision per rule and alert kind from officials' verdicts",
        description="Precision per rule and alert kind: confirmed / (confirmed + false "
        "positive) of the alerts officials judged in cases, worst first.",
    )
    options.add_database(report)
    report.add_argument(
        "--since",
        default=None,
        metavar="DATE",
        help="only cases opened from this date (2026-11-01) or ISO 8601 time on",
    )
    report.add_argument("--json", action="store_true", help="one JSON object per rule")
    report.set_defaults(func=run_precision)


def verdicts_of(bodies: Iterable[Any]) -> list[str]:
    """Every alert's verdict in the cases (``case_state`` bodies) as ``rule|kind|verdict``."""
    found: list[str] = []
    for body in bodies:
        document = orjson.loads(body) if isinstance(body, str | bytes) else body
        found.extend(verdict_of(Case.from_json(document)).values())
    return found


def table(rows: list[RulePrecision]) -> str:
    """The report as text columns.

    >>> print(table(precision(["r1|rule|false_positive", "r1|rule|risk_confirmed"])))
    rule  kind  confirmed  false  not actionable  precision
    r1    rule          1      1               0      50.0%
    """
    head = ("rule", "kind", "confirmed", "false", "not actionable", "precision")
    lines = [head] + [
        (
            r.rule,
            r.kind,
            str(r.risk_confirmed),
            str(r.false_positive),
            str(r.not_actionable),
            "—" if r.precision is None else f"{r.precision:.1%}",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

    def cells(line: tuple[str, ...]) -> str:
        text = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        return "  ".join(text + [c.rjust(w) for c, w in zip(line[2:], widths[2:], strict=True)])

    return "\n".join(cells(line) for line in lines)


def run_precision(args: argparse.Namespace) -> int:
    import psycopg

    url = options.database_url(args)
    try:
        since = moment(args.since, UTC) if args.since else datetime.fromtimestamp(0, UTC)
    except ValueError as exc:
        print(f"creditwatch cases: error: --since {exc}", file=sys.stderr)
        return 2
    try:
        with psycopg.connect(url) as conn:
            bodies = [body for (body,) in conn.execute(CASES_SINCE, (since,)).fetchall()]
    except psycopg.OperationalError as exc:
        print(f"creditwatch cases: error: {options.unreachable(url, exc)}", file=sys.stderr)
        return 1
    rows = precision(verdicts_of(bodies))
    if args.json:
        for row in rows:
            print(orjson.dumps(row.to_json()).decode())
    elif rows:
        print(table(rows))
    else:
        print("no verdicts in the cases of the record store yet")
    return 0
