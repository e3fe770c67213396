"""The open and overdue case gauges, counted from the serving view's indexes.

The gauge refresh runs every few seconds on every worker; it counts from the
indexes the case writer keeps, so it reads no case. The counts must still be
those of the cases themselves (``Case.overdue``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from creditwatch.embedded import EmbeddedRedis
from pipeline.cases import Case
from streams.serving import cases as case_view
from topics.cases import CaseStatus
from topics.wire_time import iso

NOW_S = 1_800_000_000.0
HOUR_S = 3600.0


def case(case_id: str, due_s: float, status: CaseStatus, escalated: bool = False) -> Case:
    opened = iso(due_s - 24 * HOUR_S)
    return Case(
        case_id=case_id, key=case_id, subject=None, region="130102", sector="food",
        counties=["130102"], queue="county", owner=None, status=status.value,
        opened_at=opened, due_at=iso(due_s), updated_at=opened, title=case_id, title_zh=None,
        escalated_at=iso(due_s + HOUR_S) if escalated else None,
        closed_at=iso(NOW_S) if status is CaseStatus.CLOSED else None,
    )  # fmt: skip


def test_open_and_overdue_counts_match_the_cases_without_reading_them(tmp_path: Path) -> None:
    cases = [
        case("waiting", NOW_S + HOUR_S, CaseStatus.NEW),
        case("due-now", NOW_S, CaseStatus.INVESTIGATING),  # due this very second: overdue
        case("late", NOW_S - HOUR_S, CaseStatus.NEW),  # past due, not escalated yet
        case("escalated", NOW_S - 2 * HOUR_S, CaseStatus.MEASURES_TAKEN, escalated=True),
        case("closed-late", NOW_S - 3 * HOUR_S, CaseStatus.CLOSED),
        case("closed-escalated", NOW_S - 4 * HOUR_S, CaseStatus.CLOSED, escalated=True),
    ]
    server = EmbeddedRedis(tmp_path).start()

    async def counts() -> tuple[int, int]:
        redis = aioredis.Redis.from_url(server.url)
        try:
            apply_case = case_view.case_applier(redis)
            for c in cases:
                await apply_case(orjson.dumps(c.to_json()))
            return await case_view.open_and_overdue(redis, NOW_S)
        finally:
            await redis.aclose()

    try:
        open_count, overdue = asyncio.run(counts())
    finally:
        server.stop()
    assert open_count == sum(1 for c in cases if not c.closed) == 4
    assert overdue == sum(1 for c in cases if c.overdue(NOW_S)) == 3
