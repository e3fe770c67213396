"""Self-service for subjects and the feed and reports of industry associations (issue 18).

**Subjects** (信用修复"一网通办"): a subject token is scoped to one USCC. The
subject reads its own profile, records, lists and measures through the same
endpoints as officials (any other subject answers 404, as one that does not
exist), and here it:

* files an objection (seed 十七) or a credit repair application (seed 十三)
  about one of its records: the filing goes to ``enforcement.events`` as the
  government-services window (政务服务) would send it, so the workflows decide
  it exactly as any other filing;
* reads what became of them (``/applications``): its objections and repair
  decisions, each rejection with the exact reasons (code, Chinese and English)
  and the earliest date an application can succeed;
* files voluntary registrations (seed 五), which stay *pending* and count for
  nothing until an official verifies them (``/api/registrations``); verified,
  they enter ``enforcement.events`` as ``voluntary_registration`` records.

**Associations** (seed 十八): an association token sees its members (the
register ``registry.memberships``), their tier and list changes made while they
were members (``/api/association/feed``, and on ``/api/events``), and reports
records about its current members: self-discipline commitments made, kept or
broken, and industry honours. Nothing of a non-member answers but 404.

Every filing is on the audit trail (confirmed by the broker) before it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from streams.agents.publish import Publisher
from streams.http.access import Principal, mask_personal, require
from streams.http.web import stream_position
from streams.http.web_access import (
    BadRequest,
    NotFound,
    error,
    guarded,
    json_body,
    page,
    readable_profile,
)
from streams.serving import redis_keys as keys
from streams.serving.registers import apply_registration
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.enforcement import parse_enforcement
from topics.registrations import (
    Registration,
    RegistrationStatus,
    decision_request,
    decode_registration,
    registration_request,
)
from topics.vocabulary import CommitmentKind, Department, EnforcementKind

if TYPE_CHECKING:
    from streams.wiring import Wiring

MAX_NOTE = 2_000
#: What a subject files itself, by the path it posts to.
SUBJECT_FILINGS = {
    "objections": EnforcementKind.OBJECTION_FILED,
    "repairs": EnforcementKind.REPAIR_APPLIED,
}
#: The window a subject's filings come through (一网通办).
SELF_SERVICE_DEPARTMENT = Department.GOVERNMENT_SERVICES
#: What an association may report about a member (seed 十八): self-discipline
#: commitments and industry honours; administrative records are the departments'.
ASSOCIATION_KINDS = frozenset(
    {
        EnforcementKind.COMMITMENT_MADE,
        EnforcementKind.COMMITMENT_FULFILLED,
        EnforcementKind.COMMITMENT_BREACHED,
        EnforcementKind.HONOUR,
    }
)
ASSOCIATION_FIELDS = (
    "event_id",
    "kind",
    "occurred_at",
    "commitment_kind",
    "deadline",
    "concerns_event_id",
    "reference",
    "description",
)
FEED_SCAN = 2_000  # live-stream entries read per feed request, at most
FEED_TYPES = frozenset({b"tier-change", b"list-change"})


def now_utc() -> datetime:
    return datetime.now(UTC)


def filing_record(
    kind: EnforcementKind,
    subject: str,
    profile: Mapping[str, Any],
    body: Mapping[str, Any],
    event_id: str,
    at: datetime,
    reference: str,
) -> dict[str, Any]:
    """The ``enforcement.events`` record of a subject's objection or repair application:
    what it concerns and why from ``body``, where it is from the subject's profile."""
    return {
        "event_id": event_id,
        "subject": subject,
        "kind": kind.value,
        "occurred_at": at.isoformat(),
        "department": SELF_SERVICE_DEPARTMENT.value,
        "sector": profile.get("sector"),
        "region": profile.get("region"),
        "concerns_event_id": body.get("concerns_event_id"),
        "description": body.get("description"),
        "reference": reference,
    }


