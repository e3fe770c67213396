"""``creditwatch policy``: a policy change looked at before it goes live (issue 17).

``backtest`` replays the record store's input records under the policy in
force and a new one, side by side, and reports what the new one would have
changed: tiers (by county and sector), list entries and exits, alerts by kind
and disposition; a table on stdout and an HTML page (docs/backtest.md).
``propose`` sends a new policy file to a worker's API as a proposal (with the
backtest's ``--json`` attached, for the approval page), and ``approve``
approves one as a second official; every worker then puts it in force
without a restart (docs/workflows.md, "Policy versions").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from creditwatch.commands import options

PROGRAM = "creditwatch policy backtest"
DEFAULT_PAGE = Path("backtest.html")
#: Seconds between two progress lines on stderr.
PROGRESS_EVERY_S = 5.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "policy",
        help="policy changes: backtest a new policy on the stored history",
        description="Policy changes before they go live (docs/backtest.md).",
    )
    actions = parser.add_subparsers(dest="policy_action", metavar="ACTION", required=True)
    backtest = actions.add_parser(
        "backtest",
        help="replay the record store's history under the current and a new policy",
        description="Replay every input record of the record store (in event-time order, "
        "through the workers' own steps) under the policy in force and under a new one, "
        "and report what the new one changes: tiers at the end by county and sector, "
        "list entries and exits, alerts by kind and disposition. Prints a table (English) "
        "and writes an HTML page (Chinese and English).",
    )
    backtest.add_argument("--policy", required=True, type=Path, help="the new policy file")
    backtest.add_argument(
        "--current",
        type=Path,
        default=None,
        help="the policy in force (default: $CREDITWATCH_POLICY, else the bundled "
        "detectors/policy.toml)",
    )
    backtest.add_argument(
        "--since",
        default=None,
        help="replay records from this event time: YYYY-MM-DD (midnight on the policy's "
        "calendar, Asia/Shanghai) or an ISO 8601 time with its UTC offset (default: the "
        "store's first record); earlier records are not replayed and do not count",
    )
    backtest.add_argument(
        "--until", default=None, help="replay records before this event time (same forms)"
    )
    options.add_database(backtest)
    backtest.add_argument(
        "--html",
        type=Path,
        default=DEFAULT_PAGE,
        help="HTML page to write (default %(default)s)",
    )
    backtest.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the report as JSON (every table, and each subject that moves)",
    )
    backtest.set_defaults(func=run_backtest)
    propose = actions.add_parser(
        "propose",
        help="propose a new policy version (a second official approves it)",
        description="Send a policy file to the worker's API as a proposed version. "
        "Attach the report of `creditwatch policy backtest --policy FILE --json REPORT` "
        "with --backtest REPORT: the approval page shows its tables beside the diff.",
    )
    propose.add_argument("--policy", required=True, type=Path, help="the new policy file")
    propose.add_argument("--note", default="", help="why (shown to the approver, audited)")
    propose.add_argument(
        "--backtest", type=Path, default=None, help="the JSON report of `policy backtest --json`"
    )
    _api_options(propose)
    propose.set_defaults(func=run_propose)
    approve = actions.add_parser(
        "approve",
        help="approve a policy version another official proposed",
        description="Approve a proposed policy version (its proposer cannot: 403); every "
        "worker puts it in force without a restart and re-grades the subjects.",
    )
    approve.add_argument("proposal", help="the proposal id `policy propose` printed")
    _api_options(approve)
    approve.set_defaults(func=run_approve)


def _api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        default=None,
        help="a worker's web address (default: http://127.0.0.1:$CREDITWATCH_WEB_PORT)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="a supervision-centre API token, written --token=TOKEN since a token may "
        "begin with '-' (default: $CREDITWATCH_TOKEN)",
    )


def _call_api(args: argparse.Namespace, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST ``body`` to the worker's API; (status, answer), status 0 if it cannot be reached."""
    import os
    import urllib.error
    import urllib.request

    from streams.settings import Settings

    api = args.api or f"http://127.0.0.1:{Settings.from_env().web_port}"
    token = args.token or os.environ.get("CREDITWATCH_TOKEN", "")
    request = urllib.request.Request(
        api.rstrip("/") + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError) as exc:
        return 0, {"error": f"{api} cannot be reached: {exc}"}


