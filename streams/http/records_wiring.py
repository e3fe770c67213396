"""The record search, credit reports and people's records on the worker's web server
(``streams/http/records.py``, ``streams/http/persons.py``).

A component like the other web modules (``register`` in ``streams/worker.py``):
it builds what the handlers need from the worker's wiring and adds their routes.
The record store's pool opens on the first request, so a worker whose store is
away still starts (those endpoints answer 503 until it is back).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pipeline.measures import known_actions
from streams.http import persons
from streams.http.access import Principal, authenticate
from streams.http.records import RecordsApi
from streams.http.records import register as add_routes
from streams.public.fonts import find_cjk_font
from streams.public.issuing import ReportIssuer
from streams.public.store import read_write_store

if TYPE_CHECKING:
    from streams.wiring import Wiring


def register(w: Wiring) -> None:
    settings, redis = w.settings, w.redis
    zone = w.context.policy.supervision.calendar.timezone
    store = read_write_store(settings.database)

    async def authenticated(header: str | None) -> Principal:
        return await authenticate(header, redis)

    api = RecordsApi(
        store=store,
        authenticate=authenticated,
        audit=w.publish.audit,
        issuer=ReportIssuer(
            store=store,
            font=functools.cache(lambda: find_cjk_font(settings.report_font)),
            zone=zone,
            policy=settings.load_disclosure(),
            public_url=settings.public_address,
            publish=w.publish.credit_report,
        ),
        zone=zone,
    )
    web_app = w.app.web.web_app  # type: ignore[attr-defined]  # the aiohttp driver's
    add_routes(web_app, api)
    # Seed 十一: people's records and measures, on the same store, guard and audit.
    persons.register(web_app, api, known_actions(w.context.policy))
