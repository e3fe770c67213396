"""``creditwatch spotcheck draw|rounds``: a 双随机 spot-check round from the live serving view
or from CSV files, and the rounds the policy schedules (docs/spotcheck.md)."""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime
from datetime import date as Date
from pathlib import Path
from typing import TextIO

import orjson
import redis
from kafka.errors import KafkaError

from creditwatch import admin_io
from creditwatch.commands import options
from creditwatch.commands.options import add_bootstrap, bootstrap
from creditwatch.topic_admin import BrokerUnreachable
from detectors.policy import default_policy
from detectors.spotcheck import (
    TIERS,
    Inspector,
    PairingImpossible,
    Plan,
    SpotCheckPolicy,
    SpotCheckPolicyError,
    SpotSubject,
    draw_plan,
    load_spotcheck_policy,
    schedule,
)
from pipeline.spotcheck import spot_subject
from streams.serving import redis_keys as keys
from topics.catalogue import SPOTCHECK_PLANS
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, Department, Tier

SUBJECT_COLUMNS = ("uscc", "region", "sector", "tier", "triggered")
ROSTER_COLUMNS = ("inspector_id", "name", "regions", "conflicts")  # and optionally department
HISTORY_COLUMNS = ("uscc", "inspector_id")
PLAN_CSV_COLUMNS = (
    "visit", "uscc", "sector", "tier", "reason", "departments", "measures",
    "inspector_1", "inspector_2",
)  # fmt: skip
#: Profiles read from Redis per round trip in a live draw.
PROFILES_PER_READ = 500
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
        department = row.get("department") or None
        if department is not None and department not in {d.value for d in Department}:
            raise InputError(f"{where}: unknown department {department!r}")
        roster.append(
            Inspector(
                row["inspector_id"], row["name"], regions, _split(row["conflicts"]), department
            )
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


def read_live(url: str, region: str, now: datetime) -> list[SpotSubject]:
    """The county's subjects as the serving view has them now: each subject with a tier
    (``cw:subject-tiers``) whose profile is in ``region``, with its triggers and the
    list measures in force (:func:`pipeline.spotcheck.spot_subject`)."""
    found = []
    with redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5) as client:
        subjects = sorted(key.decode() for key in client.hkeys(keys.SUBJECT_TIERS))
        for start in range(0, len(subjects), PROFILES_PER_READ):
            chunk = subjects[start : start + PROFILES_PER_READ]
            for stored in client.mget([keys.profile(subject) for subject in chunk]):
                if stored is None:
                    continue  # tiered, but its profile is not written yet
                profile = orjson.loads(stored)
                if profile.get("region") != region:
                    continue
                subject = spot_subject(profile, now)
                if subject is not None:
                    found.append(subject)
    return found


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
        writer.writerow(
            (
                task.visit_id(plan.region, plan.date),
                s.uscc,
                s.sector,
                s.tier.value,
                task.reason,
                ";".join(task.departments),
                ";".join(task.measures),
                *task.inspectors,
            )
        )


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
            f"{share:>8}{c.rounds_per_year:>10}{'' if c.due else '  not due'}"
        )
    joint = sum(len(t.departments) > 1 for t in plan.tasks)
    lines.append(
        f"{len(plan.tasks)} visits, two inspectors each; {joint} joint (进一次门、查多项事)"
    )
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
    sources = (args.subjects is not None) + (args.simulated is not None) + args.live
    if sources != 1:
        return fail("give exactly one of --live, --subjects FILE or --simulated N")
    if args.simulated is None and args.roster is None:
        return fail("--roster FILE is required with --subjects or --live")
    for out in args.out:
        if out.suffix.lower() not in (".json", ".csv"):
            return fail(f"--out {out}: the name must end in .json or .csv")
    try:
        policy = load_spotcheck_policy(args.policy)
        tiers = due_tiers(policy, args.region, args.date) if args.scheduled else TIERS
        if not tiers:
            rounds = ", ".join(
                d.isoformat() for d in rounds_of(policy, args.region, args.date.year)
            )
            return fail(f"no round is scheduled on {args.date} in {args.region}: {rounds}")
        if args.simulated is not None:
            if args.simulated < 1:
                return fail("--simulated needs a positive number of subjects")
            subjects, roster = simulated(args.simulated)
        elif args.live:
            subjects = read_live(options.redis_url(args), args.region, datetime.now(UTC))
        else:
            subjects = read_subjects(args.subjects)
        if args.roster is not None:
            roster = read_roster(args.roster)
        history = read_history(args.history) if args.history is not None else {}
        plan = draw_plan(
            subjects, roster, history, args.region, args.date, args.seed, policy, tiers
        )
        for out in args.out:
            with out.open("w", newline="", encoding="utf-8") as handle:
                (write_json if out.suffix.lower() == ".json" else write_csv)(plan, handle)
    except redis.RedisError as exc:
        return fail(f"cannot read the live serving view: {exc}")
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


def rounds_of(policy: SpotCheckPolicy, region: str, year: int) -> dict[Date, tuple[Tier, ...]]:
    """The county's rounds in ``year`` on the working calendar of detectors/policy.toml."""
    calendar = default_policy().supervision.calendar
    return schedule(policy.rules(region), year, calendar.next_working_day)


def due_tiers(policy: SpotCheckPolicy, region: str, day: Date) -> tuple[Tier, ...]:
    """The tiers whose round falls on ``day`` (none: no round then)."""
    return rounds_of(policy, region, day.year).get(day, ())


def run_rounds(args: argparse.Namespace) -> int:
    if args.region not in SHIJIAZHUANG_COUNTIES:
        print(f"creditwatch spotcheck rounds: unknown region code {args.region!r}", file=sys.stderr)
        return 2
    try:
        policy = load_spotcheck_policy(args.policy)
    except SpotCheckPolicyError as exc:
        print(f"creditwatch spotcheck rounds: {exc}", file=sys.stderr)
        return 2
    print(f"spot-check rounds {args.region} {SHIJIAZHUANG_COUNTIES[args.region]} {args.year} "
          f"policy {policy.version}")  # fmt: skip
    for day, tiers in rounds_of(policy, args.region, args.year).items():
        print(f"{day.isoformat()}  tiers {' '.join(t.value for t in tiers)}")
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
    draw.add_argument(
        "--live",
        action="store_true",
        help="read tiers, triggers and list measures from the live serving view (Redis)",
    )
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
        help="CSV: " + ",".join(ROSTER_COLUMNS) + "[,department] (regions, conflicts "
        "';'-separated; an inspector of a department is sent on its visits only)",
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
    draw.add_argument(
        "--scheduled",
        action="store_true",
        help="draw only the tiers whose round the policy schedules on --date (see rounds)",
    )
    add_bootstrap(draw)
    options.add_redis(draw)
    draw.set_defaults(func=run_draw)
    rounds = actions.add_parser(
        "rounds",
        help="the rounds of a year: dates and the tiers drawn on each",
        description=(
            "Each tier's rounds_per_year spread evenly over the year from 1 January, on "
            "working days (detectors/policy.toml's calendar); tiers share dates."
        ),
    )
    rounds.add_argument("--region", required=True, help="county code, e.g. 130102")
    rounds.add_argument("--year", required=True, type=int)
    rounds.add_argument("--policy", type=Path, help="spot-check policy TOML (default: bundled)")
    rounds.set_defaults(func=run_rounds)
