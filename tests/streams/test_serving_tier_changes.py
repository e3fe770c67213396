"""Tier changes reach the serving view in runs (one script call per run of records): the
board's tiers, counts, recent moves and live stream are what one call per change made."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from creditwatch.embedded import EmbeddedRedis, free_port
from streams.serving import redis_keys as keys
from streams.serving import view as serving
from streams.wiring import Wiring
from topics.catalogue import RISK_SILENCES, RISK_TIER_CHANGES


def change(subject: str, version: int, tier: str) -> bytes:
    return orjson.dumps({"subject": subject, "version": version, "tier": tier})


#: S1 is graded B, moves to C, then to D; a stale replay of its version 2 comes late;
#: S2 is graded A once.
RECORDS = [
    change("S1", 1, "B"),
    change("S2", 1, "A"),
    change("S1", 2, "C"),
    change("S1", 3, "D"),
    change("S1", 2, "C"),
]


def view_after(
    tmp_path: Path, worker: Wiring, batches: list[list[tuple[str, bytes | None]]]
) -> dict[str, Any]:
    port = free_port()
    server = EmbeddedRedis(tmp_path, port=port).start()

    async def scenario() -> dict[str, Any]:
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        view = serving.ServingView(client, worker.routing, worker.context.policy)
        try:
            applied = [await serving.apply_records(client, b, view.appliers) for b in batches]
            live = await client.xrange(keys.LIVE_EVENTS)
            return {
                "applied": applied,
                "tiers": await client.hgetall(keys.SUBJECT_TIERS),
                "counts": await client.hgetall(keys.TIER_COUNTS),
                "recent": await client.lrange(keys.RECENT_TIER_CHANGES, 0, -1),
                "live": [(fields[b"type"], fields[b"data"]) for _, fields in live],
            }
        finally:
            await client.aclose()

    try:
        return asyncio.run(scenario())
    finally:
        server.stop()


def test_a_run_of_tier_changes_applies_each_in_order_and_skips_stale_ones(
    tmp_path: Path, worker: Wiring
) -> None:
    topic = RISK_TIER_CHANGES.name
    seen = view_after(tmp_path, worker, [[(topic, value) for value in RECORDS]])

    assert seen["applied"] == [5]  # records handed to Redis, the stale one included
    assert seen["tiers"] == {b"S1": b"3|D", b"S2": b"1|A"}
    assert seen["counts"] == {b"A": b"1", b"B": b"0", b"C": b"0", b"D": b"1"}
    # Moves only, newest first; first gradings are neither listed nor announced.
    assert seen["recent"] == [RECORDS[3], RECORDS[2]]
    assert seen["live"] == [(b"tier-change", RECORDS[2]), (b"tier-change", RECORDS[3])]


def test_runs_split_by_size_or_by_other_records_give_the_same_view(
    tmp_path: Path, worker: Wiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = RISK_TIER_CHANGES.name
    whole = view_after(tmp_path / "whole", worker, [[(topic, value) for value in RECORDS]])
    monkeypatch.setattr(serving, "RUN_MAX_RECORDS", 2)
    silence = orjson.dumps({"silence_id": "s-1", "ends_at": "2026-12-08T00:00:00Z"})
    first: list[tuple[str, bytes | None]] = [
        (topic, RECORDS[0]),
        (RISK_SILENCES.name, silence),  # ends the run
        (topic, RECORDS[1]),
        (topic, RECORDS[2]),
        (topic, None),  # a compaction tombstone
    ]
    split = view_after(
        tmp_path / "split", worker, [first, [(topic, RECORDS[3])], [(topic, RECORDS[4])]]
    )

    assert split["applied"] == [4, 1, 1]
    assert {k: v for k, v in split.items() if k != "applied"} == {
        k: v for k, v in whole.items() if k != "applied"
    }
