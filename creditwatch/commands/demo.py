"""``creditwatch demo``: the whole system on this machine, with a live summary.

Starts the embedded broker (Tansu), Redis and PostgreSQL (the record store),
creates the topics, starts a worker, the archive sink, the public disclosure
site and the simulator, and prints what the pipeline is doing: on a terminal one
summary redrawn in place, into a file or pipe one compact line now and then.

It is meant to run for hours, so it rides out trouble and says what happened:
a broker or Redis that does not answer in time leaves the last good figures
on show, marked stale, and is asked again at the next refresh; a worker or
simulator that exits, even by ``kill -9``, is restarted and how it ended is
shown. Each such incident is also written to ``demo.log`` in the work
directory, and after any incident, or an abnormal end, that directory (every
log) is kept and its path printed. Ctrl-C stops everything it started,
simulator first; after a clean run it leaves nothing behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from creditwatch.commands.simulate import _ratio
from creditwatch.commands.token import create_token
from creditwatch.embedded import EmbeddedError, EmbeddedStack
from creditwatch.evaluation.alert_budget import BOARD_ITEMS, AlertBudget
from creditwatch.monitor import DEFAULT_TIMEOUT_S, Monitor, Snapshot, Unavailable
from creditwatch.processes import (
    ChildProcess,
    PublicSiteProcess,
    SinkProcess,
    WorkerProcess,
    describe_exit,
    elapsed_since,
    stop_all,
)
from creditwatch.simulation.traffic import DEFAULT_BAD_RATIO
from creditwatch.topic_admin import create_topics
from streams.settings import DATABASE_VARIABLE
from topics.access import Role
from topics.catalogue import ALL_TOPICS, INPUT_TOPICS

REFRESH_TTY_S = 2.0  # a screen redrawn in place costs nothing to refresh often
REFRESH_LOG_S = 30.0  # a line in a file does: at this pace ~30 kB an hour
TICK_S = 0.5  # how often children are checked, between summaries
QUICK_EXIT_S = 30.0  # a child that exits this soon after starting may be broken
MAX_QUICK_EXITS = 3  # ... and after this many such exits in a row it is: give up
RECENT_INCIDENTS = 5
TIER_CHANGES_SHOWN = 6
INCIDENT_LOG = "demo.log"

# Terminal codes for redrawing in place. Not "clear screen" (ESC[2J, or ESC[J
# at the top left): tmux and VTE terminals push a cleared screen into the
# scrollback, a screenful per refresh.
CURSOR_HOME = "\x1b[H"
CLEAR_TO_LINE_END = "\x1b[K"
CLEAR_BELOW = "\x1b[J"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run broker, Redis, PostgreSQL, a worker, the archive sink and the simulator "
        "here, with a live summary",
    )
    parser.add_argument("--rate", type=float, default=300.0, help="simulated events/s")
    parser.add_argument("--subjects", type=int, default=10_000, help="simulated subjects")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes in the consumer group, sharing the partitions (%(default)s)",
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--workdir", type=Path, help="keep logs and data here")
    parser.add_argument(
        "--bad-ratio",
        type=_ratio,
        default=DEFAULT_BAD_RATIO,
        help="share of deliberately invalid records the simulator sends (%(default)s)",
    )
    parser.add_argument(
        "--refresh",
        type=_seconds,
        help=f"seconds between summaries (default {REFRESH_TTY_S:g} on a terminal, "
        f"{REFRESH_LOG_S:g} into a file or pipe)",
    )
    parser.add_argument(
        "--monitor-timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_S,
        help="seconds the summary waits for the broker or Redis before it calls them slow "
        "and shows its last figures (%(default)s)",
    )
    parser.set_defaults(func=run)


def worker_name(index: int) -> str:
    """The first worker is "worker" (its log is ``worker.log``), the others numbered.

    >>> worker_name(0), worker_name(1)
    ('worker', 'worker-2')
    """
    return "worker" if index == 0 else f"worker-{index + 1}"


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    # A supervisor's SIGTERM means the same as Ctrl-C: stop everything, in order.
    signal.signal(signal.SIGTERM, _interrupt)
    say("creditwatch demo: starting the embedded broker, Redis and PostgreSQL …")
    status = 0
    tty = sys.stdout.isatty()
    with EmbeddedStack(args.workdir) as stack:
        assert stack.workdir is not None
        # On a terminal incidents show in the summary; in a log, as lines of their own.
        incidents = Incidents(stack.workdir / INCIDENT_LOG, started, echo=not tty)
        assert stack.database_url is not None
        site = PublicSiteProcess(stack.workdir, stack.database_url)
        # The worker's record search and credit reports read the store; a report
        # names the public site where it can be verified.
        workers = [
            WorkerProcess(
                stack.workdir,
                stack.kafka_url,
                stack.redis_url,
                name=worker_name(index),
                partitions=args.partitions,
                env={DATABASE_VARIABLE: stack.database_url, "CREDITWATCH_PUBLIC_URL": site.url},
            )
            for index in range(args.workers)
        ]
        worker = workers[0]  # serves the board; every worker serves the same API
        simulator = ChildProcess(
            "simulator",
            [
                "simulate",
                "--bootstrap",
                stack.bootstrap,
                "--rate",
                str(args.rate),
                "--subjects",
                str(args.subjects),
                "--seed",
                str(args.seed),
                "--bad-ratio",
                str(args.bad_ratio),
            ],
            stack.workdir,
        )
        sink = SinkProcess(stack.workdir, stack.kafka_url, stack.database_url)
        figures = Figures()
        # Children stop before the broker and Redis they talk to, producer first.
        try:
            create_topics(stack.bootstrap, ALL_TOPICS, args.partitions)
            for each in workers:
                each.start()
            sink.start()
            site.start()
            simulator.start()
            # The API needs a token; the demo makes a supervision-centre one and
            # hands it to the board in the address's fragment (never sent to a server).
            token = create_token(stack.bootstrap, stack.redis_url, "demo-centre", Role.CENTRE)
            board = f"http://127.0.0.1:{worker.web_port}/#token={token}"

            def header() -> str:
                return _header(stack, board, site, workers, simulator, sink, args.rate)

            say(header())
            children = [*workers, simulator, sink, site]
            _watch(args, stack, children, figures, incidents, started, header, tty)
        except KeyboardInterrupt:
            say("\ncreditwatch demo: stopping …")
        except EmbeddedError as exc:
            print(f"creditwatch demo: {exc}", file=sys.stderr)
            incidents.note(f"stopped: {exc}", echo=False)  # just printed
            status = 1
        except BaseException as exc:
            # A bug of the demo's own: Python prints the traceback; keep the logs.
            incidents.note(f"stopped by {type(exc).__name__}: {exc}")
            raise
        finally:
            stop_all([simulator, *workers, sink, site])
            if figures.latest is not None and figures.latest.budget is not None:
                say(f"creditwatch demo: {figures.latest.budget.report()}")
            if incidents.count or stack.keep:
                stack.keep = True  # the logs are the evidence of what went wrong
                what = f" (incidents: {INCIDENT_LOG})" if incidents.count else ""
                say(f"creditwatch demo: logs kept in {stack.workdir}{what}")
    say("creditwatch demo: stopped; every process it started has exited.")
    return status


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def say(*parts: object) -> None:
    print(*parts, flush=True)


def _header(
    stack: EmbeddedStack,
    board: str,
    site: PublicSiteProcess,
    workers: Sequence[ChildProcess],
    simulator: ChildProcess,
    sink: SinkProcess,
    rate: float,
) -> str:
    # Read at each summary: a restarted child has a new pid.
    broker, server, postgres = stack.broker, stack.redis, stack.postgres
    assert broker is not None and server is not None and postgres is not None
    return (
        f"broker {stack.bootstrap} (pid {broker.pid}) · redis {stack.redis_url} "
        f"(pid {server.pid}) · logs {stack.workdir}\n"
        f"board {board}\n"
        f"public site {site.url} (no login: 双公示, lists, spot checks, report verification) "
        f"pid {site.pid}\n"
        f"record store {stack.database_url} (PostgreSQL pid {postgres.pid}) · archive sink "
        f"pid {sink.pid}, metrics http://127.0.0.1:{sink.metrics_port}/metrics\n"
        f"worker pid {', '.join(str(w.pid) for w in workers)} · simulator pid "
        f"{simulator.pid} at {rate:g} events/s"
    )


class Incidents:
    """What went wrong during the run, in order.

    The last few are shown in the summary; all of them go to ``demo.log`` in
    the work dir (kept after any incident), with a UTC time stamp; into a log
    (``echo``) each is also printed at once, not at the next compact line.
    """

    def __init__(self, path: Path, started: float, *, echo: bool) -> None:
        self.path = path
        self.started = started
        self.echo = echo
        self.count = 0
        self.recent: deque[str] = deque(maxlen=RECENT_INCIDENTS)

    def note(self, text: str, *, echo: bool = True) -> None:
        self.count += 1
        line = f"{elapsed_since(self.started)}  {text}"
        self.recent.append(line)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')}  {text}\n")
        if self.echo and echo:
            say(f"creditwatch demo: {line}")


class Supervisor:
    """Restarts the demo's children when they exit, and says how each one ended.

    A child that keeps exiting soon after it starts is broken, not unlucky:
    after ``MAX_QUICK_EXITS`` such exits in a row the demo stops with the end
    of its log rather than restart it forever.
    """

    def __init__(self, children: Sequence[ChildProcess], incidents: Incidents) -> None:
        self.children = children
        self.incidents = incidents
        self.quick_exits = {child.name: 0 for child in children}

    def check(self) -> None:
        for child in self.children:
            code = child.returncode
            if code is None:
                continue
            how = describe_exit(code)
            ran = elapsed_since(child.started_at or 0.0)
            quick = time.monotonic() - (child.started_at or 0.0) < QUICK_EXIT_S
            self.quick_exits[child.name] = self.quick_exits[child.name] + 1 if quick else 0
            if self.quick_exits[child.name] >= MAX_QUICK_EXITS:
                raise EmbeddedError(
                    f"{child.name} exited {MAX_QUICK_EXITS} times in a row within "
                    f"{QUICK_EXIT_S:g} s of starting ({how}); the end of {child.log_path}:\n"
                    f"{child.log_tail()}"
                )
            child.start()
            self.incidents.note(
                f"{child.name} exited ({how}) after {ran}; restarted as pid {child.pid} "
                f"(log {child.log_path})"
            )


def _check_services(stack: EmbeddedStack) -> None:
    """Raise if the broker or Redis has died: memory-only, they cannot be restarted."""
    for role, service in (("broker", stack.broker), ("Redis", stack.redis)):
        code = service.returncode if service is not None else None
        if service is not None and code is not None:
            raise EmbeddedError(
                f"the {role} ({service.name}) ended ({describe_exit(code)}) and everything it "
                f"held is gone; the demo cannot go on. Its log: {service.log_path}"
            )


@dataclass(slots=True)
class Figures:
    """The latest good snapshot and the rates into it, and what stops a fresh one."""

    latest: Snapshot | None = None
    # time.monotonic() when ``latest`` was read; before the first, when the demo's
    # topics were created empty, so the first rate counts from there.
    latest_at: float = field(default_factory=time.monotonic)
    rates: dict[str, float] = field(default_factory=dict)
    trouble: Unavailable | None = None
    trouble_since: float = 0.0

    def read(self, monitor: Monitor, incidents: Incidents, refresh: float) -> None:
        now = time.monotonic()
        try:
            snapshot = monitor.snapshot()
        except Unavailable as exc:
            if self.trouble is None:
                self.trouble_since = now
                incidents.note(f"{exc}; showing the last figures, asking again every {refresh:g} s")
            self.trouble = exc
            return
        if self.trouble is not None:
            incidents.note(
                f"{self.trouble.service} answering again after {now - self.trouble_since:.0f} s"
            )
            self.trouble = None
        seconds = now - self.latest_at
        self.rates = {
            spec.name: _rate(snapshot, self.latest, spec.name, seconds) for spec in INPUT_TOPICS
        }
        self.latest, self.latest_at = snapshot, now

    def view(self, header: str, elapsed: str, bad_ratio: float, incidents: Sequence[str]) -> View:
        return View(
            header,
            elapsed,
            self.latest,
            self.rates,
            bad_ratio,
            stale=str(self.trouble) if self.trouble is not None else None,
            age=time.monotonic() - self.latest_at,
            incidents=list(incidents),
        )


def _watch(
    args: argparse.Namespace,
    stack: EmbeddedStack,
    children: Sequence[ChildProcess],
    figures: Figures,
    incidents: Incidents,
    started: float,
    header: Callable[[], str],
    tty: bool,
) -> None:
    refresh = args.refresh or (REFRESH_TTY_S if tty else REFRESH_LOG_S)
    monitor = Monitor(
        stack.bootstrap,
        stack.redis_url,
        timeout=args.monitor_timeout,
        subjects=args.subjects,
        records_per_s=args.rate,
    )
    supervisor = Supervisor(children, incidents)
    next_summary = time.monotonic() + refresh
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            time.sleep(TICK_S)
            _check_services(stack)
            supervisor.check()
            if time.monotonic() < next_summary:
                continue
            figures.read(monitor, incidents, refresh)
            next_summary = time.monotonic() + refresh
            view = figures.view(header(), elapsed_since(started), args.bad_ratio, incidents.recent)
            if tty:
                print(redraw(render(view), shutil.get_terminal_size()), end="", flush=True)
            else:
                say(compact(view))
    finally:
        monitor.close()


def _rate(now: Snapshot, before: Snapshot | None, topic: str, seconds: float) -> float:
    """Records per second into ``topic`` since ``before`` (None: since it was empty)."""
    if seconds <= 0:
        return 0.0
    previous = before.end_offsets.get(topic, 0) if before is not None else 0
    return (now.end_offsets.get(topic, 0) - previous) / seconds


@dataclass(frozen=True, slots=True)
class View:
    """What one summary shows."""

    header: str
    elapsed: str
    snapshot: Snapshot | None  # the latest good figures, None before the first
    rates: Mapping[str, float]  # input events/s per topic, into ``snapshot``
    bad_ratio: float  # the simulator's share of deliberately bad records
    stale: str | None = None  # why the figures are not fresh (e.g. "broker slow: ...")
    age: float = 0.0  # seconds since ``snapshot`` was read
    incidents: Sequence[str] = ()


def dead_letters(count: int, processed: int, bad_ratio: float) -> str:
    """The DLQ count with where it comes from: in the demo, mostly on purpose.

    The expected count is of records processed, not sent: the worker writes
    dead letters as it reads, so a lagging worker has written fewer.
    """
    if bad_ratio <= 0:
        return f"dead letters {count:,} (the simulator sends no bad records)"
    return (
        f"dead letters {count:,} (the simulator sends {bad_ratio * 100:g}% bad records "
        f"on purpose, ≈{round(processed * bad_ratio):,} so far)"
    )


def _effective_at(change: Mapping[str, object]) -> datetime:
    try:
        at = datetime.fromisoformat(str(change.get("effective_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def latest_tier_changes(
    changes: Sequence[Mapping[str, object]], limit: int = TIER_CHANGES_SHOWN
) -> list[Mapping[str, object]]:
    """The newest ``limit`` changes by when they took effect, newest first.

    Redis keeps them in the order they were written, which interleaves the
    partitions and replays; the summary promises time order.
    """
    return sorted(changes, key=_effective_at, reverse=True)[:limit]


def _tier_change_line(change: Mapping[str, object]) -> str:
    reasons = change.get("reasons")
    top = reasons[0] if isinstance(reasons, list) and reasons else {}
    at = _effective_at(change).astimezone(UTC)
    return (
        f"  {at:%H:%M:%S} UTC  {change.get('subject')}  "
        f"{change.get('previous_tier')} → {change.get('tier')}  score {change.get('score')}  "
        f"{top.get('fact', '')} {top.get('value', '')}".rstrip()
    )


def _stale_note(view: View) -> str:
    return f"{view.stale}; figures are {view.age:.0f} s old (stale)"


def render(view: View) -> str:
    """The live summary, one screenful."""
    lines = [f"── creditwatch · {view.elapsed} " + "─" * 44, view.header]
    now = view.snapshot
    if view.stale is not None:
        lines.append(f"!! {_stale_note(view)}, asking again")
    if now is None:
        lines.append("waiting for the first figures …")
    else:
        rates = {spec.name: view.rates.get(spec.name, 0.0) for spec in INPUT_TOPICS}
        lines += [
            "input events/s  "
            + "  ".join(f"{t} {r:,.0f}" for t, r in rates.items())
            + f"  total {sum(rates.values()):,.0f}",
            f"processed       {now.consumed:,} of {now.inputs:,} (lag {now.lag:,})",
            f"                {dead_letters(now.dead_letters, now.consumed, view.bad_ratio)}",
            "tiers           " + "  ".join(f"{tier} {n:,}" for tier, n in now.tiers.items()),
            "open alerts     "
            + "  ".join(f"{sev} {n:,}" for sev, n in reversed(list(now.open_alerts.items()))),
        ]
        if now.budget is not None:
            lines += budget_lines(now.budget)
    if view.incidents:
        lines.append(f"incidents (all in {INCIDENT_LOG}):")
        lines += [f"  {line}" for line in view.incidents]
    if now is not None:
        lines.append("latest tier changes, newest first:")
        changes = latest_tier_changes(now.recent_tier_changes)
        lines += [_tier_change_line(change) for change in changes] or ["  (none yet)"]
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def compact(view: View) -> str:
    """The summary as one line, for a log file or pipe."""
    now = view.snapshot
    prefix = f"{view.elapsed}  " + (f"{_stale_note(view)}: " if view.stale is not None else "")
    if now is None:
        return prefix + "no figures yet"
    return prefix + "  ".join(
        [
            f"processed {now.consumed:,} of {now.inputs:,} (lag {now.lag:,})",
            f"input {sum(view.rates.values()):,.0f}/s",
            dead_letters(now.dead_letters, now.consumed, view.bad_ratio),
            "alerts open " + " ".join(f"{sev} {n:,}" for sev, n in now.open_alerts.items()),
            *([now.budget.summary()] if now.budget is not None else []),
            "tiers " + " ".join(f"{tier} {n:,}" for tier, n in now.tiers.items()),
        ]
    )


def budget_lines(budget: AlertBudget) -> list[str]:
    """The alert budget so far: board items per 1,000 subjects per day, by kind.

    The day is one of event time, which in the demo is the wall clock, counted
    over the traffic the worker has processed: an hour of it is 1/24 of a day,
    so its counts are scaled by 24.
    """
    by_kind = budget.by(BOARD_ITEMS, 0)
    return [
        f"alert budget    {budget.summary()}",
        "                board items by kind: "
        + ("  ".join(f"{kind} {rate:,.1f}" for kind, rate in by_kind.items()) or "none yet")
        + f"  (over {budget.days * 24:.2f} h of traffic processed)",
    ]


def redraw(block: str, size: os.terminal_size) -> str:
    """Terminal output that paints ``block`` over the previous one.

    Each line overwrites the old one and clears what is left of it, then the
    rest of the screen is cleared; lines that would not fit are left out,
    because a scrolling screen would again grow the scrollback.
    """
    rows, fitted = 0, []
    for line in block.split("\n"):
        rows += max(1, -(-len(line) // max(1, size.columns)))  # wrapped lines take more rows
        if rows >= size.lines:
            break
        fitted.append(line + CLEAR_TO_LINE_END)
    return CURSOR_HOME + "\n".join(fitted) + CLEAR_BELOW
