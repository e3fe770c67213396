"""``creditwatch spotcheck draw``: a 双随机 spot-check round from CSV files (docs/spotcheck.md)."""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from datetime import date as Date
from pathlib import Path
from typing import TextIO

from kafka.errors import KafkaError

from creditwatch import admin_io
from creditwatch.commands.options import add_bootstrap, bootstrap
from creditwatch.topic_admin import BrokerUnreachable
from detectors.spotcheck import (
    TIERS,
    Inspector,
    PairingImpossible,
    Plan,
    SpotCheckPolicyError,
    SpotSubject,
    draw_plan,
    load_spotcheck_policy,
)
from topics.catalogue import SPOTCHECK_PLANS
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Tier

SUBJECT_COLUMNS = ("uscc", "region", "sector", "tier", "triggered")
ROSTER_COLUMNS = ("inspector_id", "name", "regions", "conflicts")
HISTORY_COLUMNS = ("uscc", "inspector_id")
PLAN_CSV_COLUMNS = ("uscc", "sector", "tier", "reason", "inspector_1", "inspector_2")
TRUE, FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n", ""}
DEMO_INSPECTORS_PER_COUNTY = 6


class InputError(ValueError):
    """An input file cannot be used; the message names the file and line."""


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(f"{path}: header lacks column(s) {', '.join(missing)}")
        return [
            (line, {k: (v or "").strip() for k, v in row.items() if k is not None})
            for line, row in enumerate(reader, start=2)
        ]


def _split(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(";") if part.strip())


def read_subjects(path: Path) -> list[SpotSubject]:
    """``uscc,region,sector,tier,triggered`` rows; triggered is 1/0, true/false or yes/no."""
    subjects = []
    for line, row in _rows(path, SUBJECT_COLUMNS):
        where = f"{path}: line {line}"
        if not row["uscc"]:
            raise InputError(f"{where}: empty uscc")
        if row["region"] not in SHIJIAZHUANG_COUNTIES:
            raise InputError(f"{where}: unknown region code {row['region']!r}")
        try:
            tier = Tier(row["tier"].upper())
        except ValueError:
            raise InputError(f"{where}: tier must be A, B, C or D, got {row['tier']!r}") from None
        flag = row["triggered"].lower()
        if flag not in TRUE | FALSE:
            raise InputError(f"{where}: triggered must be 1/0, true/false or yes/no")
        subjects.append(SpotSubject(row["uscc"], row["region"], row["sector"], tier, flag in TRUE))
    return subjects


def read_roster(path: Path) -> list[Inspector]:
    """``inspector_id,name,regions,conflicts`` rows; regions and conflicts are ';'-separated."""
    roster = []
    for line, row in _rows(path, ROSTER_COLUMNS):
        where = f"{path}: line {line}"
        if not row["inspector_id"]:
            raise InputError(f"{where}: empty inspector_id")
        regions = _split(row["regions"])
        unknown = sorted(regions - set(SHIJIAZHUANG_COUNTIES))
        if not regions:
            raise InputError(f"{where}: no region codes")
        if unknown:
            raise InputError(f"{where}: unknown region code(s) {', '.join(unknown)}")
        roster.append(
            Inspector(row["inspector_id"], row["name"], regions, _split(row["conflicts"]))
        )
    return roster


def read_history(path: Path) -> dict[str, set[str]]:
    """``uscc,inspector_id`` rows: who inspected which subject recently."""
    history: dict[str, set[str]] = defaultdict(set)
    for line, row in _rows(path, HISTORY_COLUMNS):
        if not row["uscc"] or not row["inspector_id"]:
            raise InputError(f"{path}: line {line}: empty uscc or inspector_id")
        history[row["uscc"]].add(row["inspector_id"])
    return dict(history)


def simulated(size: int) -> tuple[list[SpotSubject], list[Inspector]]:
    """A demo city: tiers and triggers derived from each subject's USCC, a generated roster.

    Tiers follow the hidden risk profile (very bad → D, high → C, clean → A or B)
    so the demo looks like a graded city; one A subject in ten is triggered.
    """
    from creditwatch.simulation.population import RiskProfile, build_population

    subjects = []
    for s in build_population(seed=1, size=size):
        rng = random.Random(f"spotcheck-demo|{s.uscc}")
        if s.profile is RiskProfile.VERY_BAD:
            tier = Tier.D
        elif s.profile is RiskProfile.HIGH:
            tier = Tier.C
        else:
            tier = Tier.A if rng.random() < 0.4 else Tier.B
        subjects.append(SpotSubject(s.uscc, s.region, s.sector.value, tier, rng.random() < 0.1))
    roster = [
        Inspector(f"{code}-{n:02d}", f"inspector {n} of {name}", frozenset({code}))
        for code, name in SHIJIAZHUANG_COUNTIES.items()
        for n in range(1, DEMO_INSPECTORS_PER_COUNTY + 1)
    ]
    return subjects, roster


