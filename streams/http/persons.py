"""Responsible people's credit records on the officials' API (seed 十, 十一), from the record store.

``GET /api/persons/{person}/measures``: the measures on a person in force now
(a responsible person's market ban, restrictions on serving as legal
representative or officer, …), those restricting ``?action=`` only if given:
the person counterpart of ``/api/subjects/{uscc}/measures``, for a department
about to approve or appoint someone. ``GET /api/persons/{person}``: the
person's whole record (roles, the listings that reached them). ``person`` is
the person's pseudonym (32 hex digits), as a subject's profile names its
responsible people (``supervision.roles``); never the id itself.

Roles: centres read everything; inspectors the people with a role or a
listing in their scope (county, and sector when the token names any);
department systems the measures only. A person's record is personal data:
every answer is audited (``persons.read``) before it is sent, and the id and
name are masked for everyone but the centre (``streams/http/access.py``).
The handlers share the record search's wiring and guard (``records.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from pipeline.measures import UnknownAction, person_measures_answer, requested_action
from streams.archive import queries as q
from streams.http.access import Principal, mask_personal, require
from streams.http.records import RecordsApi, RecordsHandlers
from streams.http.web_access import BadRequest, NotFound
from topics.access import Role
from topics.audit import AuditAction

#: A person's pseudonym: ``detectors.cross_sector.person_pseudonym``'s 32 hex digits.
PSEUDONYM = re.compile(r"[0-9a-f]{32}")


def _json(document: Any) -> web.Response:
    return web.json_response(document, dumps=lambda value: orjson.dumps(value).decode())


def _places(record: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Where the person answers for subjects: their roles' and entries' counties and sectors."""
    yield from record.get("roles", ())
    yield from record.get("entries", ())


class PersonsHandlers(RecordsHandlers):
    def __init__(self, api: RecordsApi, actions: frozenset[str]) -> None:
        super().__init__(api)
        self.actions = actions

    async def _record(self, request: web.Request, principal: Principal) -> dict[str, Any]:
        """The person's record if ``principal`` may read it; :class:`NotFound` when there
        is none and alike when it is out of an inspector's scope."""
        person = request.match_info["person"]
        if not PSEUDONYM.fullmatch(person):
            raise BadRequest("person must be a person's pseudonym: 32 hex digits (0-9, a-f)")
        async with self.api.store.connection() as conn:
            found = await q.afetch(conn, q.person_record(person))
        record = found.items[0].body if found.items else None
        if record is None or (
            principal.role is Role.INSPECTOR
            and not any(principal.may_read_subject(place) for place in _places(record))
        ):
            raise NotFound(f"no record for person {person}")
        return dict(record)

    async def measures(self, request: web.Request, principal: Principal) -> web.Response:
        require(
            principal.may_read_person_measures(),
            f"{principal.role.value} tokens do not read people's measures",
        )
        try:
            action = requested_action(request.query.get("action"), self.actions)
        except UnknownAction as exc:
            raise BadRequest(str(exc)) from None
        record = await self._record(request, principal)
        answer = person_measures_answer(record, action, self.api.clock())
        await self.api.audit(
            principal.name,
            AuditAction.PERSONS_READ,
            f"person:{record['person']}",
            {"read": "measures", "action": action, "count": len(answer["measures"])},
        )
        return _json(mask_personal(answer, principal))

    async def record(self, request: web.Request, principal: Principal) -> web.Response:
        require(
            principal.role in (Role.CENTRE, Role.INSPECTOR),
            f"{principal.role.value} tokens read a person's measures only",
        )
        record = await self._record(request, principal)
        # Durable before anything is sent: no read of personal data goes unrecorded.
        await self.api.audit(
            principal.name,
            AuditAction.PERSONS_READ,
            f"person:{record['person']}",
            {"read": "record", "version": record["version"]},
        )
        return _json(mask_personal(record, principal))


def register(app: web.Application, api: RecordsApi, actions: frozenset[str]) -> None:
    """Add the person routes to ``app``; ``actions`` are the approval actions known."""
    handlers = PersonsHandlers(api, actions)
    app.router.add_get("/api/persons/{person}", handlers.guarded(handlers.record))
    app.router.add_get("/api/persons/{person}/measures", handlers.guarded(handlers.measures))
