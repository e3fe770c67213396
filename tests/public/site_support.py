"""The public site in-process on a real record store, and a scripted store to read.

:data:`SCENARIO` seeds one subject with a record of every standing: what must
be on the public pages carries a ``SHOWN-`` marker, what must not a
``HIDDEN-`` marker, so a test can check any answer for any hidden record.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from creditwatch.embedded import free_port
from pipeline.disclosure_policy import load_disclosure
from streams.public.issuing import encode_issued
from streams.public.site import SiteConfig, build_site
from streams.public.store import read_only_store
from tests.factories import make_uscc
from tests.public import store_seed as s
from topics.credit_reports import IssuedCreditReport

T = TypeVar("T")
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
ZONE = ZoneInfo("Asia/Shanghai")
POLICY = load_disclosure()

LISTED = make_uscc(501)  # published records of every kind
UNPUBLISHED = make_uscc(502)  # only records the public may not see
UNKNOWN = make_uscc(503)  # nothing on file

VALID_REPORT = "CR-20261207-AAAAAAAAAAAA"
EXPIRED_REPORT = "CR-20261001-BBBBBBBBBBBB"
REPORT_PDF = b"%PDF-1.7 a report as issued"
TAMPERED_PDF = b"%PDF-1.7 a report as issued, then edited"


def _issued(number: str, issued_at: datetime) -> s.Message:
    record = IssuedCreditReport(
        number=number,
        subject=LISTED,
        issued_at=issued_at,
        valid_until=issued_at + POLICY.report_valid,
        sha256=hashlib.sha256(REPORT_PDF).hexdigest(),
        requested_by="tax-bureau",
        disclosure_version=POLICY.version,
        document={"sections": []},
    )
    return "risk.credit-reports", number.encode(), encode_issued(record)


def scenario() -> list[s.Message]:
    t = NOW - 10 * DAY
    basis = {
        "fact": "penalty_serious",
        "value": 1.0,
        "threshold": None,
        "detail": f"event shown-pen on {t.date()} by market_regulation",
    }
    measure = {
        "code": "more_spot_checks",
        "category": "administrative",
        "description": "提高双随机抽查比例和频次",
        "actions": ["spot_check"],
    }

    def penalty(subject: str, event_id: str, marker: str, **fields: Any) -> s.Message:
        return s.enforcement(
            subject=subject,
            event_id=event_id,
            kind="penalty",
            severity="general",
            occurred_at=fields.pop("occurred_at", t),
            reference=marker,
            description=f"{marker} 经营超过保质期的食品",
            legal_rep_id="LR-HIDDEN-0001",
            **fields,
        )

    return [
        penalty(LISTED, "shown-pen", "SHOWN-PENALTY", amount=50000),
        s.publication(LISTED, "shown-pen", t),
        penalty(LISTED, "repaired-pen", "HIDDEN-REPAIRED"),
        s.publication(LISTED, "repaired-pen", t, status="repaired", version=2),
        penalty(LISTED, "corrected-pen", "HIDDEN-CORRECTED"),
        s.publication(LISTED, "corrected-pen", t, status="corrected", version=2),
        # Published on file, but its 90 days ended yesterday (no expiry emitted yet).
        penalty(LISTED, "lapsed-pen", "HIDDEN-LAPSED", occurred_at=NOW - 91 * DAY),
        s.publication(LISTED, "lapsed-pen", NOW - 91 * DAY, days=90),
        # Filed, but its publication not stored yet.
        penalty(LISTED, "unstored-pen", "HIDDEN-UNSTORED"),
        s.enforcement(
            subject=LISTED,
            event_id="shown-lic",
            kind="licence_granted",
            occurred_at=t,
            department="government_services",
            reference="SHOWN-LICENCE",
            description="食品经营许可（热食类食品制售）",
        ),
        s.enforcement(
            subject=LISTED,
            event_id="shown-check",
            kind="spot_check",
            result="passed",
            occurred_at=t,
            reference="SHOWN-CHECK",
            description="双随机、一公开抽查",
        ),
        s.enforcement(
            subject=LISTED,
            event_id="hidden-check",
            kind="spot_check",
            result="problems_found",
            occurred_at=t,
            reference="HIDDEN-CHECK",
        ),
        s.publication(
            LISTED,
            "hidden-check",
            t,
            kind="spot_check",
            signal="spot_check_problems",
            status="repaired",
            version=2,
        ),  # fmt: skip
        s.list_change(LISTED, "key_attention", t, basis=[basis], measures=[measure]),
        s.list_change(
            LISTED, "joint_punishment", t - 400 * DAY, days=365, basis=[basis], measures=[measure]
        ),  # its period ended: not shown
        s.complaint(subject=LISTED, received_at=t, status="accepted"),
        s.complaint(subject=LISTED, received_at=t, status="accepted"),
        s.complaint(subject=LISTED, received_at=t, category="price", status="closed"),
        penalty(UNPUBLISHED, "only-repaired", "HIDDEN-ONLY-REPAIRED", region="130104"),
        s.publication(UNPUBLISHED, "only-repaired", t, status="repaired", version=2),
        penalty(UNPUBLISHED, "only-unstored", "HIDDEN-ONLY-UNSTORED", region="130104"),
        _issued(VALID_REPORT, NOW - DAY),
        _issued(EXPIRED_REPORT, NOW - 60 * DAY),
    ]


HIDDEN_MARKERS = ("HIDDEN-", "LR-HIDDEN")


@dataclass
class Site:
    client: TestClient

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
        response = await self.client.get(path, allow_redirects=False, **kwargs)
        return response.status, await response.text(), dict(response.headers)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
        response = await self.client.post(path, allow_redirects=False, **kwargs)
        return response.status, await response.text(), dict(response.headers)


def with_site(
    url: str, body: Callable[[Site], Awaitable[T]], *, rate: float = 1000.0, burst: float = 1000.0
) -> T:
    """Run ``body`` against the site on ``url``'s store, served on a free local port."""

    async def run() -> T:
        config = SiteConfig(policy=POLICY, zone=ZONE, rate=rate, burst=burst, clock=lambda: NOW)
        server = TestServer(build_site(read_only_store(url), config), host="127.0.0.1")
        async with TestClient(server) as client:
            return await body(Site(client))

    return asyncio.run(run())


def json_of(text: str) -> Any:
    return orjson.loads(text)


@contextmanager
def serving_site(url: str, *, rate: float = 1000.0, burst: float = 1000.0) -> Iterator[str]:
    """The site on ``url``'s store, served from a thread on a free local port; yields its
    base address (for a browser, or a client outside asyncio)."""
    ready = threading.Event()
    stop: list[Callable[[], None]] = []
    address: list[str] = []

    async def serve() -> None:
        config = SiteConfig(policy=POLICY, zone=ZONE, rate=rate, burst=burst, clock=lambda: NOW)
        runner = web.AppRunner(build_site(read_only_store(url), config))
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        stop.append(lambda: loop.call_soon_threadsafe(stopped.set))
        address.append(f"http://127.0.0.1:{port}")
        ready.set()
        await stopped.wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the site did not start"
    try:
        yield address[0]
    finally:
        stop[0]()
        thread.join(30)
