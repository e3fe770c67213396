"""The public disclosure site: read-only pages, no login, rate-limited (seed 十五, 四, 三).

An aiohttp application of its own (``creditwatch public-site``), apart from
the worker and its officials' API, on its own address and port. It reads the
record store through read-only connections; every page is decided by
:mod:`pipeline.disclosure` at the moment of the request, so a record
repaired, withdrawn on objection or past its period is gone from the next
page served. Pages are server-rendered Chinese HTML (Jinja2, autoescaped)
with one stylesheet and no script: the Content-Security-Policy allows
nothing else. See docs/public-site.md.

Pages: ``/`` (search by USCC, latest penalties and licences), ``/subjects/{uscc}``,
``/penalties``, ``/licences``, ``/lists/{joint_punishment|key_attention|market_ban|red_list}``,
``/spot-checks``, ``/reports`` and ``/reports/{number}`` (verification of a
credit report: upload the PDF or give its SHA-256), ``/health``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import BodyPartReader, web

from pipeline import credit_report as cr
from pipeline import disclosure_labels as zh
from pipeline.credit_report import SHA256_HEX, IssuedReport, verdict_of
from pipeline.disclosure import (
    ADMINISTRATIVE_PENALTY_KINDS,
    BasisFact,
    Shown,
    disclose,
    listed,
)
from pipeline.disclosure_policy import DisclosurePolicy
from streams.archive import public_queries as pq
from streams.archive import queries as q
from streams.public.rate_limit import TokenBuckets, client_address, retry_after
from streams.public.report_html import template_environment
from streams.public.store import UNAVAILABLE, Store
from streams.public.subject_file import list_row, load_subject, publication, record_row
from topics import validation
from topics.vocabulary import SHIJIAZHUANG_COUNTIES

log = logging.getLogger(__name__)

SITE_NAME = "石家庄市公共信用信息公示"
SERVER = "creditwatch"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NAV = (
    ("/", "首页"),
    ("/penalties", "行政处罚公示"),
    ("/licences", "行政许可公示"),
    ("/lists/joint_punishment", "失信联合惩戒名单"),
    ("/lists/key_attention", "重点关注名单"),
    ("/lists/market_ban", "市场禁入名单"),
    ("/lists/red_list", "诚信红名单"),
    ("/spot-checks", "抽查结果公示"),
    ("/reports", "信用报告核验"),
)
PAGE_SIZE = 20
HOME_PENALTIES = 10
HOME_LICENCES = 5
#: A verification upload is a whole PDF: it costs as much as this many page views.
UPLOAD_COST = 5.0
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Fetched by the browser with every page: not page views.
UNCOUNTED = frozenset({"/site.css", "/favicon.ico"})
#: The lists the public sees, each on its page, headed with the list's name.
LIST_PAGES = {
    kind: zh.LIST_KIND[kind]
    for kind in ("joint_punishment", "key_attention", "market_ban", "red_list")
}


class PageError(Exception):
    """An answer other than the page asked for: its status and a message in Chinese."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message


@dataclass(frozen=True, slots=True)
class SiteConfig:
    policy: DisclosurePolicy
    zone: ZoneInfo
    rate: float = 5.0  # page views per second per client, after the burst
    burst: float = 30.0
    trusted_proxies: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Row:
    """A row of a city-wide list page: the subject and the cells after it."""

    subject: str
    cells: tuple[str, ...]


def _environment(zone: ZoneInfo) -> jinja2.Environment:
    env = template_environment()

    def labelled(table: Mapping[str, str]) -> Callable[[str | None], str]:
        return lambda code: zh.label(table, code)

    env.filters.update(
        date=lambda moment: cr.local_date(moment, zone),
        list_end=lambda moment: cr.list_end(moment, zone),
        datetime=lambda moment: cr.local_time(moment, zone),
        county=cr.county_name,
        amount=cr.amount_text,
        penalty_kind=cr.penalty_kind_text,
        basis=lambda fact: cr.basis_text(fact.signal, fact.detail),
        department=labelled(zh.DEPARTMENT),
        sector=labelled(zh.SECTOR),
        kind=labelled(zh.ENFORCEMENT_KIND),
        list_kind=labelled(zh.LIST_KIND),
        measure_category=labelled(zh.MEASURE_CATEGORY),
        spot_check_result=labelled(zh.SPOT_CHECK_RESULT),
        commitment_kind=labelled(zh.COMMITMENT_KIND),
        commitment_status=labelled(zh.COMMITMENT_STATUS),
        complaint_category=labelled(zh.COMPLAINT_CATEGORY),
        complaint_status=labelled(zh.COMPLAINT_STATUS),
    )
    return env


