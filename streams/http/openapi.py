"""The OpenAPI 3.1 document of the worker's HTTP API, served at ``/openapi.json``.

Record schemas come from the contract records themselves (``topics/json_schema.py``),
and enumerations from ``topics/vocabulary.py``, so the document cannot drift from
what the server sends. ``tests/integration/test_openapi.py`` runs schemathesis
against a live worker with it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

from detectors.policy import Policy
from pipeline.measures import known_actions
from streams.http.self_service import ASSOCIATION_KINDS
from streams.http.web_access import page
from topics.cases import CaseStatus, Verdict
from topics.json_schema import record_schema
from topics.lists import ListKind, Measure
from topics.persons import PersonCreditRecord
from topics.policy_versions import PolicyVersion
from topics.registrations import Registration, RegistrationCategory, RegistrationStatus
from topics.risk import Alert
from topics.silences import MATCHER_CHECKS, Silence
from topics.vocabulary import (
    AlertKind,
    AlertSeverity,
    CommitmentKind,
    Department,
    EnforcementKind,
    PersonRole,
    Sector,
    Tier,
)

if TYPE_CHECKING:
    from streams.wiring import Wiring

ERROR = {"$ref": "#/components/schemas/Error"}
USCC = {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"}
COUNTY = {"type": "string", "pattern": "^[0-9]{6}$"}
REPORT = "^CR-[0-9]{8}-[A-Z2-7]{12}$"
PSEUDONYM = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
#: A note, reason or description: 1–2000 characters, not only spaces.
TEXT = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"}
#: Redis stream ids: each part is also below 2**64 (``streams.http.web.stream_position``).
STREAM_ID = {"type": "string", "pattern": "^[0-9]{1,20}(-[0-9]{1,20})?$"}


def _component(record: type[faust.Record], components: dict[str, Any]) -> dict[str, str]:
    """Put a record's schema (and its nested records) into ``components``; return its $ref."""
    schema = record_schema(record)
    for name, nested in schema.pop("$defs", {}).items():
        components[name] = nested
    schema.pop("$schema", None)
    components[record.__name__] = schema
    return {"$ref": f"#/components/schemas/{record.__name__}"}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "the request is malformed; `error` says what",
        401: "no valid bearer token",
        403: "the token's role does not cover this",
        404: "not found, or outside the token's scope (the same answer for both)",
        409: "the action does not apply as things stand (e.g. the alert is already "
        "resolved, the case is closed, the registration already decided); `error` says why",
        415: "the body is not sent as Content-Type: application/json",
        503: "the serving view (Redis) or the record store (PostgreSQL) is unavailable",
    }
    return {
        str(code): {
            "description": reasons[code],
            "content": {"application/json": {"schema": ERROR}},
        }
        for code in codes
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values]}


def _path_param(
    name: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }


def _sse(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [
                *parameters,
                {"name": "Last-Event-ID", "in": "header", "schema": STREAM_ID},
            ],
            "responses": {
                "200": {
                    "description": "server-sent events (`alert`, `tier-change`, "
                    "`list-change`), kept open",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **_errors(400, 401, 403, 503),
            },
        }
    }


def _supervision(measure: dict[str, str]) -> dict[str, Any]:
    """The profile's ``supervision`` field (``pipeline.supervision.case_view``), or null."""
    stamp = {"type": ["string", "null"], "format": "date-time"}
    items = {"type": "array", "items": {"type": "object"}}
    membership = {
        "type": "object",
        "properties": {
            "list": _enum(ListKind),
            "entered_at": stamp,
            "expires_at": stamp,
            "basis": {"type": "array", "items": {"type": "string"}},
            "version": {"type": "integer"},
            "measures": {"type": "array", "items": measure},
        },
        "required": ["list", "entered_at", "expires_at", "basis", "version", "measures"],
    }
    # list_procedures: seed 八's entries on their way, with the subject's statements.
    parts = [
        "list_procedures", "published_records", "commitments", "open_deadlines", "objections",
        "repairs",
    ]  # fmt: skip
    return {
        "type": ["object", "null"],
        "properties": {
            "lists": {"type": "array", "items": membership},
            **dict.fromkeys(parts, items),
        },
        "required": ["lists", *parts],
    }