def association_record(
    association: str, subject: str, profile: Mapping[str, Any] | None, body: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``enforcement.events`` record of an association's report about a member.

    The association's own event id is prefixed with its id, so two associations
    cannot collide (or overwrite each other's records); the department is always
    the industry association, the place the member's own (or what the body says
    of a member without records yet)."""
    record = {name: body[name] for name in ASSOCIATION_FIELDS if name in body}
    if isinstance(record.get("event_id"), str):
        record["event_id"] = f"{association}:{record['event_id']}"
    record["subject"] = subject
    record["department"] = Department.INDUSTRY_ASSOCIATION.value
    for place in ("region", "sector"):
        record[place] = (profile or {}).get(place) or body.get(place)
    return record


def association_refusal(record: Mapping[str, Any]) -> str | None:
    """Why an association may not report ``record`` (None: it may): the kinds it
    reports, and of commitments only the self-discipline kind (行业自律型)."""
    kinds = ", ".join(sorted(k.value for k in ASSOCIATION_KINDS))
    if record.get("kind") not in ASSOCIATION_KINDS:
        return f"an association reports only {kinds}"
    commitment = record.get("kind") != EnforcementKind.HONOUR.value
    if commitment and record.get("commitment_kind") != CommitmentKind.INDUSTRY_SELF_DISCIPLINE:
        return "an association reports only industry_self_discipline commitments"
    return None


class SelfService:
    def __init__(self, w: Wiring) -> None:
        self.redis: aioredis.Redis = w.redis
        self.publish: Publisher = w.publish

    # ------------------------------------------------------------- subjects

    async def _own_profile(self, principal: Principal, subject: str) -> dict[str, Any]:
        """A subject's own profile: 403 for a role that files nothing, 404 for any other
        subject (as for one that does not exist)."""
        require(principal.role is Role.SUBJECT, f"{principal.role.value} tokens file nothing here")
        return await readable_profile(self.redis, principal, subject)

    async def file(
        self,
        kind: EnforcementKind,
        web: View,
        request: Request,
        principal: Principal,
        subject: str,
    ) -> Response:
        """An objection or repair application about one of the subject's records (202)."""
        profile = await self._own_profile(principal, subject)
        body = await json_body(request)
        event_id = f"self-service:{uuid.uuid4().hex}"
        reference = f"self-service:{principal.name}"
        raw = filing_record(kind, profile["subject"], profile, body, event_id, now_utc(), reference)
        try:
            record = parse_enforcement(raw)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        details = {"kind": kind.value, "event_id": event_id, "concerns": raw["concerns_event_id"]}
        target = f"subject:{record.subject}"
        await self.publish.audit(principal.name, AuditAction.SELF_SERVICE_FILE, target, details)
        await self.publish.filing(record.subject, record.dumps())
        answer = {
            "event_id": event_id,
            "kind": kind.value,
            "concerns_event_id": record.concerns_event_id,
            "accepted": True,
            "decision": f"/api/subjects/{record.subject}/applications",
        }
        return web.json(answer, status=202)

    async def applications(
        self, web: View, request: Request, principal: Principal, subject: str
    ) -> Response:
        """What became of the subject's objections, repair applications and registrations.

        The subject itself, and the centre (the window's officials), may read it."""
        require(
            principal.role in (Role.SUBJECT, Role.CENTRE),
            f"{principal.role.value} tokens do not read a subject's applications",
        )
        profile = await readable_profile(self.redis, principal, subject)
        code = profile["subject"]
        case = profile.get("supervision") or {}
        decisions = await self.redis.hvals(keys.subject_decisions(code))
        notices = sorted((orjson.loads(d) for d in decisions), key=lambda n: n["issued_at"])
        answer = {
            "subject": code,
            "objections": case.get("objections", []),
            "repairs": case.get("repairs", []),
            "decisions": [
                {
                    "kind": n["kind"],
                    "concerns_event_id": n["concerns_event_id"],
                    "issued_at": n["issued_at"],
                    "reasons": n["reasons"],
                    "earliest_eligible_at": n["earliest_eligible_at"],
                }
                for n in notices
            ],
            "registrations": await self._registrations_of(code),
        }
        return web.json(mask_personal(answer, principal))

    async def _registrations_of(self, subject: str) -> list[dict[str, Any]]:
        ids = sorted(await self.redis.smembers(keys.subject_registrations(subject)))
        raw = await self.redis.hmget(keys.REGISTRATIONS, ids) if ids else []
        found = [orjson.loads(r) for r in raw if r is not None]
        return sorted(found, key=lambda r: r["filed_at"])

    async def register_voluntarily(
        self, web: View, request: Request, principal: Principal, subject: str
    ) -> Response:
        """A voluntary registration (seed 五), pending until an official verifies it (201)."""
        profile = await self._own_profile(principal, subject)
        body = await json_body(request)
        try:
            category, description = registration_request(body)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        registration = Registration(
            registration_id=f"registration:{uuid.uuid4().hex}",
            subject=profile["subject"],
            category=category,
            description=description,
            filed_at=now_utc(),
            filed_by=principal.name,
            status=RegistrationStatus.PENDING,
            region=profile["region"],
            sector=profile["sector"],
        )
        details = {"registration": registration.registration_id, "category": category.value}
        target = f"subject:{registration.subject}"
        await self.publish.audit(principal.name, AuditAction.REGISTRATION_FILE, target, details)
        await self._store(registration)
        return web.json(orjson.loads(registration.dumps()), status=201)

    async def _store(self, registration: Registration) -> None:
        """On the topic (the record), then in Redis at once, so it shows straight away."""
        value = registration.dumps()
        await self.publish.registration(registration.registration_id, value)
        await apply_registration(value, self.redis)

    # ------------------------------------------------------------- officials

    async def pending_registrations(
        self, web: View, request: Request, principal: Principal
    ) -> Response:
        """Registrations waiting for verification, oldest first (supervision centres)."""
        require(principal.role is Role.CENTRE, "only supervision centres verify registrations")
        ids = await self.redis.zrange(keys.PENDING_REGISTRATIONS, 0, 499)
        raw = await self.redis.hmget(keys.REGISTRATIONS, ids) if ids else []
        pending = [orjson.loads(r) for r in raw if r is not None]
        return web.json({"registrations": pending})

    async def decide_registration(
        self, web: View, request: Request, principal: Principal, registration_id: str
    ) -> Response:
        """Verify or reject a pending registration; a verified one goes on the record."""
        require(principal.role is Role.CENTRE, "only supervision centres verify registrations")
        raw = await self.redis.hget(keys.REGISTRATIONS, registration_id)
        if raw is None:
            raise NotFound(f"no registration {registration_id[:80]}")
        body = await json_body(request)
        try:
            decision, note = decision_request(body)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        registration = decode_registration(raw)
        if registration.status is not RegistrationStatus.PENDING:
            return error(
                web, 409, f"registration {registration_id} is already {registration.status}"
            )
        decided_at = now_utc()
        decided = Registration(
            **{
                **registration.asdict(),
                "status": decision,
                "decided_at": decided_at,
                "decided_by": principal.name,
                "note": note,
            }
        )
        details = {"registration": registration_id, "decision": decision.value, "note": note}
        target = f"subject:{registration.subject}"
        await self.publish.audit(principal.name, AuditAction.REGISTRATION_DECIDE, target, details)
        if decision is RegistrationStatus.VERIFIED:
            record = parse_enforcement(
                {
                    "event_id": registration_id,
                    "subject": registration.subject,
                    "kind": EnforcementKind.VOLUNTARY_REGISTRATION.value,
                    "occurred_at": decided_at.isoformat(),
                    "department": SELF_SERVICE_DEPARTMENT.value,
                    "sector": str(registration.sector),
                    "region": registration.region,
                    "reference": registration_id,
                    "description": f"{registration.category}: {registration.description}",
                }
            )
            await self.publish.filing(record.subject, record.dumps())
        await self._store(decided)
        return web.json(orjson.loads(decided.dumps()))

    # ------------------------------------------------------------- associations

    def _association(self, principal: Principal) -> str:
        require(
            principal.role is Role.ASSOCIATION and principal.association is not None,
            f"{principal.role.value} tokens are not an association's",
        )
        assert principal.association is not None
        return principal.association

    async def members(self, web: View, request: Request, principal: Principal) -> Response:
        """The association's register, and each current member's tier and lists."""
        association = self._association(principal)
        now = now_utc()
        register = []
        for subject, membership in sorted(principal.memberships.items()):
            entry: dict[str, Any] = {
                "subject": subject,
                "member_from": membership.member_from.isoformat(),
                "member_until": (
                    membership.member_until.isoformat() if membership.member_until else None
                ),
                "member_now": membership.member_at(now),
                "tier": None,
                "lists": [],
            }
            if entry["member_now"]:
                raw = await self.redis.get(keys.profile(subject))
                if raw is not None:
                    profile = orjson.loads(raw)
                    entry["tier"] = profile.get("tier")
                    entry["lists"] = [
                        item["list"] for item in (profile.get("supervision") or {}).get("lists", [])
                    ]
            register.append(entry)
        return web.json({"association": association, "members": register})

    async def feed(self, web: View, request: Request, principal: Principal) -> Response:
        """Tier and list changes of the members, made while they were members, oldest
        first, after ``?after=`` (a stream id the previous answer gave as ``next``)."""
        association = self._association(principal)
        after = request.query.get("after") or "-"
        if after != "-":
            after = _position(after)
        start = after if after == "-" else f"({after}"
        entries = await self.redis.xrange(keys.LIVE_EVENTS, min=start, count=FEED_SCAN)
        changes = []
        for entry_id, fields in entries:
            if fields[b"type"] not in FEED_TYPES:
                continue
            document = orjson.loads(fields[b"data"])
            if principal.may_read_tier_change(document):
                changes.append(
                    {
                        "id": entry_id.decode(),
                        "type": fields[b"type"].decode(),
                        "change": mask_personal(document, principal),
                    }
                )
        next_position = entries[-1][0].decode() if entries else (None if after == "-" else after)
        return web.json({"association": association, "changes": changes, "next": next_position})

    async def report(self, web: View, request: Request, principal: Principal) -> Response:
        """A record about a current member: a self-discipline commitment made, kept or
        broken, or an industry honour (202). A non-member is 404."""
        association = self._association(principal)
        body = await json_body(request)
        try:
            subject = validation.uscc(body)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        if not principal.is_member(subject, now_utc()):
            raise NotFound(f"no member {subject}")
        raw_profile = await self.redis.get(keys.profile(subject))
        profile = orjson.loads(raw_profile) if raw_profile is not None else None
        raw = association_record(association, subject, profile, body)
        refusal = association_refusal(raw)
        if refusal is not None:
            return error(web, 400, refusal)
        try:
            record = parse_enforcement(raw)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        details = {"kind": str(record.kind), "event_id": record.event_id}
        target = f"subject:{subject}"
        await self.publish.audit(principal.name, AuditAction.ASSOCIATION_REPORT, target, details)
        await self.publish.filing(subject, record.dumps())
        return web.json({"event_id": record.event_id, "accepted": True}, status=202)


def _position(value: str) -> str:
    try:
        return stream_position(value, "after")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def register(w: Wiring) -> None:
    guard, service = guarded(w.redis), SelfService(w)

    def filing(kind: EnforcementKind) -> Any:
        async def handler(
            web: View, request: Request, principal: Principal, subject: str
        ) -> Response:
            return await service.file(kind, web, request, principal, subject)

        return guard(handler)

    for path, kind in SUBJECT_FILINGS.items():
        page(w.app, f"/api/subjects/{{subject}}/{path}", post=filing(kind))
    page(w.app, "/api/subjects/{subject}/applications", get=guard(service.applications))
    page(
        w.app,
        "/api/subjects/{subject}/registrations",
        post=guard(service.register_voluntarily),
    )
    page(w.app, "/api/registrations", get=guard(service.pending_registrations))
    page(
        w.app,
        "/api/registrations/{registration_id}/decision",
        post=guard(service.decide_registration),
    )
    page(w.app, "/api/association/members", get=guard(service.members))
    page(w.app, "/api/association/feed", get=guard(service.feed))
    page(w.app, "/api/association/records", post=guard(service.report))