def write_json(plan: Plan, out: TextIO) -> None:
    json.dump(plan.to_dict(), out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_csv(plan: Plan, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_CSV_COLUMNS)
    for task in plan.tasks:
        s = task.subject
        writer.writerow((s.uscc, s.sector, s.tier.value, task.reason, *task.inspectors))


def summary(plan: Plan) -> str:
    """The per-tier table printed after a draw."""
    lines = [
        f"spot-check plan {plan.region} {SHIJIAZHUANG_COUNTIES[plan.region]} {plan.date} "
        f"seed {plan.seed} policy {plan.policy_version}",
        f"{'tier':<5}{'subjects':>9}{'eligible':>9}{'ratio':>7}{'drawn':>7}{'share':>8}"
        f"{'rounds/yr':>10}",
    ]
    for tier in TIERS:
        c = plan.counts[tier]
        share = f"{c.drawn / c.eligible:.1%}" if c.eligible else "-"
        lines.append(
            f"{tier.value:<5}{c.subjects:>9}{c.eligible:>9}{c.ratio:>7.1%}{c.drawn:>7}"
            f"{share:>8}{c.rounds_per_year:>10}"
        )
    lines.append(f"{len(plan.tasks)} tasks, two inspectors each")
    return "\n".join(lines)


def _date(text: str) -> Date:
    try:
        return Date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def run_draw(args: argparse.Namespace) -> int:
    def fail(message: str) -> int:
        print(f"creditwatch spotcheck draw: {message}", file=sys.stderr)
        return 2

    if args.region not in SHIJIAZHUANG_COUNTIES:
        return fail(f"unknown region code {args.region!r} (a Shijiazhuang county code)")
    if (args.subjects is None) == (args.simulated is None):
        return fail("give exactly one of --subjects FILE or --simulated N")
    if args.simulated is None and args.roster is None:
        return fail("--roster FILE is required with --subjects")
    for out in args.out:
        if out.suffix.lower() not in (".json", ".csv"):
            return fail(f"--out {out}: the name must end in .json or .csv")
    try:
        policy = load_spotcheck_policy(args.policy)
        if args.simulated is not None:
            if args.simulated < 1:
                return fail("--simulated needs a positive number of subjects")
            subjects, roster = simulated(args.simulated)
        else:
            subjects = read_subjects(args.subjects)
        if args.roster is not None:
            roster = read_roster(args.roster)
        history = read_history(args.history) if args.history is not None else {}
        plan = draw_plan(subjects, roster, history, args.region, args.date, args.seed, policy)
        for out in args.out:
            with out.open("w", newline="", encoding="utf-8") as handle:
                (write_json if out.suffix.lower() == ".json" else write_csv)(plan, handle)
    except (OSError, InputError, SpotCheckPolicyError, PairingImpossible) as exc:
        return fail(str(exc))
    except ValueError as exc:  # duplicate subjects or inspectors
        return fail(str(exc))
    if args.publish:
        try:
            publish(plan, bootstrap(args))
        except (BrokerUnreachable, KafkaError) as exc:
            return fail(f"the plan was drawn but not published: {exc}")
    print(summary(plan))
    for out in args.out:
        print(f"wrote {out}", file=sys.stderr)
    if args.publish:
        print(f"published on {SPOTCHECK_PLANS.name} as {plan_key(plan).decode()}", file=sys.stderr)
    return 0


def plan_key(plan: Plan) -> bytes:
    """One compacted record per round: a redraw of the same round replaces it."""
    return f"{plan.region}|{plan.date.isoformat()}".encode()


def publish(plan: Plan, bootstrap_servers: str) -> None:
    """Seed 七's 一公开: the plan on a topic, for the department systems that publish it."""
    value = json.dumps(plan.to_dict(), ensure_ascii=False).encode()
    with admin_io.producer(bootstrap_servers) as client:
        admin_io.send(client, SPOTCHECK_PLANS.name, plan_key(plan), value, admin_io.TIMEOUT_S)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``spotcheck`` sub-command."""
    parser = subparsers.add_parser(
        "spotcheck",
        help="双随机一公开 spot-checks: draw a round of subjects and inspector pairs",
        description="Random spot-checks (双随机一公开) with per-tier ratios (docs/spotcheck.md).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    draw = actions.add_parser(
        "draw",
        help="draw one round for a county",
        description=(
            "Draw one round in a county: per tier, the policy's share of eligible subjects "
            "(tier A only when triggered), each with two random inspectors who cover the "
            "county, have no declared conflict with it and did not inspect it recently. "
            "Identical inputs and seed give the identical plan. Prints a per-tier summary; "
            "writes the plan as JSON or CSV by the --out file's suffix."
        ),
    )
    draw.add_argument("--region", required=True, help="county code, e.g. 130102")
    draw.add_argument("--date", required=True, type=_date, help="round date, YYYY-MM-DD")
    draw.add_argument("--seed", required=True, type=int, help="the draw's seed (publish it)")
    draw.add_argument("--subjects", type=Path, help="CSV: " + ",".join(SUBJECT_COLUMNS))
    draw.add_argument(
        "--simulated",
        type=int,
        metavar="N",
        help="instead of --subjects: a demo city of N simulated subjects and a generated roster",
    )
    draw.add_argument(
        "--roster",
        type=Path,
        help="CSV: " + ",".join(ROSTER_COLUMNS) + " (regions, conflicts ';'-separated)",
    )
    draw.add_argument("--history", type=Path, help="CSV: " + ",".join(HISTORY_COLUMNS))
    draw.add_argument(
        "--out",
        type=Path,
        action="append",
        default=[],
        help="plan file, .json or .csv (repeat for both)",
    )
    draw.add_argument("--policy", type=Path, help="spot-check policy TOML (default: bundled)")
    draw.add_argument(
        "--publish",
        action="store_true",
        help=f"also send the plan to {SPOTCHECK_PLANS.name} (一公开), keyed region|date",
    )
    add_bootstrap(draw)
    draw.set_defaults(func=run_draw)