class PublicSite:
    """The handlers, with the store and the settings they read."""

    def __init__(self, store: Store, config: SiteConfig) -> None:
        self.store = store
        self.config = config
        self.templates = _environment(config.zone)
        self.buckets = TokenBuckets(config.rate, config.burst)
        self.stylesheet = resources.files("streams.public").joinpath("static/site.css").read_bytes()

    # ------------------------------------------------------------------ rendering

    def page(
        self, template: str, request: web.Request, status: int = 200, **values: Any
    ) -> web.Response:
        text = self.templates.get_template(template).render(
            site_name=SITE_NAME,
            nav=NAV,
            current=request.path,
            now=self.config.clock(),
            **values,
        )
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def error_page(self, request: web.Request, error: PageError) -> web.Response:
        return self.page(
            "error.html", request, error.status, heading=error.heading, message=error.message
        )

    # ------------------------------------------------------------------ pages

    async def home(self, request: web.Request) -> web.Response:
        now = self.config.clock()
        policy = self.config.policy
        async with self.store.connection() as conn:
            penalties = await q.afetch(conn, PENALTIES.query(policy, now, None, None))
            licences = await q.afetch(conn, LICENCES.query(policy, now, None, None))
        return self.page(
            "home.html",
            request,
            query="",
            error=None,
            penalties=self._public(penalties.items, now)[:HOME_PENALTIES],
            licences=self._public(licences.items, now)[:HOME_LICENCES],
        )

    async def search(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip().upper()
        try:
            subject = validation.uscc({"subject": query})
        except validation.InvalidRecord:
            return self.page(
                "home.html",
                request,
                400,
                query=query[:40],
                error="请输入正确的 18 位统一社会信用代码（含校验位）。",
                penalties=[],
                licences=[],
            )
        raise web.HTTPSeeOther(f"/subjects/{subject}")

    async def subject(self, request: web.Request) -> web.Response:
        code = request.match_info["uscc"]
        try:
            subject = validation.uscc({"subject": code})
        except validation.InvalidRecord:
            raise PageError(
                400, "统一社会信用代码有误", "请输入正确的 18 位统一社会信用代码（含校验位）。"
            ) from None
        now = self.config.clock()
        async with self.store.connection() as conn:
            rows = await load_subject(conn, subject, now, self.config.policy)
        return self.page(
            "subject.html",
            request,
            d=disclose(rows, now, self.config.policy),
            complaint_days=self.config.policy.complaint_window.days,
        )

    def record_listing(self, listing: RecordListing) -> Handler:
        """The handler of one city-wide list of records (penalties, licences, spot checks)."""

        async def handler(request: web.Request) -> web.Response:
            region, after = self._listing_args(request)
            now = self.config.clock()
            async with self.store.connection() as conn:
                found = await q.afetch(conn, listing.query(self.config.policy, now, region, after))
            rows = [
                Row(item.subject, listing.cells(item.shown, self.config.zone))
                for item in self._public(found.items, now)
            ]
            return self._listing(request, listing.page, rows, found.after, region)

        return handler

    async def lists(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in LIST_LISTING:
            raise web.HTTPNotFound()
        region, after = self._listing_args(request)
        now = self.config.clock()
        async with self.store.connection() as conn:
            found = await q.afetch(
                conn,
                q.list_entries_in_force(
                    list_kind=kind, region=region, at=now, limit=PAGE_SIZE, after=after
                ),
            )
        rows = []
        for entry in found.items:
            row = list_row(entry)
            if not row.in_force_at(now):
                continue
            rows.append(
                Row(
                    entry.subject,
                    (
                        cr.local_date(row.entered_at, self.config.zone),
                        cr.list_end(row.expires_at, self.config.zone),
                        "\n".join(_basis(row.basis)) or "—",
                        "\n".join(
                            f"{zh.label(zh.MEASURE_CATEGORY, m.category)}：{m.description}"
                            for m in row.measures
                        )
                        or "—",
                    ),
                )
            )
        return self._listing(request, LIST_LISTING[kind], rows, found.after, region)

    async def reports(self, request: web.Request) -> web.Response:
        number = request.query.get("number", "").strip().upper()
        if number:
            if not cr.is_report_number(number):
                return self.page(
                    "verify.html",
                    request,
                    400,
                    number=None,
                    issued=None,
                    verdict=None,
                    verdict_text="",
                    error="报告编号格式有误（例如 CR-20261207-ABCDEFGHJK23）。",
                )
            raise web.HTTPSeeOther(f"/reports/{number}")
        return self.page(
            "verify.html",
            request,
            number=None,
            issued=None,
            verdict=None,
            verdict_text="",
            error=None,
        )

    async def report(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        if not cr.is_report_number(number):
            raise web.HTTPNotFound()
        issued = await self._issued(number)
        verdict = None
        error = None
        status = 200 if issued is not None else 404
        if request.method == "POST" and issued is not None:
            presented, error = await self._presented_digest(request)
            if presented is not None:
                verdict = verdict_of(issued, presented, self.config.clock())
            else:
                status = 400
        return self.page(
            "verify.html",
            request,
            status,
            number=number,
            issued=issued,
            verdict=verdict,
            verdict_text=cr.VERDICT_TEXT[verdict] if verdict else "",
            error=error,
        )

    async def health(self, request: web.Request) -> web.Response:
        async with self.store.connection() as conn:
            await conn.execute("SELECT 1")
        return web.json_response({"status": "ok"})

    async def favicon(self, request: web.Request) -> web.Response:
        """No icon: an empty answer, rather than a 404 in every browser's console."""
        return web.Response(status=204)

    async def stylesheet_file(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.stylesheet,
            content_type="text/css",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    # ------------------------------------------------------------------ helpers

    def _public(self, items: Iterable[pq.ListedItem], now: datetime) -> list[Any]:
        """The items of a city-wide list the public may see now (the pure rule decides)."""
        shown = []
        for item in items:
            record = record_row(item.record) if item.record is not None else None
            standing = publication(item.standing) if item.standing is not None else None
            found = listed(record, standing, now, self.config.policy)
            if found is not None:
                shown.append(_Listed(item.subject, found))
        return shown

    def _listing_args(self, request: web.Request) -> tuple[str | None, str | None]:
        region = request.query.get("region") or None
        if region is not None and region not in SHIJIAZHUANG_COUNTIES:
            raise PageError(400, "参数有误", "区县代码有误。")
        after = request.query.get("after") or None
        if after is not None:
            try:
                q.decode_cursor(after)
            except ValueError:
                raise PageError(400, "参数有误", "翻页参数有误，请从第一页开始。") from None
        return region, after

    def _listing(
        self,
        request: web.Request,
        listing: Listing,
        rows: list[Row],
        after: str | None,
        region: str | None,
    ) -> web.Response:
        next_url = None
        if after is not None:
            params = {"region": region} if region else {}
            next_url = f"{request.path}?{urlencode({**params, 'after': after})}"
        return self.page(
            "listing.html",
            request,
            heading=listing.heading,
            explanation=listing.explanation,
            columns=listing.columns,
            items=rows,
            next_url=next_url,
            empty=listing.empty,
        )

    async def _issued(self, number: str) -> IssuedReport | None:
        async with self.store.connection() as conn:
            found = await q.afetch(conn, pq.issued_report(number))
        if not found.items:
            return None
        row = found.items[0]
        return IssuedReport(row.number, row.subject, row.issued_at, row.valid_until, row.sha256)

    async def _presented_digest(self, request: web.Request) -> tuple[str | None, str | None]:
        """The SHA-256 of the uploaded PDF, or the digest typed in; else why not."""
        if not request.content_type.startswith("multipart/"):
            form = await request.post()
            typed = str(form.get("sha256", "")).strip().lower()
            return (typed, None) if SHA256_HEX.fullmatch(typed) else (None, _NO_DIGEST)
        reader = await request.multipart()
        digest = None
        typed = ""
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file" and part.filename:
                hasher = hashlib.sha256()
                size = 0
                while chunk := await part.read_chunk():
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        return None, "文件过大：信用报告 PDF 不超过 5 MB。"
                    hasher.update(chunk)
                if size:
                    digest = hasher.hexdigest()
            elif part.name == "sha256":
                typed = (await part.text()).strip().lower()[:200]
        if digest is not None:
            return digest, None
        if SHA256_HEX.fullmatch(typed):
            return typed, None
        return None, _NO_DIGEST


_NO_DIGEST = "请上传报告 PDF 文件，或输入 64 位十六进制的 SHA-256 摘要。"


@dataclass(frozen=True, slots=True)
class Listing:
    """A city-wide list page: its heading, what it shows, its columns after the subject."""

    heading: str
    explanation: str
    columns: tuple[str, ...]
    empty: str


#: The candidates of a list page: (policy, now, region, after) -> the query.
ListQuery = Callable[[DisclosurePolicy, datetime, str | None, str | None], Any]


@dataclass(frozen=True, slots=True)
class RecordListing:
    """A list page of records: the page, the query of its candidates, a shown record's cells."""

    page: Listing
    query: ListQuery
    cells: Callable[[Shown, ZoneInfo], tuple[str, ...]]


LIST_EXPLANATIONS = {
    "market_ban": "因拒不履行司法裁判或行政处罚决定、屡犯不改、造成重大损失，"
    "依法实施市场和行业禁入的主体、禁入依据、期限及措施；其相关责任人同时禁入。"
    "期满或异议成立后解除，永久禁入无期限。",
    # seed 九 守信激励: its measures reward instead of punishing
    "red_list": "信用等级长期为低风险、近期获得表彰奖励且无不良信用记录的守信主体、列入依据、"
    "期限及激励措施。等级变化、出现不良信用记录或表彰奖励超出有效期后移出名单。",
}
LIST_LISTING = {
    kind: Listing(
        heading,
        LIST_EXPLANATIONS.get(
            kind,
            "列入名单的主体、列入依据、期限及惩戒措施。期满、信用修复或异议成立后移出名单，不再公示。",
        ),
        ("列入日期", "期限至", "列入依据", "激励措施" if kind == "red_list" else "惩戒措施"),
        "目前名单上没有主体。",
    )
    for kind, heading in LIST_PAGES.items()
}


def _recent(
    kind: str, since: datetime, now: datetime, region: str | None, after: str | None
) -> Any:
    return pq.recent_records(kind, since, region=region, at=now, limit=PAGE_SIZE, after=after)


PENALTIES = RecordListing(
    Listing(
        "行政处罚公示",
        "公示期内的行政处罚决定（双公示）。公示期满、信用修复完成或经异议核实更正的，不再公示。",
        ("决定书文号", "处罚类别", "违法事实及处罚内容", "处罚机关", "处罚日期", "公示截止"),
        "目前没有公示期内的行政处罚信息。",
    ),
    query=lambda policy, now, region, after: pq.published_now(
        kinds=sorted(ADMINISTRATIVE_PENALTY_KINDS),
        region=region,
        at=now,
        limit=PAGE_SIZE,
        after=after,
    ),
    cells=lambda shown, zone: (
        shown.reference or "—",
        cr.penalty_kind_text(shown),
        cr.with_objection_text(shown),
        zh.label(zh.DEPARTMENT, shown.department),
        cr.local_date(shown.occurred_at, zone),
        cr.local_date(shown.published_until, zone),
    ),
)
LICENCES = RecordListing(
    Listing(
        "行政许可公示",
        "行政许可决定（双公示）。",
        ("许可文书号", "许可内容", "许可机关", "许可日期"),
        "目前没有公示中的行政许可信息。",
    ),
    query=lambda policy, now, region, after: _recent(
        "licence_granted", now - policy.licence_window, now, region, after
    ),  # fmt: skip
    cells=lambda shown, zone: (
        shown.reference or "—",
        shown.description or "—",
        zh.label(zh.DEPARTMENT, shown.department),
        cr.local_date(shown.occurred_at, zone),
    ),
)
SPOT_CHECKS = RecordListing(
    Listing(
        "抽查结果公示",
        "双随机、一公开：抽查检查结果。发现问题的结果按公示期公示。",
        ("检查结果", "文书号", "检查机关", "检查日期", "说明"),
        "目前没有公示中的抽查结果。",
    ),
    query=lambda policy, now, region, after: _recent(
        "spot_check", now - policy.spot_check_window, now, region, after
    ),  # fmt: skip
    cells=lambda shown, zone: (
        zh.label(zh.SPOT_CHECK_RESULT, shown.result),
        shown.reference or "—",
        zh.label(zh.DEPARTMENT, shown.department),
        cr.local_date(shown.occurred_at, zone),
        cr.with_objection_text(shown),
    ),
)


@dataclass(frozen=True, slots=True)
class _Listed:
    subject: str
    shown: Shown


def _basis(facts: Iterable[BasisFact]) -> list[str]:
    return [cr.basis_text(fact.signal, fact.detail) for fact in facts]


# ------------------------------------------------------------------ the application

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_site(store: Store, config: SiteConfig) -> web.Application:
    """The public site as an aiohttp application (run it with :func:`aiohttp.web.run_app`)."""
    site = PublicSite(store, config)

    @web.middleware
    async def limit_rate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in UNCOUNTED:
            client = client_address(
                request.remote, request.headers.get("X-Forwarded-For"), config.trusted_proxies
            )
            cost = UPLOAD_COST if request.method == "POST" else 1.0
            wait = site.buckets.take(client, cost)
            if wait > 0:
                response = site.error_page(
                    request,
                    PageError(429, "访问过于频繁", "您的访问过于频繁，请稍后再试。"),
                )
                response.headers["Retry-After"] = retry_after(wait)
                return response
        return await handler(request)

    @web.middleware
    async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except PageError as error:
            return site.error_page(request, error)
        except web.HTTPNotFound:
            return site.error_page(request, PageError(404, "页面不存在", "您访问的页面不存在。"))
        except web.HTTPMethodNotAllowed as exc:
            response = site.error_page(
                request, PageError(405, "请求方式有误", "不支持该请求方式。")
            )
            response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
            return response
        except web.HTTPRequestEntityTooLarge:
            return site.error_page(
                request, PageError(413, "文件过大", "信用报告 PDF 文件不超过 5 MB。")
            )
        except UNAVAILABLE as exc:
            log.warning("record store unavailable: %s", exc)
            return site.error_page(
                request, PageError(503, "服务暂不可用", "信用信息记录库暂时无法访问，请稍后再试。")
            )

    async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server"] = SERVER
        response.headers.setdefault("Cache-Control", "no-store")

    async def close_store(app: web.Application) -> None:
        await store.close()

    # limit_rate runs first: a refused client costs no rendering and no query.
    app = web.Application(
        middlewares=[limit_rate, answer_errors], client_max_size=MAX_UPLOAD_BYTES + 64 * 1024
    )
    app.on_response_prepare.append(secure_headers)
    app.on_cleanup.append(close_store)
    app.router.add_get("/", site.home)
    app.router.add_get("/search", site.search)
    app.router.add_get("/subjects/{uscc}", site.subject)
    app.router.add_get("/penalties", site.record_listing(PENALTIES))
    app.router.add_get("/licences", site.record_listing(LICENCES))
    app.router.add_get("/spot-checks", site.record_listing(SPOT_CHECKS))
    app.router.add_get("/lists/{kind}", site.lists)
    app.router.add_get("/reports", site.reports)
    app.router.add_get("/reports/{number}", site.report)
    app.router.add_post("/reports/{number}", site.report)
    app.router.add_get("/health", site.health)
    app.router.add_get("/site.css", site.stylesheet_file)
    app.router.add_get("/favicon.ico", site.favicon)
    return app
