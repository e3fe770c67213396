"""Access control for the HTTP API: who is asking, and the answer when they may not.

Every ``/api`` endpoint, server-sent events included, starts with
:func:`principal_of`. A browser's EventSource cannot send an ``Authorization``
header, so the same token is also accepted from the ``cw_token`` cookie (the
board sets it; SameSite=Strict). ``/``, ``/health`` and ``/metrics`` stay open:
the page holds no data, and the server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec

import redis.asyncio as aioredis
from aiohttp import web as aioweb
from faust.web import Request, Response, View

from streams.access import (
    Forbidden,
    Principal,
    Unauthenticated,
    authenticate,
    authenticate_token,
)
from streams.serving import redis

log = logging.getLogger(__name__)
TOKEN_COOKIE = "cw_token"
P = ParamSpec("P")


async def principal_of(request: Request) -> Principal:
    """The token's holder; :class:`Unauthenticated` without a valid token."""
    header = request.headers.get("Authorization")
    cookies = getattr(request, "cookies", {})
    if header is None and cookies.get(TOKEN_COOKIE):
        return await authenticate_token(cookies[TOKEN_COOKIE], redis)
    return await authenticate(header, redis)


def error(web: View, status: int, message: str) -> Response:
    """A refusal or failure answered from a view: ``{"error": message}``."""
    return web.json({"error": message}, status=status)


def error_response(status: int, message: str) -> aioweb.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="creditwatch"'} if status == 401 else None
    return aioweb.json_response({"error": message}, status=status, headers=headers)


def guarded(
    handler: Callable[Concatenate[Any, Request, Principal, P], Awaitable[Any]],
) -> Callable[Concatenate[Any, Request, P], Awaitable[Any]]:
    """Authenticate first, pass the principal on, and turn refusals into 401/403 answers."""

    @functools.wraps(handler)
    async def wrapper(view: Any, request: Request, *args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            principal = await principal_of(request)
            return await handler(view, request, principal, *args, **kwargs)
        except (Unauthenticated, Forbidden) as refusal:
            return error_response(refusal.status, str(refusal))
        except aioredis.RedisError as exc:
            log.warning("Redis unavailable: %s", exc)
            return error_response(503, "the serving view (Redis) is unavailable")

    return wrapper
