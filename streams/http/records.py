"""The officials' record search and credit reports, served from the record store (issue 15).

``GET /api/subjects/{subject}/records``: a subject's enforcement records for
years (seed 四, 可查可核可溯), with every field and where each stands in
publication, filtered by period, department, kind and whether it is published
now, paged by cursor. Centres see everything; inspectors the subjects of
their counties (and sectors); department systems may not search records
(they read tiers, lists and measures, docs/access.md); a subject searches
its own records (issue 18, self-service), and nothing of another subject. Records hold personal
data (the legal representative's id): every answer is audited
(``records.read``) before it is sent, and masked for whoever may not see it.

``POST /api/subjects/{subject}/reports``: a credit report (公共信用信息报告)
for a department or the centre, issued as a PDF (``report.issue``, audited).
``GET /api/reports/{number}``: an issued report's record and content (JSON, or
``?format=html``).

Handlers are plain aiohttp handlers; what they need (the store, how to
authenticate and audit, the report issuer) is handed in through
:class:`RecordsApi`, and :func:`register` adds the routes to an aiohttp
application. ``streams/http/records_wiring.py`` does that for the worker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import redis.asyncio as aioredis
from aiohttp import web

from pipeline.credit_report import is_report_number, report_from_document
from streams.archive import public_queries as pq
from streams.archive import queries as q
from streams.http.access import Principal, mask_personal, require
from streams.http.web_access import REFUSALS, BadRequest, NotFound, error_response, json_body
from streams.public.fonts import FontNotFound
from streams.public.issuing import ReportIssuer
from streams.public.report_html import render_report_html, report_policy
from streams.public.store import UNAVAILABLE, Store
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.vocabulary import Department, EnforcementKind
from topics.wire_time import moment

log = logging.getLogger(__name__)

MAX_FILTER_VALUES = 20

Authenticate = Callable[[str | None], Awaitable[Principal]]
Audit = Callable[[str, str, str, Mapping[str, Any]], Awaitable[Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class RecordsApi:
    """What the handlers read and call."""

    store: Store
    authenticate: Authenticate  # the Authorization header -> the principal, or Unauthenticated
    audit: Audit  # (actor, action, target, details), durable before it returns
    issuer: ReportIssuer
    zone: ZoneInfo
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecordFilters:
    since: datetime | None
    until: datetime | None
    departments: tuple[str, ...]
    kinds: tuple[str, ...]
    published: bool | None
    limit: int
    after: str | None

    def described(self) -> dict[str, Any]:
        """The filters as the audit trail records them."""
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "departments": list(self.departments),
            "kinds": list(self.kinds),
            "published": self.published,
        }


def _moment(value: str, name: str, zone: ZoneInfo) -> datetime:
    """A date (the start of that day in the city's zone) or a time with its zone."""
    try:
        return moment(value, zone)
    except ValueError as exc:
        raise BadRequest(f"{name} {exc}") from None


def _values(query: Mapping[str, str], name: str, allowed: set[str]) -> tuple[str, ...]:
    raw = query.get(name)
    if not raw:
        return ()
    values = tuple(sorted({v.strip() for v in raw.split(",") if v.strip()}))
    unknown = [v for v in values if v not in allowed]
    if unknown or len(values) > MAX_FILTER_VALUES:
        raise BadRequest(
            f"{name} must be one or more (comma-separated) of {', '.join(sorted(allowed))}"
        )
    return values


def record_filters(query: Mapping[str, str], zone: ZoneInfo) -> RecordFilters:
    """The query string of the record search, checked strictly (400 with a message)."""
    since = _moment(query["from"], "from", zone) if query.get("from") else None
    until = _moment(query["to"], "to", zone) if query.get("to") else None
    if since and until and until <= since:
        raise BadRequest("to must be after from")
    published_text = query.get("published")
    if published_text not in (None, "", "true", "false"):
        raise BadRequest("published must be true or false")
    limit_text = query.get("limit", str(q.DEFAULT_LIMIT))
    if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 3):
        raise BadRequest(f"limit must be 1..{q.MAX_LIMIT}")
    limit = int(limit_text)
    if not 1 <= limit <= q.MAX_LIMIT:
        raise BadRequest(f"limit must be 1..{q.MAX_LIMIT}")
    after = query.get("after") or None
    if after is not None:
        try:
            cursor = q.decode_cursor(after)
            if len(cursor) != 2:
                raise ValueError
            datetime.fromisoformat(str(cursor[0]))
        except ValueError:
            raise BadRequest("after is not a cursor this search gave out") from None
    return RecordFilters(
        since=since,
        until=until,
        departments=_values(query, "department", {d.value for d in Department}),
        kinds=_values(query, "kind", {k.value for k in EnforcementKind}),
        published=None if not published_text else published_text == "true",
        limit=limit,
        after=after,
    )


def _subject(text: str) -> str:
    try:
        return validation.uscc({"subject": text})
    except validation.InvalidRecord as exc:
        raise BadRequest(exc.detail) from None


def record_document(record: q.EnforcementRecord, now: datetime) -> dict[str, Any]:
    """A record as the search answers it: every contract field, and its publication."""
    publication = None
    if record.publication_status is not None:
        assert record.published_until is not None
        publication = {
            "status": record.publication_status,
            "published_until": record.published_until.isoformat(),
            "published_now": record.publication_status == "published"
            and now < record.published_until,
        }
    return {**record.body, "publication": publication}