def _measures_answer(measure: dict[str, str]) -> dict[str, Any]:
    """``GET /api/subjects/{uscc}/measures`` (``pipeline.measures.measures_answer``)."""
    applied = {
        "allOf": [
            measure,
            {
                "type": "object",
                "properties": {
                    "list": _enum(ListKind),
                    "listed_until": {"type": ["string", "null"], "format": "date-time"},
                },
                "required": ["list", "listed_until"],
            },
        ]
    }
    return {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "action": {"type": ["string", "null"]},
            "restricted": {"type": "boolean"},
            "measures": {"type": "array", "items": applied},
            # seed 九 守信激励: the red list's incentives that ease the action
            "incentives": {"type": "array", "items": applied},
            "policy_version": {"type": ["string", "null"]},
        },
        "required": ["subject", "action", "restricted", "measures", "incentives", "policy_version"],
    }


def _person_paths(
    record: dict[str, str], measure: dict[str, str], actions: list[str]
) -> dict[str, Any]:
    """People's records and measures (``streams/http/persons.py``, seed 十/十一)."""
    person = _path_param(
        "person", "a person's pseudonym (a subject profile's supervision.roles)", PSEUDONYM
    )
    applied = {
        "allOf": [
            measure,
            {
                "type": "object",
                "properties": {
                    "subject": {"type": "string"},
                    "roles": {"type": "array", "items": _enum(PersonRole)},
                    "list": _enum(ListKind),
                    "listed_until": {"type": ["string", "null"], "format": "date-time"},
                },
                "required": ["subject", "roles", "list", "listed_until"],
            },
        ]
    }
    answer = {
        "type": "object",
        "properties": {
            "person": {"type": "string"},
            "action": {"type": ["string", "null"]},
            "restricted": {"type": "boolean"},
            "measures": {"type": "array", "items": applied},
            "policy_version": {"type": ["string", "null"]},
        },
        "required": ["person", "action", "restricted", "measures", "policy_version"],
    }
    return {
        "/api/persons/{person}": {
            "get": {
                "summary": "A responsible person's credit record: roles, and the listings of "
                "their subjects that reached them (centres; inspectors in scope; audited; id "
                "and name masked but for centres)",
                "parameters": [person],
                "responses": {
                    "200": _json(record, "the person's record (risk.person-records)"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/persons/{person}/measures": {
            "get": {
                "summary": "Measures in force on a responsible person (a market ban, limits on "
                "serving as an officer, …), optionally only those restricting one action "
                "(seed 十, 十一; audited)",
                "parameters": [
                    person,
                    {
                        "name": "action",
                        "in": "query",
                        "description": "an approval action; without it, every measure in force",
                        "schema": {"type": "string", "enum": actions},
                    },
                ],
                "responses": {
                    "200": _json(answer, "the measures"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
    }


def _policy_paths(version: dict[str, Any]) -> dict[str, Any]:
    """Issue 17: policy versions proposed by one official and approved by another."""
    proposal_id = _path_param("proposal_id", "a policy version's proposal id")
    summary = {
        "type": "object",
        "properties": {
            "in_force": {
                "type": "object",
                "properties": {"version": {"type": "string"}, "sha256": {"type": "string"}},
                "required": ["version", "sha256"],
            },
            "versions": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["in_force", "versions"],
    }
    proposal = {
        "type": "object",
        "properties": {
            "policy": {"type": "string", "minLength": 1, "description": "the TOML file's text"},
            "note": {"type": "string", "maxLength": 2000},
            "backtest": {
                "type": ["object", "null"],
                "description": "the JSON of `creditwatch policy backtest --json` for this text",
            },
        },
        "required": ["policy"],
    }
    return {
        "/api/policy/versions": {
            "get": {
                "summary": "The policy in force and every version proposed (supervision centres)",
                "responses": {"200": _json(summary, "versions"), **_errors(401, 403, 503)},
            },
            "post": {
                "summary": "Propose a policy version (audited); a second official approves it",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": proposal}},
                },
                "responses": {
                    "201": _json(version, "proposed"),
                    "409": _json(ERROR, "the proposed text is the policy in force"),
                    **_errors(400, 401, 403, 415, 503),
                },
            },
        },
        "/api/policy/versions/{proposal_id}": {
            "get": {
                "summary": "A policy version: text, diff, attached backtest, standing",
                "parameters": [proposal_id],
                "responses": {"200": _json(version, "the version"), **_errors(401, 403, 404, 503)},
            }
        },
        "/api/policy/versions/{proposal_id}/approve": {
            "post": {
                "summary": "Approve a version another official proposed (audited); every "
                "worker puts it in force and re-grades (403: its proposer)",
                "parameters": [proposal_id],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "202": _json(version, "approved"),
                    "409": _json(
                        ERROR,
                        "not waiting for approval, or another version came "
                        "into force since it was proposed",
                    ),
                    **_errors(400, 401, 403, 404, 415, 503),
                },
            }
        },
    }


def _record_paths(uscc: dict[str, Any]) -> dict[str, Any]:
    """The record search and credit reports (``streams/http/records.py``)."""
    stamp = {"type": "string", "format": "date-time"}
    record = {
        "type": "object",
        "description": "an enforcement.events record (every contract field) and its publication",
        "properties": {
            "event_id": {"type": "string"},
            "subject": {"type": "string"},
            "kind": _enum(EnforcementKind),
            "occurred_at": stamp,
            "department": _enum(Department),
            "publication": {
                "type": ["object", "null"],
                "properties": {
                    "status": {"type": "string"},
                    "published_until": stamp,
                    "published_now": {"type": "boolean"},
                },
                "required": ["status", "published_until", "published_now"],
            },
        },
        "required": ["event_id", "subject", "kind", "occurred_at", "department", "publication"],
    }
    moment = {
        "type": "string",
        "description": "a date (the start of that day, Beijing time) or an ISO 8601 time",
        "example": "2026-03-01",
    }
    words = {"type": "string", "description": "one value, or several comma-separated"}
    number = _path_param("number", "a report number", {"type": "string", "pattern": REPORT})
    report_record = {
        "type": "object",
        "properties": {
            "number": {"type": "string"},
            "subject": {"type": "string"},
            "issued_at": stamp,
            "valid_until": stamp,
            "sha256": {"type": "string"},
            "requested_by": {"type": "string"},
            "disclosure_version": {"type": "string"},
            "document": {"type": "object"},
        },
        "required": ["number", "subject", "issued_at", "valid_until", "sha256", "document"],
    }
    return {
        "/api/subjects/{subject}/records": {
            "get": {
                "summary": "A subject's enforcement records from the record store, with their "
                "publication, newest first (centres; inspectors in scope; the subject itself; "
                "audited)",
                "parameters": [
                    uscc,
                    {"name": "from", "in": "query", "schema": moment},
                    {"name": "to", "in": "query", "schema": moment},
                    {"name": "department", "in": "query", "schema": words},
                    {"name": "kind", "in": "query", "schema": words},
                    {"name": "published", "in": "query", "schema": {"enum": ["true", "false"]}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                    {"name": "after", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "subject": {"type": "string"},
                                "limit": {"type": "integer"},
                                "after": {"type": ["string", "null"]},
                                "records": {"type": "array", "items": record},
                            },
                            "required": ["subject", "limit", "after", "records"],
                        },
                        "a page of records; `after` gives the next page, null on the last",
                    ),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/subjects/{subject}/reports": {
            "post": {
                "summary": "Issue a credit report (公共信用信息报告) as a PDF (centres, "
                "departments, the subject itself; audited); verifiable at the public site's "
                "/reports/{number}",
                "parameters": [uscc],
                "requestBody": {
                    "content": {"application/json": {"schema": {"type": "object"}}},
                    "description": "no fields yet: `{}` or empty, sent as JSON",
                },
                "responses": {
                    "201": {
                        "description": "the report; X-Report-Number, X-Report-SHA256 and "
                        "Location (the public verification page) name it",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_errors(400, 401, 403, 415, 503),
                },
            }
        },
        "/api/reports/{number}": {
            "get": {
                "summary": "An issued credit report: its record and content (JSON), or the "
                "report as HTML (format=html)",
                "parameters": [
                    number,
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}},
                ],
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {
                            "application/json": {"schema": report_record},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
    }


MATCHER_SCHEMAS = {
    "subject": USCC,
    "region": COUNTY,
    "sector": _enum(Sector),
    "kind": _enum(AlertKind),
    "severity": _enum(AlertSeverity),
}
assert set(MATCHER_SCHEMAS) == set(MATCHER_CHECKS), "silence matchers and their schemas differ"


def _self_service_paths(uscc: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Subjects' self-service and associations' feed and reports (issue 18,
    ``streams/http/self_service.py``)."""
    registration = _component(Registration, components)
    moment = {"type": "string", "format": "date-time"}
    event_id = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}
    filing = {
        "type": "object",
        "properties": {"concerns_event_id": event_id, "description": TEXT},
        "required": ["concerns_event_id"],
    }
    filed = _json(
        {
            "type": "object",
            "properties": {
                "event_id": {"type": "string"},
                "kind": {"type": "string"},
                "concerns_event_id": {"type": "string"},
                "accepted": {"type": "boolean"},
                "decision": {"type": "string"},
            },
            "required": ["event_id", "kind", "accepted", "decision"],
        },
        "accepted: on enforcement.events; the decision follows on /applications",
    )
    reason = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "detail_zh": {"type": ["string", "null"]},
        },
        "required": ["code", "detail"],
    }
    decision = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "concerns_event_id": {"type": "string"},
            "issued_at": moment,
            "reasons": {"type": "array", "items": reason},
            "earliest_eligible_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["kind", "concerns_event_id", "issued_at", "reasons", "earliest_eligible_at"],
    }
    applications = {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "objections": {"type": "array", "items": {"type": "object"}},
            "repairs": {"type": "array", "items": {"type": "object"}},
            "decisions": {"type": "array", "items": decision},
            "registrations": {"type": "array", "items": registration},
        },
        "required": ["subject", "objections", "repairs", "decisions", "registrations"],
    }
    member = {
        "type": "object",
        "properties": {
            "subject": {"type": "string"},
            "member_from": moment,
            "member_until": {"type": ["string", "null"], "format": "date-time"},
            "member_now": {"type": "boolean"},
            "tier": {"type": ["string", "null"]},
            "lists": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["subject", "member_from", "member_until", "member_now", "tier", "lists"],
    }
    change = {
        "type": "object",
        "properties": {
            "id": STREAM_ID,
            "type": {"type": "string", "enum": ["tier-change", "list-change"]},
            "change": {"type": "object"},
        },
        "required": ["id", "type", "change"],
    }
    report = {
        "type": "object",
        "properties": {
            "subject": USCC,
            "event_id": event_id,
            "kind": {"type": "string", "enum": sorted(k.value for k in ASSOCIATION_KINDS)},
            "occurred_at": moment,
            "commitment_kind": _enum(CommitmentKind),
            "deadline": moment,
            "concerns_event_id": event_id,
            "reference": event_id,
            "description": TEXT,
            "region": COUNTY,
            "sector": _enum(Sector),
        },
        "required": ["subject", "event_id", "kind", "occurred_at"],
    }

    def post(summary: str, body: dict[str, Any], answers: dict[str, Any], *params: Any) -> Any:
        return {
            "post": {
                "summary": summary,
                "parameters": list(params),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {**answers, **_errors(400, 401, 403, 404, 415, 503)},
            }
        }

    def get(summary: str, answer: dict[str, Any], *params: Any) -> Any:
        return {
            "get": {
                "summary": summary,
                "parameters": list(params),
                "responses": {"200": answer, **_errors(400, 401, 403, 404, 503)},
            }
        }

    return {
        "/api/subjects/{subject}/objections": post(
            "A subject disputes one of its records (subject tokens, own USCC; audited)",
            filing,
            {"202": filed},
            uscc,
        ),
        "/api/subjects/{subject}/repairs": post(
            "A subject applies to repair one of its records (subject tokens, own USCC; audited)",
            filing,
            {"202": filed},
            uscc,
        ),
        "/api/subjects/{subject}/applications": get(
            "A subject's objections, repair decisions (reasons, earliest date) and voluntary "
            "registrations (the subject itself, and centres)",
            _json(applications, "the applications"),
            uscc,
        ),
        "/api/subjects/{subject}/registrations": post(
            "A voluntary registration (seed 五), pending until an official verifies it",
            {
                "type": "object",
                "properties": {"category": _enum(RegistrationCategory), "description": TEXT},
                "required": ["category", "description"],
            },
            {"201": _json(registration, "filed, pending")},
            uscc,
        ),
        "/api/registrations": get(
            "Voluntary registrations waiting for verification (centres)",
            _json(
                {
                    "type": "object",
                    "properties": {"registrations": {"type": "array", "items": registration}},
                    "required": ["registrations"],
                },
                "pending registrations, oldest first",
            ),
        ),
        "/api/registrations/{registration_id}/decision": post(
            "Verify or reject a pending registration (centres; audited); a verified one "
            "goes on the record and counts",
            {
                "type": "object",
                "properties": {
                    "decision": {
                        "type": "string",
                        "enum": [
                            RegistrationStatus.VERIFIED.value,
                            RegistrationStatus.REJECTED.value,
                        ],
                    },
                    "note": TEXT,
                },
                "required": ["decision"],
            },
            {
                "200": _json(registration, "decided"),
                "409": _errors(409)["409"],
            },
            _path_param("registration_id", "a registration id"),
        ),
        "/api/association/members": get(
            "The association's member register, and each current member's tier and lists",
            _json(
                {
                    "type": "object",
                    "properties": {
                        "association": {"type": "string"},
                        "members": {"type": "array", "items": member},
                    },
                    "required": ["association", "members"],
                },
                "the register",
            ),
        ),
        "/api/association/feed": get(
            "Tier and list changes of the association's members, made while they were "
            "members, oldest first",
            _json(
                {
                    "type": "object",
                    "properties": {
                        "association": {"type": "string"},
                        "changes": {"type": "array", "items": change},
                        "next": {"type": ["string", "null"]},
                    },
                    "required": ["association", "changes", "next"],
                },
                "changes, and the position to ask from next (?after=)",
            ),
            {"name": "after", "in": "query", "schema": STREAM_ID},
        ),
        "/api/association/records": post(
            "An association reports a record about a current member: a self-discipline "
            "commitment made, kept or broken, or an industry honour (audited)",
            report,
            {
                "202": _json(
                    {
                        "type": "object",
                        "properties": {
                            "event_id": {"type": "string"},
                            "accepted": {"type": "boolean"},
                        },
                        "required": ["event_id", "accepted"],
                    },
                    "accepted: on enforcement.events",
                )
            },
        ),
    }


def openapi_document(policy: Policy) -> dict[str, Any]:
    """The document, for a worker under ``policy`` (it names the approval actions)."""
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        }
    }
    alert = _component(Alert, components)
    silence = _component(Silence, components)
    measure = _component(Measure, components)
    person_record = _component(PersonCreditRecord, components)
    uscc = _path_param("subject", "a USCC (check digit verified)", USCC)
    text = TEXT
    note = {"type": "object", "properties": {"note": text}}
    action_accepted = _json(
        {
            "type": "object",
            "properties": {
                "alert_id": {"type": "string"},
                "action": {"type": "string"},
                "accepted": {"type": "boolean"},
            },
            "required": ["alert_id", "action", "accepted"],
        },
        "accepted: the alert manager applies it within a second or so",
    )
    facets = [
        {"name": "region", "in": "query", "schema": COUNTY},
        {"name": "sector", "in": "query", "schema": _enum(Sector)},
        {"name": "severity", "in": "query", "schema": _enum(AlertSeverity)},
        {"name": "kind", "in": "query", "schema": _enum(AlertKind)},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
        },
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        },
    ]
    alert_id = _path_param("alert_id", "an alert id")
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Liveness and Redis reachability (no token needed)",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "healthy"),
                    "503": _json({"type": "object"}, "degraded: Redis unreachable"),
                },
            }
        },
        "/api/alerts": {
            "get": {
                "summary": "Open, unmuted alerts in the caller's scope, newest first",
                "parameters": facets,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "total": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                                "alerts": {"type": "array", "items": alert},
                            },
                            "required": ["total", "limit", "offset", "alerts"],
                        },
                        "a page of alerts",
                    ),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/api/alerts/{alert_id}": {
            "get": {
                "summary": "One alert's latest snapshot",
                "parameters": [alert_id],
                "responses": {"200": _json(alert, "the alert"), **_errors(401, 403, 404, 503)},
            }
        },
        "/api/alerts/{alert_id}/ack": {
            "post": {
                "summary": "Acknowledge an alert (audited)",
                "parameters": [alert_id],
                "requestBody": {"content": {"application/json": {"schema": note}}},
                "responses": {
                    "202": action_accepted,
                    **_errors(400, 401, 403, 404, 409, 415, 503),
                },
            }
        },
        "/api/alerts/{alert_id}/resolve": {
            "post": {
                "summary": "Resolve an alert with a note saying why (audited)",
                "parameters": [alert_id],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {**note, "required": ["note"]}}},
                },
                "responses": {
                    "202": action_accepted,
                    **_errors(400, 401, 403, 404, 409, 415, 503),
                },
            }
        },
        "/api/subjects/{subject}": {
            "get": {
                "summary": "A subject's profile: tier, score and why (masked by role)",
                "parameters": [uscc],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "subject": {"type": "string"},
                                "tier": {"type": ["string", "null"]},
                                "score": {"type": "number"},
                                "alert_ids": {"type": "array", "items": {"type": "string"}},
                                "supervision": _supervision(measure),
                            },
                            "required": ["subject", "tier", "score"],
                        },
                        "the profile (a department's: the tier fields only, no supervision)",
                    ),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/subjects/{subject}/measures": {
            "get": {
                "summary": "Joint-punishment measures in force for a subject, optionally only "
                "those restricting one approval action (seed 九)",
                "parameters": [
                    uscc,
                    {
                        "name": "action",
                        "in": "query",
                        "description": "an approval action; without it, every measure in force",
                        "schema": {"type": "string", "enum": sorted(known_actions(policy))},
                    },
                ],
                "responses": {
                    "200": _json(_measures_answer(measure), "the measures"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        **_record_paths(uscc),
        **_case_paths(),
        **_person_paths(person_record, measure, sorted(known_actions(policy))),
        **_self_service_paths(uscc, components),
        "/api/tiers": {
            "get": {
                "summary": "Subjects per credit tier",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {t.value: {"type": "integer"} for t in Tier},
                            "required": [t.value for t in Tier],
                        },
                        "counts",
                    ),
                    **_errors(401, 503),
                },
            }
        },
        "/api/silences": {
            "get": {
                "summary": "Active and future silences (supervision centres)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"silences": {"type": "array", "items": silence}},
                            "required": ["silences"],
                        },
                        "silences",
                    ),
                    **_errors(401, 403, 503),
                },
            },
            "post": {
                "summary": "Create a silence (audited)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "matchers": {
                                        "type": "object",
                                        "properties": MATCHER_SCHEMAS,
                                        "additionalProperties": False,
                                        "minProperties": 1,
                                    },
                                    "reason": text,
                                    "starts_at": {"type": "string", "format": "date-time"},
                                    "ends_at": {"type": "string", "format": "date-time"},
                                    "duration_minutes": {
                                        "type": "number",
                                        "minimum": 1,
                                        "maximum": 90 * 24 * 60,
                                    },
                                },
                                "required": ["matchers", "reason"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(silence, "created"),
                    **_errors(400, 401, 403, 415, 503),
                },
            },
        },
        "/api/silences/{silence_id}": {
            "delete": {
                "summary": "End a silence now (audited); it stays on record",
                "parameters": [_path_param("silence_id", "a silence id")],
                "responses": {"200": _json(silence, "ended"), **_errors(401, 403, 404, 503)},
            }
        },
        **_policy_paths(_component(PolicyVersion, components)),
        "/api/events": _sse("Live alerts and tier moves in the caller's scope", []),
        "/api/inbox/{inspector}/events": _sse(
            "An inspector's durable inbox of routed alerts",
            [
                _path_param("inspector", "the inspector's token name"),
                {"name": "after", "in": "query", "schema": STREAM_ID},
            ],
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "creditwatch worker API",
            "version": "1",
            "description": "Alerts, subjects, measures, tiers, silences and live events. "
            "Every /api endpoint needs a bearer token (docs/access.md).",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _case_paths() -> dict[str, Any]:
    """Issue 17: the case queues, a case, its actions (docs/cases.md) and rule precision."""
    nullable = {"type": ["string", "null"]}
    case_alert = {
        "type": "object",
        "properties": {
            "alert_id": {"type": "string"},
            "rule": nullable,
            "kind": _enum(AlertKind),
            "severity": _enum(AlertSeverity),
            "status": {"type": "string"},
            "verdict": {"type": ["string", "null"], "enum": [*(v.value for v in Verdict), None]},
        },
        "required": ["alert_id", "kind", "severity", "status", "verdict"],
    }
    core = {
        "case_id": {"type": "string"},
        "key": {"type": "string"},
        "subject": nullable,
        "queue": {"type": "string"},
        "owner": nullable,
        "status": _enum(CaseStatus),
        "opened_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time"},
        "escalated_at": {"type": ["string", "null"], "format": "date-time"},
        "overdue": {"type": "boolean"},
        "revision": {"type": "integer"},
    }
    required = ["case_id", "key", "queue", "owner", "status", "opened_at", "due_at", "overdue"]
    listed = {"type": "object", "properties": core, "required": required}
    case = {
        "type": "object",
        "properties": {
            **core,
            "alerts": {"type": "array", "items": case_alert},
            "notices": {"type": "array", "items": {"type": "object"}},
            "notes": {"type": "array", "items": {"type": "object"}},
            "history": {"type": "array", "items": {"type": "object"}},
            "attachments": {"type": "array", "items": {"type": "object"}},
        },
        "required": [*required, "alerts", "notices", "notes", "history", "attachments"],
    }
    case_id = _path_param("case_id", "a case id: its subject (or incident) and number, KEY~N")
    accepted = _json(
        {
            "type": "object",
            "properties": {"case_id": {"type": "string"}, "action": {"type": "string"}},
            "required": ["case_id", "action"],
        },
        "accepted; the case agent applies it shortly",
    )

    def action(summary: str, field: str, schema: dict[str, Any], *extra: Any) -> dict[str, Any]:
        body = {"type": "object", "properties": {field: schema}, "required": [field]}
        return {
            "post": {
                "summary": summary,
                "parameters": [case_id, *extra],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {"202": accepted, **_errors(400, 401, 403, 404, 409, 415, 503)},
            }
        }

    precision = {
        "type": "object",
        "properties": {
            "rule": {"type": "string"},
            "kind": {"type": "string"},
            **{v.value: {"type": "integer"} for v in Verdict},
            "judged": {"type": "integer"},
            "precision": {"type": ["number", "null"]},
        },
        "required": ["rule", "kind", *(v.value for v in Verdict), "judged", "precision"],
    }
    text = {"type": "string", "minLength": 1, "maxLength": 4000}
    return {
        "/api/cases": {
            "get": {
                "summary": "Open cases in the caller's scope: all, mine, or overdue",
                "parameters": [
                    {"name": "view", "in": "query", "schema": {"enum": ["open", "mine", "overdue"]}}
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "view": {"type": "string"},
                                "total": {"type": "integer"},
                                "cases": {"type": "array", "items": listed},
                            },
                            "required": ["view", "total", "cases"],
                        },
                        "the queue, soonest due first",
                    ),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/api/cases/{case_id}": {
            "get": {
                "summary": "A case: its alerts with verdicts, notices, notes and history",
                "parameters": [case_id],
                "responses": {"200": _json(case, "the case"), **_errors(401, 403, 404, 503)},
            }
        },
        "/api/cases/{case_id}/assign": action(
            "Reassign a case (supervision centres; audited)", "owner", text
        ),
        "/api/cases/{case_id}/status": action(
            "Move a case: new → investigating → measures_taken → closed (audited)",
            "status",
            _enum(CaseStatus),
        ),
        "/api/cases/{case_id}/notes": action("Add a note to a case (audited)", "text", text),
        "/api/cases/{case_id}/alerts/{alert_id}/verdict": action(
            "Give an alert of the case its verdict (audited); precision per rule counts it",
            "verdict",
            _enum(Verdict),
            _path_param("alert_id", "an alert of the case"),
        ),
        "/api/cases/{case_id}/attachments": {
            "post": {
                "summary": "Attach a file to a case (audited); its bytes go to the record store",
                "parameters": [case_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                                    "media_type": {"type": "string", "maxLength": 100},
                                    "content_base64": {
                                        "type": "string",
                                        "contentEncoding": "base64",
                                        "maxLength": 933_340,
                                    },
                                },
                                "required": ["name", "content_base64"],
                            }
                        }
                    },
                },
                "responses": {"202": accepted, **_errors(400, 401, 403, 404, 409, 415, 503)},
            }
        },
        "/api/cases/{case_id}/attachments/{attachment_id}": {
            "get": {
                "summary": "A file of a case, as a download",
                "parameters": [case_id, _path_param("attachment_id", "an attachment of the case")],
                "responses": {
                    "200": {
                        "description": "the file's bytes (Content-Disposition: attachment)",
                        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_errors(401, 403, 404, 503),
                },
            }
        },
        "/api/case-precision": {
            "get": {
                "summary": "Precision per rule and alert kind from the verdicts (centres)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "verdicts": {"type": "array", "items": {"type": "string"}},
                                "rules": {"type": "array", "items": precision},
                            },
                            "required": ["verdicts", "rules"],
                        },
                        "worst precision first",
                    ),
                    **_errors(401, 403, 503),
                },
            }
        },
    }


def register(w: Wiring) -> None:
    document = json.dumps(openapi_document(w.context.policy)).encode()

    async def openapi_view(web: View, request: Request) -> Response:
        return web.bytes(document, content_type="application/json")

    page(w.app, "/openapi.json", get=openapi_view)
