"""HTTP views on the worker's web server: metrics, health, the read API, live events.

The server binds 127.0.0.1 by default. Every ``/api`` endpoint needs a token
and answers within its role and scope (``streams/http/web_access.py``,
``docs/access.md``); it serves only the Redis view, never table contents.
What a client sends in a query or header is checked strictly (issue 20):
``str.isdigit`` and ``int()`` take ``'①'``, full-width digits, ``' 1'`` and
``'1_0'``, so numbers here are ASCII digits, in range.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faust
import orjson
import redis.asyncio as aioredis
from aiohttp import web as aioweb
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline.measures import UnknownAction, known_actions, measures_answer, requested_action
from streams.http.access import Principal, mask_personal, present_alert, present_profile, require
from streams.http.web_access import (
    BadRequest,
    error,
    guarded,
    install_http_edge,
    page,
    readable_alert,
    readable_profile,
)
from streams.serving import redis_keys as keys
from streams.serving.view import blocking_reader
from topics.access import Role
from topics.vocabulary import AlertKind, AlertSeverity, Sector, Tier

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)

MAX_PAGE = 500
MAX_OFFSET = 1_000_000
SSE_KEEPALIVE_MS = 15_000
#: A Redis stream id is "ms-seq", two unsigned 64-bit integers (the seq may be left out).
STREAM_ID_LIMIT = 2**64
#: The files the board's pages share, served beside them (dashboards/board/): their
#: script and their style, with the media type each is sent as.
BOARD_FILES = {"board.js": "text/javascript", "board.css": "text/css"}
#: A page's own inline script and style, allowed by their hash and nothing else inline.
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
INLINE_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
FACET_VALUES: dict[str, set[str] | None] = {
    "region": None,  # any 6-digit code
    "sector": {s.value for s in Sector},
    "severity": {s.value for s in AlertSeverity},
    "kind": {k.value for k in AlertKind},
}


def ascii_digits(value: str) -> bool:
    """0-9 only, at least one: ``str.isdigit`` also takes '①', '١' and '１'."""
    return value.isascii() and value.isdigit()


def stream_position(value: str, name: str) -> str:
    """``value`` if Redis takes it as a stream id (``ms`` or ``ms-seq``, each below
    2**64); ValueError naming ``name`` otherwise. Twenty digits can overflow."""
    parts = value.split("-")
    if not (
        len(parts) <= 2
        and all(ascii_digits(p) and len(p) <= 20 and int(p) < STREAM_ID_LIMIT for p in parts)
    ):
        raise ValueError(
            f"{name} must be a stream id like 1732845600000-0 (ASCII digits, each part "
            f"below 2**64), got {value[:40]!r}"
        )
    return value


async def metrics_view(web: View, request: Request) -> aioweb.Response:
    return aioweb.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def health(app: faust.App, redis: aioredis.Redis, web: View, request: Request) -> Response:
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


def board_policy(page: str) -> str:
    """The board's Content-Security-Policy: its own origin (the pages' shared script
    and style, ``BOARD_FILES``), and of inline code only the page's own script and
    style, by hash, so injected markup cannot run. No answer of this origin but that
    script is JavaScript, nor any but that style CSS: the API answers JSON, and
    ``nosniff`` stops a browser from running or applying it as either."""

    def hashes(pattern: re.Pattern[str]) -> str:
        digests = (
            hashlib.sha256(block.encode("utf-8")).digest() for block in pattern.findall(page)
        )
        return " ".join(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests)

    return (
        f"default-src 'self'; script-src 'self' {hashes(INLINE_SCRIPT)}; "
        f"style-src 'self' {hashes(INLINE_STYLE)}; img-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def board(board_page: Path, web: View, request: Request) -> Response:
    if not board_page.exists():
        return error(web, 404, "the alert board page is not installed")
    html = board_page.read_text(encoding="utf-8")
    return web.html(html, headers={"Content-Security-Policy": board_policy(html)})


async def board_file(path: Path, content_type: str, web: View, request: Request) -> Response:
    """A file the board's pages share (``BOARD_FILES``), read at each request as the
    pages are, so a page and what it loads are always of one version (``no-cache``:
    the browser asks)."""
    if not path.exists():
        return error(web, 404, f"the board's {path.name} is not installed")
    return web.text(  # aiohttp adds "; charset=utf-8"
        path.read_text(encoding="utf-8"),
        content_type=content_type,
        headers={"Cache-Control": "no-cache"},
    )


def alert_filters(query: Any) -> dict[str, str]:
    """The facets of ``GET /api/alerts``; ValueError with a message for a bad one."""
    filters: dict[str, str] = {}
    for facet, allowed in FACET_VALUES.items():
        value = query.get(facet)
        if not value:
            continue
        if allowed is not None and value not in allowed:
            raise ValueError(f"{facet} must be one of {', '.join(sorted(allowed))}")
        if allowed is None and not (len(value) == 6 and ascii_digits(value)):
            raise ValueError(f"{facet} must be a 6-digit county code")
        filters[facet] = value
    return filters


def page_args(query: Any) -> tuple[int, int]:
    """``limit`` and ``offset``: ASCII digits in range (``int()`` also takes ' 1', '1_0')."""
    limit, offset = query.get("limit", "50"), query.get("offset", "0")
    bounded = all(ascii_digits(v) and len(v) <= 7 for v in (limit, offset))
    if not bounded or not 1 <= int(limit) <= MAX_PAGE or not 0 <= int(offset) <= MAX_OFFSET:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset 0..{MAX_OFFSET}")
    return int(limit), int(offset)


async def open_alerts(
    redis: aioredis.Redis,
    filters: dict[str, str],
    limit: int,
    offset: int,
    visible: Callable[[Any], bool] | None = None,
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


async def list_alerts(
    redis: aioredis.Redis, web: View, request: Request, principal: Principal
) -> Response:
    """Open, unmuted alerts in the caller's scope; filters region, sector, severity, kind."""
    require(principal.may_read_alerts(), f"{principal.role.value} tokens do not read alerts")
    try:
        filters = alert_filters(request.query)
        limit, offset = page_args(request.query)
    except ValueError as exc:
        return error(web, 400, str(exc))
    visible = None if principal.role is Role.CENTRE else principal.may_read_alert
    total, found = await open_alerts(redis, filters, limit, offset, visible)
    alerts = [present_alert(alert, principal) for alert in found]
    return web.json({"total": total, "limit": limit, "offset": offset, "alerts": alerts})


