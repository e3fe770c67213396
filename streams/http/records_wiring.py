"""The record search and credit reports on the worker's web server (``streams/http/records.py``).

Imported by :func:`streams.app.load_components` like the other web modules; it
builds what the handlers need from the worker's settings and registers them.
The record store's pool opens on the first request, so a worker whose
store is away still starts (those endpoints answer 503 until it is back).
"""

from __future__ import annotations

import functools
from typing import Any

from streams.agents.audit import audit_action
from streams.app import app, settings
from streams.http.access import Principal, authenticate
from streams.http.records import RecordsApi, register
from streams.public.fonts import find_cjk_font
from streams.public.issuing import Delivered, ReportIssuer
from streams.public.store import read_write_store
from streams.runtime.channels import credit_reports
from streams.serving.view import redis
from streams.settings import load_disclosure_policy, worker_policy


async def _authenticate(header: str | None) -> Principal:
    return await authenticate(header, redis)


async def _publish(key: bytes, value: bytes) -> Delivered:
    delivery = await credit_reports.send(key=key, value=value, force=True)
    metadata: Any = await delivery
    return metadata


_store = read_write_store(settings.database)
_zone = worker_policy().supervision.calendar.timezone
register(
    app.web.web_app,  # type: ignore[attr-defined]  # the aiohttp driver's
    RecordsApi(
        store=_store,
        authenticate=_authenticate,
        audit=audit_action,
        issuer=ReportIssuer(
            store=_store,
            font=functools.cache(lambda: find_cjk_font(settings.report_font)),
            zone=_zone,
            policy=load_disclosure_policy(settings),
            public_url=settings.public_address,
            publish=_publish,
        ),
        zone=_zone,
    ),
)
