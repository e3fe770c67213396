"""Access control for the HTTP API: who is asking, and the answer when they may not.

Every ``/api`` endpoint, server-sent events included, is wrapped by
:func:`guarded`, which reads the token from the ``Authorization: Bearer``
header and from nowhere else. A browser attaches cookies to every request for
the site, also when another page makes it, and a page on another port of the
same host (or on a sibling host) is the same site: a token in a cookie would
let any such page act with it (issue 20). So the board reads its live stream
with ``fetch()``, which sends the header, and no cookie is a credential here.

Handlers authorise before they validate: a refusal never depends on the body
sent, and what is out of a caller's scope answers exactly like what does not
exist (:class:`NotFound`), so a 403 cannot tell an inspector that an alert
exists in another county. Bodies are JSON only (:func:`json_body`).

``/``, ``/health`` and ``/metrics`` stay open: the page holds no data, and the
server binds 127.0.0.1 unless told otherwise. Every answer carries the
headers of :data:`SECURITY_HEADERS` (:func:`install_http_edge`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec

import faust
import orjson
import redis.asyncio as aioredis
from aiohttp import web as aioweb
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from faust.web import Request, Response, View

from streams.http.access import Forbidden, Principal, Unauthenticated, authenticate
from streams.runtime.patches import Method, replace_method
from streams.serving import redis_keys as keys
from topics import validation

log = logging.getLogger(__name__)
P = ParamSpec("P")
JSON_TYPE = "application/json"
#: Every answer's headers: the API answers JSON, never a document to render, frame
#: or sniff; the board page replaces the policy with its own (``streams/http/web.py``).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: aiohttp says "Python/3.11 aiohttp/3.14.5", which tells a visitor which advisories apply.
SERVER = "creditwatch"


class BadRequest(Exception):
    """A request whose parameters or body are wrong: answer 400 with this message."""

    status = 400


class NotFound(Exception):
    """Absent, or outside the caller's scope (the same answer for both): answer 404."""

    status = 404


class UnsupportedMediaType(Exception):
    """A body that is not declared JSON: answer 415."""

    status = 415


REFUSALS = (BadRequest, Unauthenticated, Forbidden, NotFound, UnsupportedMediaType)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's body, a JSON object (``{}`` when empty); read it after authorising.

    Only ``Content-Type: application/json`` is read. An HTML form on any site can
    send text/plain, urlencoded or multipart bodies here, and a script on another
    origin can send JSON only after a CORS preflight this server never grants.
    """
    media_type = request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type != JSON_TYPE:
        raise UnsupportedMediaType(f"send the body as Content-Type: {JSON_TYPE}")
    raw = await request.read()
    if not raw:
        return {}
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise BadRequest("the body must be a JSON object")
    return document


async def readable_alert(
    redis: aioredis.Redis, principal: Principal, alert_id: str
) -> dict[str, Any]:
    """The alert if ``principal`` may read it. :class:`NotFound` when it is absent and
    when it is out of scope alike: a 403 would tell an inspector it exists elsewhere."""
    raw = await redis.get(keys.alert(alert_id))
    alert = None if raw is None else orjson.loads(raw)
    if alert is None or not principal.may_read_alert(alert):
        raise NotFound(f"no alert {alert_id}")
    return alert


async def readable_profile(
    redis: aioredis.Redis, principal: Principal, subject: str
) -> dict[str, Any]:
    """The subject's profile if ``principal`` may read it; :class:`BadRequest` for a
    malformed USCC, :class:`NotFound` when absent and when out of scope alike."""
    try:
        code = validation.uscc({"subject": subject})
    except validation.InvalidRecord as exc:
        raise BadRequest(exc.detail) from None
    raw = await redis.get(keys.profile(code))
    profile = None if raw is None else orjson.loads(raw)
    if profile is None or not principal.may_read_subject(profile):
        raise NotFound(f"no records for subject {code}")
    return dict(profile)


def error(web: View, status: int, message: str) -> Response:
    """A refusal or failure answered from a view: ``{"error": message}``."""
    return web.json({"error": message}, status=status)


def error_response(status: int, message: str) -> aioweb.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="creditwatch"'} if status == 401 else None
    return aioweb.json_response({"error": message}, status=status, headers=headers)


Guarded = Callable[Concatenate[Any, Request, Principal, P], Awaitable[Any]]
Handler = Callable[Concatenate[Any, Request, P], Awaitable[Any]]


def guarded(redis: aioredis.Redis) -> Callable[[Guarded[P]], Handler[P]]:
    """A decorator for ``/api`` handlers: authenticate first (tokens in ``redis``), pass
    the principal on, and turn refusals into their answers (400, 401, 403, 404, 415)."""

    def guard(handler: Guarded[P]) -> Handler[P]:
        @functools.wraps(handler)
        async def wrapper(view: Any, request: Request, *args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                principal = await authenticate(request.headers.get("Authorization"), redis)
                return await handler(view, request, principal, *args, **kwargs)
            except REFUSALS as refusal:
                return error_response(refusal.status, str(refusal))
            except aioredis.RedisError as exc:
                log.warning("Redis unavailable: %s", exc)
                return error_response(503, "the serving view (Redis) is unavailable")

        return wrapper

    return guard


def page(app: faust.App, path: str, **methods: Handler[...]) -> None:
    """Serve ``path`` on the worker's web server: ``get=``, ``post=``, ``delete=`` ... each
    a handler ``(view, request, **path_parameters)``."""

    def as_method(handler: Handler[...]) -> Callable[..., Awaitable[Any]]:
        async def method(view: View, request: Request, **parameters: Any) -> Any:
            return await handler(view, request, **parameters)

        return method

    name = "".join(part.title() for part in path.strip("/").replace("{", "").split("/"))
    view = type(name or "Root", (View,), {m: as_method(h) for m, h in methods.items()})
    app.page(path)(view)


async def secure_headers(request: aioweb.Request, response: aioweb.StreamResponse) -> None:
    """``on_response_prepare``: every routed answer, refusals and 404s included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER


def _refuse_malformed_requests(handle_error: Method) -> Method:
    """aiohttp answers a request it cannot parse with the parser's message, which
    quotes the offending bytes (the start of an oversized ``Authorization``
    header, say), and logs a traceback for each one. A client's malformed request
    is no fault of ours: answer 400 quoting nothing and log one line. Errors of our
    own (500) keep aiohttp's handling and their traceback."""

    def refuse(
        self: RequestHandler,
        request: aioweb.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> aioweb.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return handle_error(self, request, status, exc, message)
        status = exc.code if 400 <= exc.code < 500 else 400
        log.warning(
            "refused a malformed HTTP request from %s: %s (answered %d)",
            request.remote,
            type(exc).__name__,
            status,
        )
        if request.writer.output_size > 0:  # as aiohttp: too late for an answer
            raise ConnectionError("an answer was already sent; closing the connection")
        reason = (
            "a header or the request line is too long"
            if isinstance(exc, LineTooLong)
            else "the request is not valid HTTP"
        )
        response = aioweb.json_response(
            {"error": reason}, status=status, headers={**SECURITY_HEADERS, "Server": SERVER}
        )
        response.force_close()
        return response

    return refuse


def install_http_edge(web_app: aioweb.Application) -> None:
    """Put the security headers on every answer and refuse malformed requests quietly."""
    if secure_headers not in web_app.on_response_prepare:
        web_app.on_response_prepare.append(secure_headers)
    replace_method(RequestHandler, "handle_error", _refuse_malformed_requests)