async def get_alert(
    redis: aioredis.Redis, web: View, request: Request, principal: Principal, alert_id: str
) -> Response:
    require(principal.may_read_alerts(), f"{principal.role.value} tokens do not read alerts")
    alert = await readable_alert(redis, principal, alert_id)
    return web.json(present_alert(alert, principal))


async def get_subject(
    redis: aioredis.Redis, web: View, request: Request, principal: Principal, subject: str
) -> Response:
    profile = await readable_profile(redis, principal, subject)
    code = profile["subject"]
    if principal.may_read_alerts():
        alert_ids = await redis.zrevrange(keys.subject_alerts(code), 0, 49)
        profile["alert_ids"] = [i.decode() for i in alert_ids]
    return web.json(present_profile(profile, principal))


async def get_subject_measures(
    redis: aioredis.Redis,
    actions: frozenset[str],
    web: View,
    request: Request,
    principal: Principal,
    subject: str,
) -> Response:
    """The joint-punishment measures in force for a subject, those restricting
    ``?action=`` only if given (seed 九: punishments inside approval workflows)."""
    require(principal.may_read_tiers_lists_measures(), "your token may not read measures")
    profile = await readable_profile(redis, principal, subject)
    try:
        action = requested_action(request.query.get("action"), actions)
    except UnknownAction as exc:
        return error(web, 400, str(exc))
    return web.json(measures_answer(profile, action, datetime.now(UTC)))


async def get_tiers(
    redis: aioredis.Redis, web: View, request: Request, principal: Principal
) -> Response:
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


async def live_events(redis_url: str, web: View, request: Request, principal: Principal) -> Any:
    """Server-sent events: new alerts and tier moves in the caller's scope, for the board.

    A client that reconnects with ``Last-Event-ID`` receives what it missed
    (within the stream's retention of ~10,000 events); a new client starts now.
    """
    last_id = request.headers.get("Last-Event-ID")
    if last_id is not None:
        _checked_position(last_id, "Last-Event-ID")
    present = _live_view(principal)
    return await stream_events(redis_url, request, keys.LIVE_EVENTS, last_id, present)


async def inbox_events(
    redis_url: str, web: View, request: Request, principal: Principal, inspector: str
) -> Any:
    """Server-sent events: the alerts routed to one inspector (``pipeline/routing.toml``).

    The inbox is durable: a client that reconnects with ``Last-Event-ID`` (or
    ``?after=ID``) receives exactly the alerts routed while it was away; a new
    client without one receives the whole inbox first. Inspectors read their
    own inbox; the centre reads any.
    """
    own = principal.role is Role.INSPECTOR and principal.name == inspector
    require(own or principal.role is Role.CENTRE, f"the inbox of {inspector} is not yours")
    header = request.headers.get("Last-Event-ID")
    after = header or request.query.get("after") or "0"
    _checked_position(after, "Last-Event-ID" if header else "after")
    present = _live_view(principal)
    return await stream_events(redis_url, request, keys.inbox(inspector), after, present)


def _checked_position(value: str, name: str) -> None:
    try:
        stream_position(value, name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def stream_events(
    redis_url: str,
    request: Request,
    stream_key: str,
    last_id: str | None,
    present: Callable[[bytes, bytes], bytes | None],
) -> aioweb.StreamResponse:
    """Relay a Redis stream as server-sent events, from after ``last_id`` (None: from
    now; else checked by :func:`stream_position`); ``present`` filters and masks
    each entry for the reader."""
    response = aioweb.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)  # type: ignore[arg-type]
    position = last_id or "$"
    reader = blocking_reader(redis_url, SSE_KEEPALIVE_MS / 1000)  # its own link: it blocks
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


def register(w: Wiring) -> None:
    """The board, health, metrics, the read API and live events on the worker's web server."""
    app, redis, url = w.app, w.redis, w.settings.redis
    guard = guarded(redis)
    actions = known_actions(w.context.policy)
    install_http_edge(app.web.web_app)  # type: ignore[attr-defined]  # the aiohttp driver's
    page(app, "/metrics", get=metrics_view)
    page(app, "/health", get=partial(health, app, redis))
    board_page = w.settings.board_page()
    page(app, "/", get=partial(board, board_page))
    for name, content_type in BOARD_FILES.items():
        page(app, f"/{name}", get=partial(board_file, board_page.with_name(name), content_type))
    page(app, "/api/alerts", get=guard(partial(list_alerts, redis)))
    page(app, "/api/alerts/{alert_id}", get=guard(partial(get_alert, redis)))
    page(app, "/api/subjects/{subject}", get=guard(partial(get_subject, redis)))
    measures = guard(partial(get_subject_measures, redis, actions))
    page(app, "/api/subjects/{subject}/measures", get=measures)
    page(app, "/api/tiers", get=guard(partial(get_tiers, redis)))
    page(app, "/api/events", get=guard(partial(live_events, url)))
    page(app, "/api/inbox/{inspector}/events", get=guard(partial(inbox_events, url)))