def _json(document: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(document), status=status, content_type="application/json")


class RecordsHandlers:
    def __init__(self, api: RecordsApi) -> None:
        self.api = api

    def guarded(
        self, handler: Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
    ) -> Handler:
        """Authenticate first; refusals become their answers, a store that cannot be
        reached 503 (as ``web_access.guarded`` does for the views on Redis)."""

        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                principal = await self.api.authenticate(request.headers.get("Authorization"))
                return await handler(request, principal)
            except REFUSALS as refusal:
                return error_response(refusal.status, str(refusal))
            except aioredis.RedisError as exc:  # the tokens are there
                log.warning("Redis unavailable: %s", exc)
                return error_response(503, "the serving view (Redis) is unavailable")
            except UNAVAILABLE as exc:
                log.warning("record store unavailable: %s", exc)
                return error_response(503, "the record store (PostgreSQL) is unavailable")
            except FontNotFound as exc:
                log.error("cannot render credit reports: %s", exc)
                return error_response(503, str(exc))

        return wrapper

    async def search(self, request: web.Request, principal: Principal) -> web.Response:
        require(
            principal.role in (Role.CENTRE, Role.INSPECTOR, Role.SUBJECT),
            f"{principal.role.value} tokens do not search records",
        )
        subject = _subject(request.match_info["subject"])
        now = self.api.clock()
        async with self.api.store.connection() as conn:
            await self._in_scope(conn, principal, subject)
            filters = record_filters(request.query, self.api.zone)
            page = await q.afetch(
                conn,
                q.subject_records(
                    subject,
                    since=filters.since,
                    until=filters.until,
                    departments=filters.departments,
                    kinds=filters.kinds,
                    published=filters.published,
                    at=now,
                    limit=filters.limit,
                    after=filters.after,
                ),
            )
        records = [record_document(record, now) for record in page.items]
        # Durable before anything is sent: no read of personal data goes unrecorded.
        await self.api.audit(
            principal.name,
            AuditAction.RECORDS_READ,
            f"subject:{subject}",
            {**filters.described(), "count": len(records)},
        )
        answer = {
            "subject": subject,
            "limit": filters.limit,
            "after": page.after,
            "records": mask_personal(records, principal),
        }
        return _json(answer)

    async def _in_scope(self, conn: Any, principal: Principal, subject: str) -> None:
        """:class:`NotFound` for a subject with no records, and alike for one outside an
        inspector's scope (its latest record's county and sector)."""
        latest = await q.afetch(conn, q.subject_records(subject, limit=1))
        if not latest.items or not principal.may_read_subject(
            {"subject": subject, "region": latest.items[0].region, "sector": latest.items[0].sector}
        ):
            raise NotFound(f"no records for subject {subject}")

    async def issue_report(self, request: web.Request, principal: Principal) -> web.Response:
        require(
            principal.role in (Role.CENTRE, Role.DEPARTMENT, Role.SUBJECT),
            f"{principal.role.value} tokens do not request credit reports",
        )
        subject = _subject(request.match_info["subject"])
        # Issue 18: a subject asks for its own report (self-service); any other is 404.
        if principal.role is Role.SUBJECT and subject != principal.subject:
            raise NotFound(f"no records for subject {subject}")
        # No fields yet, but a POST takes JSON only, as every POST of the API does:
        # what an HTML form on another site can send is refused (415).
        await json_body(request)  # type: ignore[arg-type]  # aiohttp's request, duck-typed
        issued = await self.api.issuer.issue(subject, principal.name, self.api.clock())
        number = issued.report.number
        await self.api.audit(
            principal.name, AuditAction.REPORT_ISSUE, f"report:{number}", {"subject": subject}
        )
        return web.Response(
            body=issued.pdf,
            status=201,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{number}.pdf"',
                "Location": issued.verify_url,
                "X-Report-Number": number,
                "X-Report-SHA256": issued.sha256,
                "X-Report-Valid-Until": issued.report.valid_until.isoformat(),
            },
        )

    async def get_report(self, request: web.Request, principal: Principal) -> web.Response:
        require(
            principal.role in (Role.CENTRE, Role.DEPARTMENT),
            f"{principal.role.value} tokens do not read credit reports",
        )
        number = request.match_info["number"]
        output = request.query.get("format", "json")
        if output not in ("json", "html"):
            raise BadRequest("format must be json or html")
        if not is_report_number(number):
            raise NotFound(f"no report {number[:40]}")
        async with self.api.store.connection() as conn:
            found = await q.afetch(conn, pq.issued_report_body(number))
        if not found.items:
            raise NotFound(f"no report {number}")
        body = found.items[0]
        if output == "html":
            report = report_from_document(body["document"])
            html = render_report_html(report, self.api.zone, body["sha256"])
            return web.Response(
                text=html,
                content_type="text/html",
                charset="utf-8",
                headers={"Content-Security-Policy": report_policy()},
            )
        return _json(body)


def register(app: web.Application, api: RecordsApi) -> None:
    """Add the record search and report routes to ``app``."""
    handlers = RecordsHandlers(api)
    app.router.add_get("/api/subjects/{subject}/records", handlers.guarded(handlers.search))
    app.router.add_post("/api/subjects/{subject}/reports", handlers.guarded(handlers.issue_report))
    app.router.add_get("/api/reports/{number}", handlers.guarded(handlers.get_report))
