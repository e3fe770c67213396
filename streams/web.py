"""HTTP views on the worker's web server: metrics, health, the read API, live events.

The server binds 127.0.0.1 by default. Every ``/api`` endpoint needs a token
and answers within its role and scope (``streams/web_access.py``,
``docs/access.md``); it serves only the Redis view, never table contents.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web as aioweb
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from detectors.policy import default_policy
from streams import redis_keys as keys
from streams.access import Principal, mask_personal, present_alert, present_profile, require
from streams.app import app
from streams.measures import UnknownAction, known_actions, measures_answer, requested_action
from streams.serving import blocking_reader, redis
from streams.web_access import error, guarded
from topics import validation
from topics.access import Role
from topics.vocabulary import AlertKind, AlertSeverity, Sector, Tier

log = logging.getLogger(__name__)

#: The board page ships in dashboards/ beside the code; an installed image copies
#: it elsewhere and says where with CREDITWATCH_BOARD.
BOARD_PAGE = Path(
    os.environ.get("CREDITWATCH_BOARD")
    or Path(__file__).resolve().parent.parent / "dashboards" / "board" / "index.html"
)
MAX_PAGE = 500
MAX_OFFSET = 1_000_000
SSE_KEEPALIVE_MS = 15_000
STREAM_ID = re.compile(r"\d{1,20}(-\d{1,20})?")
#: The approval actions a department may ask about (``GET /api/subjects/{uscc}/measures``).
ACTIONS = known_actions(default_policy())

FACET_VALUES: dict[str, set[str] | None] = {
    "region": None,  # any 6-digit code
    "sector": {s.value for s in Sector},
    "severity": {s.value for s in AlertSeverity},
    "kind": {k.value for k in AlertKind},
}


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
        return error(web, 404, "the alert board page is not installed")
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
    if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset 0..{MAX_OFFSET}")
    return limit, offset


async def open_alerts(
    filters: dict[str, str], limit: int, offset: int, visible: Callable[[Any], bool] | None = None
) -> tuple[int, list[Any]]:
    """Open alerts matching every filter, newest first, and how many match in all.

    ``visible`` (a principal's scope) filters before paging, so pages and totals
    count only what the caller may read.
    """
    indexes = [keys.open_alerts_by(f, v) for f, v in filters.items()] or [keys.OPEN_ALERTS]
    if visible is None and len(indexes) == 1:
        source = indexes[0]
        total = await redis.zcard(source)
        ids = await redis.zrevrange(source, offset, offset + limit - 1)
        raw = await redis.mget([keys.alert(i.decode()) for i in ids]) if ids else []
        return total, [orjson.loads(doc) for doc in raw if doc is not None]
    if len(indexes) == 1:
        ordered = await redis.zrevrange(indexes[0], 0, -1)
    else:
        matched = await redis.zinter(indexes, aggregate="MAX", withscores=True)
        ordered = [alert_id for alert_id, _ in sorted(matched, key=lambda pair: -pair[1])]
    if visible is None:
        page_ids = ordered[offset : offset + limit]
        raw = await redis.mget([keys.alert(i.decode()) for i in page_ids]) if page_ids else []
        return len(ordered), [orjson.loads(doc) for doc in raw if doc is not None]
    raw = await redis.mget([keys.alert(i.decode()) for i in ordered]) if ordered else []
    readable = [doc for doc in (orjson.loads(r) for r in raw if r is not None) if visible(doc)]
    return len(readable), readable[offset : offset + limit]


@app.page("/api/alerts")
@guarded
async def list_alerts(web: View, request: Request, principal: Principal) -> Response:
    """Open, unmuted alerts in the caller's scope; filters region, sector, severity, kind."""
    require(principal.role is not Role.DEPARTMENT, "department tokens do not read alerts")
    try:
        filters = _filters(request.query)
        limit, offset = _page_args(request.query)
    except ValueError as exc:
        return error(web, 400, str(exc))
    visible = None if principal.role is Role.CENTRE else principal.may_read_alert
    total, found = await open_alerts(filters, limit, offset, visible)
    alerts = [present_alert(alert, principal) for alert in found]
    return web.json({"total": total, "limit": limit, "offset": offset, "alerts": alerts})


@app.page("/api/alerts/{alert_id}")
@guarded
async def get_alert(web: View, request: Request, principal: Principal, alert_id: str) -> Response:
    raw = await redis.get(keys.alert(alert_id))
    if raw is None:
        return error(web, 404, f"no alert {alert_id}")
    alert = orjson.loads(raw)
    require(principal.may_read_alert(alert), f"alert {alert_id} is outside your scope")
    return web.json(present_alert(alert, principal))


async def readable_profile(
    web: View, principal: Principal, subject: str
) -> dict[str, Any] | Response:
    """The subject's profile, or the 400/404 answer; Forbidden outside the caller's scope."""
    try:
        code = validation.uscc({"subject": subject})
    except validation.InvalidRecord as exc:
        return error(web, 400, exc.detail)
    raw = await redis.get(keys.profile(code))
    if raw is None:
        return error(web, 404, f"no records for subject {code}")
    profile = orjson.loads(raw)
    require(principal.may_read_subject(profile), f"subject {code} is outside your scope")
    return profile


@app.page("/api/subjects/{subject}")
@guarded
async def get_subject(web: View, request: Request, principal: Principal, subject: str) -> Response:
    profile = await readable_profile(web, principal, subject)
    if not isinstance(profile, dict):
        return profile
    code = profile["subject"]
    if principal.role is not Role.DEPARTMENT:
        alert_ids = await redis.zrevrange(keys.subject_alerts(code), 0, 49)
        profile["alert_ids"] = [i.decode() for i in alert_ids]
    return web.json(present_profile(profile, principal))


@app.page("/api/subjects/{subject}/measures")
@guarded
async def get_subject_measures(
    web: View, request: Request, principal: Principal, subject: str
) -> Response:
    """The joint-punishment measures in force for a subject, those restricting
    ``?action=`` only if given (seed 九: punishments inside approval workflows)."""
    require(principal.may_read_tiers_lists_measures(), "your token may not read measures")
    try:
        action = requested_action(request.query.get("action"), ACTIONS)
    except UnknownAction as exc:
        return error(web, 400, str(exc))
    profile = await readable_profile(web, principal, subject)
    if not isinstance(profile, dict):
        return profile
    return web.json(measures_answer(profile, action, datetime.now(UTC)))


@app.page("/api/tiers")
@guarded
async def get_tiers(web: View, request: Request, principal: Principal) -> Response:
    counts = await redis.hgetall(keys.TIER_COUNTS)
    found = {k.decode(): int(v) for k, v in counts.items()}
    return web.json({tier.value: found.get(tier.value, 0) for tier in Tier})


def _live_view(principal: Principal) -> Callable[[bytes, bytes], bytes | None]:
    """What of a live event the principal may see (masked), or None."""

    def present(kind: bytes, data: bytes) -> bytes | None:
        document = orjson.loads(data)
        if kind == b"alert":
            if not principal.may_read_alert(document):
                return None
            return orjson.dumps(present_alert(document, principal))
        if not principal.may_read_tier_change(document):
            return None
        return orjson.dumps(mask_personal(document, principal))

    return present


@app.page("/api/events")
@guarded
async def live_events(web: View, request: Request, principal: Principal) -> Any:
    """Server-sent events: new alerts and tier moves in the caller's scope, for the board.

    A client that reconnects with ``Last-Event-ID`` receives what it missed
    (within the stream's retention of ~10,000 events); a new client starts now.
    """
    last_id = request.headers.get("Last-Event-ID")
    return await stream_events(request, keys.LIVE_EVENTS, last_id, _live_view(principal))


@app.page("/api/inbox/{inspector}/events")
@guarded
async def inbox_events(web: View, request: Request, principal: Principal, inspector: str) -> Any:
    """Server-sent events: the alerts routed to one inspector (``streams/routing.toml``).

    The inbox is durable: a client that reconnects with ``Last-Event-ID`` (or
    ``?after=ID``) receives exactly the alerts routed while it was away; a new
    client without one receives the whole inbox first. Inspectors read their
    own inbox; the centre reads any.
    """
    own = principal.role is Role.INSPECTOR and principal.name == inspector
    require(own or principal.role is Role.CENTRE, f"the inbox of {inspector} is not yours")
    after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    return await stream_events(request, keys.inbox(inspector), after, _live_view(principal))


async def stream_events(
    request: Request,
    stream_key: str,
    last_id: str | None,
    present: Callable[[bytes, bytes], bytes | None],
) -> aioweb.StreamResponse:
    """Relay a Redis stream as server-sent events, from after ``last_id`` (None: from
    now); ``present`` filters and masks each entry for the reader."""
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
    reader = blocking_reader(SSE_KEEPALIVE_MS / 1000)  # blocking reads need their own link
    # A keep-alive goes out whenever the client has heard nothing for an interval:
    # on an idle stream, and on a busy one whose entries are all out of its scope.
    heard = time.monotonic()
    try:
        while True:
            due_ms = int((heard - time.monotonic()) * 1000) + SSE_KEEPALIVE_MS
            if due_ms <= 0:  # (BLOCK 0 would wait forever)
                await response.write(b": keep-alive\n\n")
                heard = time.monotonic()
                continue
            batch = await reader.xread({stream_key: position}, count=200, block=due_ms)
            for _, entries in batch:
                for entry_id, fields in entries:
                    position = entry_id.decode()
                    data = present(fields[b"type"], fields[b"data"])
                    if data is None:
                        continue
                    await response.write(
                        b"id: "
                        + entry_id
                        + b"\nevent: "
                        + fields[b"type"]
                        + b"\ndata: "
                        + data
                        + b"\n\n"
                    )
                    heard = time.monotonic()
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the client went away, or the worker is stopping
    except aioredis.RedisError as exc:
        # The answer has begun, so it cannot become a 503: end it cleanly and say
        # why; the client reconnects with Last-Event-ID and misses nothing.
        log.warning("Redis unavailable, closing the event stream %s: %s", stream_key, exc)
    finally:
        await reader.aclose()
    return response
