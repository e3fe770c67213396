"""``creditwatch bench backtest``: how fast the policy backtest replays a city's history.

An embedded PostgreSQL gets a record store filled with a simulated city
(subjects × days × records per subject per day, stored by the archive's own
writer: :mod:`creditwatch.backtest.simulated`), ending at the start of today.
Then the backtest's own reader and replay run on it, as ``creditwatch policy
backtest`` does, under the bundled policy and a copy with D from 60 instead of
75: rows for storing, for reading alone, and for the replay under both
policies (reading included), and how many subjects the lower bound moved.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta

import psycopg

from creditwatch.backtest.compare import compare
from creditwatch.backtest.history import Window, read_history
from creditwatch.backtest.replay import replay
from creditwatch.backtest.simulated import CityHistory, store_history
from creditwatch.bench.report import Row, rate
from creditwatch.bench.runner import every, say
from creditwatch.embedded import EmbeddedPostgres
from creditwatch.simulation.traffic import SHANGHAI
from detectors.policy import default_policy
from pipeline.context import StepContext
from streams.archive.migrate import upgrade
from streams.settings import Settings

#: The new policy's D bound (the bundled one's is 75).
LOWER_D = 60.0


def city_until_today(subjects: int, days: float, per_day: float, seed: int) -> CityHistory:
    """The city's last ``days`` days, ending at today's midnight in Shanghai: in the past,
    as the input contracts require."""
    today = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return CityHistory(today - timedelta(days=days), days, subjects, per_day, seed)


def bench_backtest(subjects: int, days: float, per_day: float, seed: int = 1) -> list[Row]:
    history = city_until_today(subjects, days, per_day, seed)
    current = default_policy()
    new = dataclasses.replace(
        current,
        tiers=dataclasses.replace(current.tiers, d_from=LOWER_D),
        version=f"{current.version}-lower-d",
        digest="0" * 64,
    )
    key = Settings.from_env().pseudonym_secret()
    with EmbeddedPostgres() as server:
        url = server.create_database("backtest")
        upgrade(url)
        say(f"storing {history.records:,} simulated records ({subjects:,} subjects, {days:g} days)")
        started = time.perf_counter()
        stored = store_history(url, history, every(10, lambda n: f"  {n:,} records mapped"))
        store_s = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            read = sum(1 for _ in read_history(conn, Window()))
            read_s = time.perf_counter() - started
            say(f"replaying {read:,} records under both policies")
            progress = every(10, lambda n: f"  {n:,} records replayed")
            contexts = StepContext(current, key), StepContext(new, key)
            done = replay(read_history(conn, Window()), *contexts, progress)
    comparison = compare(done, "bundled", f"d_from {LOWER_D:g}")
    size = f"{read:,} records, {comparison.subjects:,} subjects, {comparison.days:.1f} days"
    return [
        Row("backtest.store", rate(stored, store_s), "records/s", "simulate, map, COPY"),
        Row("backtest.read", rate(read, read_s), "records/s", f"event-time order; {size}"),
        Row(
            "backtest.replay",
            done.rate,
            "records/s",
            f"both policies, reading included; {done.seconds:,.0f} s",
        ),
        Row("backtest.moved", float(len(comparison.moves)), "subjects", f"d_from {LOWER_D:g}"),
    ]