def run_propose(args: argparse.Namespace) -> int:
    program = "creditwatch policy propose"
    try:
        body: dict[str, Any] = {"policy": args.policy.read_text(encoding="utf-8")}
        if args.backtest is not None:
            body["backtest"] = json.loads(args.backtest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return 2
    body["note"] = args.note
    status, answer = _call_api(args, "/api/policy/versions", body)
    if status != 201:
        print(f"{program}: error: {answer.get('error', status)}", file=sys.stderr)
        return 1
    print("\n".join(answer["diff"]))
    print(
        f"proposed: {answer['proposal_id']} (policy {answer['version']}); "
        f"another official approves it: creditwatch policy approve {answer['proposal_id']}"
    )
    return 0


def run_approve(args: argparse.Namespace) -> int:
    path = f"/api/policy/versions/{args.proposal}/approve"
    status, answer = _call_api(args, path, {})
    if status != 202:
        print(f"creditwatch policy approve: error: {answer.get('error', status)}", file=sys.stderr)
        return 1
    print(f"approved: {answer['proposal_id']} (policy {answer['version']}); the workers load it")
    return 0


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)
    return code


class _Progress:
    """A line on stderr every few seconds: records replayed, of how many, how fast."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = self.shown = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.shown < PROGRESS_EVERY_S:
            return
        self.shown = now
        rate = done / (now - self.started)
        left = (self.total - done) / rate if rate > 0 else 0.0
        print(
            f"  {done:,} of {self.total:,} records ({done / self.total:.0%}), "
            f"{rate:,.0f} records/s, about {left:,.0f} s left",
            file=sys.stderr,
            flush=True,
        )


def run_backtest(args: argparse.Namespace) -> int:
    import psycopg

    from creditwatch.backtest.compare import compare
    from creditwatch.backtest.history import Window, count_history, read_history
    from creditwatch.backtest.page import render_page
    from creditwatch.backtest.replay import replay
    from creditwatch.backtest.report import render_text, to_json
    from creditwatch.embedded import embedded_pseudonym_key
    from detectors.policy import PolicyError, load_policy
    from pipeline.context import StepContext
    from streams.settings import Settings, pseudonym_secret
    from topics.wire_time import moment

    settings = Settings.from_env()
    current_path = args.current or settings.policy or None
    try:
        current = load_policy(current_path)
        new = load_policy(args.policy)
    except (PolicyError, OSError, UnicodeDecodeError) as exc:
        return _fail(str(exc), 2)
    zone = current.supervision.calendar.timezone
    bounds = {}
    for name in ("since", "until"):
        text = getattr(args, name)
        try:
            bounds[name] = moment(text, zone) if text else None
        except ValueError as exc:
            return _fail(f"--{name} {exc}", 2)
    try:
        window = Window(**bounds)
    except ValueError as exc:
        return _fail(str(exc), 2)
    # Pseudonyms only group a legal representative's subjects: any key groups them
    # alike, so the replay needs no deployment secret.
    key = pseudonym_secret(embedded_pseudonym_key())
    database = options.database_url(args)
    try:
        with psycopg.connect(database) as conn:
            total = count_history(conn, window)
            if total == 0:
                return _fail("the record store holds no input records in that window")
            print(f"replaying {total:,} input records under both policies …", file=sys.stderr)
            done = replay(
                read_history(conn, window),
                StepContext(current, key),
                StepContext(new, key),
                _Progress(total),
            )
    except psycopg.errors.UndefinedTable:
        return _fail("the record store has no tables yet: run `creditwatch archive migrate`")
    except psycopg.OperationalError as exc:
        return _fail(options.unreachable(database, exc))
    comparison = compare(
        done, str(current_path or "the bundled detectors/policy.toml"), str(args.policy), zone
    )
    print(render_text(comparison))
    documents = [(args.html, "page", render_page(comparison, done.rate, done.seconds))]
    if args.json is not None:
        text = json.dumps(to_json(comparison), indent=2, ensure_ascii=False)
        documents.append((args.json, "json", text))
    for path, what, content in documents:
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write the {what} to {path}: {exc.strerror or exc}")
        print(f"{what}: {path}")
    print(
        f"replayed {done.records:,} records at {done.rate:,.0f} records/s "
        f"(both policies) in {done.seconds:,.1f} s",
        file=sys.stderr,
    )
    return 0
