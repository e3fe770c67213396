"""HTTP views on the worker's web server: metrics, health, the read API, live events.

The server binds 127.0.0.1 by default and has no authentication yet (roles and
tokens come with the alert-delivery work), so it serves only the Redis view,
never table contents.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web as aioweb
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import redis_keys as keys
from streams.app import app, settings
from streams.serving import redis
from topics import validation
from topics.vocabulary import AlertKind, AlertSeverity, Sector, Tier

log = logging.getLogger(__name__)

#: The board page ships in dashboards/ beside the code; an installed image copies
#: it elsewhere and says where with CREDITWATCH_BOARD.
BOARD_PAGE = Path(
    os.environ.get("CREDITWATCH_BOARD")
    or Path(__file__).resolve().parent.parent / "dashboards" / "board" / "index.html"
)
MAX_PAGE = 500
SSE_KEEPALIVE_MS = 15_000
STREAM_ID = re.compile(r"\d{1,20}(-\d{1,20})?")

FACET_VALUES: dict[str, set[str] | None] = {
    "region": None,  # any 6-digit code
    "sector": {s.value for s in Sector},
    "severity": {s.value for s in AlertSeverity},
    "kind": {k.value for k in AlertKind},
}


def _error(web: View, status: int, message: str) -> Response:
    return web.json({"error": message}, status=status)


@app.page("/metrics")  # type: ignore[arg-type]  # the exposition format sets its own charset
async def metrics_view(web: View, request: Request) -> aioweb.Response:
    return aioweb.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@app.page("/health")
async def health(web: View, request: Request) -> Response:
    try:
        redis_ok = bool(await redis.ping())
    except aioredis.RedisError:
        redis_ok = False
    partitions = len(app.consumer.assignment()) if app.consumer else 0
    body = {
        "status": "ok" if redis_ok else "degraded",
        "redis": redis_ok,
        "assigned_partitions": partitions,
    }
    return web.json(body, status=200 if redis_ok else 503)


@app.page("/")
async def board(web: View, request: Request) -> Response:
    if not BOARD_PAGE.exists():
        return _error(web, 404, "the alert board page is not installed")
    return web.html(BOARD_PAGE.read_text(encoding="utf-8"))


def _filters(query: Any) -> dict[str, str]:
    filters: dict[str, str] = {}
    for facet, allowed in FACET_VALUES.items():
        value = query.get(facet)
        if not value:
            continue
        if allowed is not None and value not in allowed:
            raise ValueError(f"{facet} must be one of {', '.join(sorted(allowed))}")
        if allowed is None and not (len(value) == 6 and value.isdigit()):
            raise ValueError(f"{facet} must be a 6-digit county code")
        filters[facet] = value
    return filters


def _page_args(query: Any) -> tuple[int, int]:
    try:
        limit = int(query.get("limit", 50))
        offset = int(query.get("offset", 0))
    except ValueError:
        raise ValueError("limit and offset must be integers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset >= 0")
    return limit, offset


async def open_alerts(filters: dict[str, str], limit: int, offset: int) -> tuple[int, list[Any]]:
    """Open alerts matching every filter, newest first, and how many match in all."""
    indexes = [keys.open_alerts_by(f, v) for f, v in filters.items()] or [keys.OPEN_ALERTS]
    if len(indexes) == 1:
        source = indexes[0]
        total = await redis.zcard(source)
        ids = await redis.zrevrange(source, offset, offset + limit - 1)
    else:
        matched = await redis.zinter(indexes, aggregate="MAX", withscores=True)
        ordered = sorted(matched, key=lambda pair: -pair[1])
        total = len(ordered)
        ids = [alert_id for alert_id, _ in ordered[offset : offset + limit]]
    raw = await redis.mget([keys.alert(i.decode()) for i in ids]) if ids else []
    return total, [orjson.loads(doc) for doc in raw if doc is not None]


@app.page("/api/alerts")
async def list_alerts(web: View, request: Request) -> Response:
    try:
        filters = _filters(request.query)
        limit, offset = _page_args(request.query)
    except ValueError as exc:
        return _error(web, 400, str(exc))
    total, found = await open_alerts(filters, limit, offset)
    return web.json({"total": total, "limit": limit, "offset": offset, "alerts": found})


@app.page("/api/alerts/{alert_id}")
async def get_alert(web: View, request: Request, alert_id: str) -> Response:
    raw = await redis.get(keys.alert(alert_id))
    if raw is None:
        return _error(web, 404, f"no alert {alert_id}")
    return web.bytes(raw, content_type="application/json")


@app.page("/api/subjects/{subject}")
async def get_subject(web: View, request: Request, subject: str) -> Response:
    try:
        code = validation.uscc({"subject": subject})
    except validation.InvalidRecord as exc:
        return _error(web, 400, exc.detail)
    raw = await redis.get(keys.profile(code))
    if raw is None:
        return _error(web, 404, f"no records for subject {code}")
    alert_ids = await redis.zrevrange(keys.subject_alerts(code), 0, 49)
    profile = orjson.loads(raw)
    profile["alert_ids"] = [i.decode() for i in alert_ids]
    return web.json(profile)


@app.page("/api/tiers")
async def get_tiers(web: View, request: Request) -> Response:
    counts = await redis.hgetall(keys.TIER_COUNTS)
    found = {k.decode(): int(v) for k, v in counts.items()}
    return web.json({tier.value: found.get(tier.value, 0) for tier in Tier})


@app.page("/api/events")  # type: ignore[arg-type]  # aiohttp streams its own response
async def live_events(web: View, request: Request) -> aioweb.StreamResponse:
    """Server-sent events: new alerts and tier moves, for the board.

    A client that reconnects with ``Last-Event-ID`` receives what it missed
    (within the stream's retention of ~10,000 events); a new client starts now.
    """
    return await stream_events(request, keys.LIVE_EVENTS, request.headers.get("Last-Event-ID"))


@app.page("/api/inbox/{inspector}/events")  # type: ignore[arg-type]
async def inbox_events(web: View, request: Request, inspector: str) -> aioweb.StreamResponse:
    """Server-sent events: the alerts routed to one inspector (``streams/routing.toml``).

    The inbox is durable: a client that reconnects with ``Last-Event-ID`` (or
    ``?after=ID``) receives exactly the alerts routed while it was away; a new
    client without one receives the whole inbox first.
    """
    after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    return await stream_events(request, keys.inbox(inspector), after)


async def stream_events(
    request: Request, stream_key: str, last_id: str | None
) -> aioweb.StreamResponse:
    """Relay a Redis stream as server-sent events, from after ``last_id`` (None: from now)."""
    if last_id is not None and not STREAM_ID.fullmatch(last_id):
        message = f"Last-Event-ID must be a stream id like 1732845600000-0, got {last_id!r}"
        return aioweb.json_response({"error": message}, status=400)
    response = aioweb.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)  # type: ignore[arg-type]
    position = last_id or "$"
    reader = aioredis.Redis.from_url(settings.redis)  # blocking reads need their own link
    try:
        while True:
            batch = await reader.xread({stream_key: position}, count=200, block=SSE_KEEPALIVE_MS)
            if not batch:
                await response.write(b": keep-alive\n\n")
                continue
            for _, entries in batch:
                for entry_id, fields in entries:
                    position = entry_id.decode()
                    await response.write(
                        b"id: "
                        + entry_id
                        + b"\nevent: "
                        + fields[b"type"]
                        + b"\ndata: "
                        + fields[b"data"]
                        + b"\n\n"
                    )
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the client went away, or the worker is stopping
    finally:
        await reader.aclose()
    return response
