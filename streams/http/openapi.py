"""The OpenAPI 3.1 document of the worker's HTTP API, served at ``/openapi.json``.

Record schemas come from the contract records themselves (``topics/json_schema.py``),
and enumerations from ``topics/vocabulary.py``, so the document cannot drift from
what the server sends. ``tests/integration/test_openapi.py`` runs schemathesis
against a live worker with it.

The schema helpers (``_object``, ``_array``, ``_nullable``, ``_enum``) and the
operation builder (``_operation``) keep the JSON-schema scaffolding out of the way:
an object lists its properties by name, each required unless marked ``_optional``
(as ``NotRequired`` in a ``TypedDict``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
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

#: A JSON schema, or any other object of the document.
Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
#: Any JSON object: its shape is open, or described in prose.
OBJECT: Schema = {"type": "object"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
BINARY: Schema = {"type": "string", "format": "binary"}
ERROR: Schema = {"$ref": "#/components/schemas/Error"}
USCC: Schema = {
    "type": "string",
    "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
}
COUNTY: Schema = {"type": "string", "pattern": "^[0-9]{6}$"}
REPORT = "^CR-[0-9]{8}-[A-Z2-7]{12}$"
PSEUDONYM: Schema = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
#: A note, reason or description: 1–2000 characters, not only spaces.
TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"}
#: Redis stream ids: each part is also below 2**64 (``streams.http.web.stream_position``).
STREAM_ID: Schema = {"type": "string", "pattern": "^[0-9]{1,20}(-[0-9]{1,20})?$"}
#: A page size (``?limit=``).
LIMIT: Schema = {"type": "integer", "minimum": 1, "maximum": 500}


@dataclass(frozen=True)
class _OptionalProperty:
    schema: Schema


def _optional(schema: Schema) -> _OptionalProperty:
    """A property of :func:`_object` that may be absent."""
    return _OptionalProperty(schema)


def _object(description: str | None = None, /, **properties: Schema | _OptionalProperty) -> Schema:
    """An object with these properties, each required unless marked :func:`_optional`.

    ``description`` (what the object is) is positional only, so that a property can be
    called ``description`` too.
    """
    schema: Schema = {"type": "object"}
    if description is not None:
        schema["description"] = description
    if properties:
        schema["properties"] = {
            name: p.schema if isinstance(p, _OptionalProperty) else p
            for name, p in properties.items()
        }
    required = [name for name, p in properties.items() if not isinstance(p, _OptionalProperty)]
    if required:
        schema["required"] = required
    return schema


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _nullable(schema: Schema) -> Schema:
    """``schema``, or null."""
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _enum(members: Iterable[Enum]) -> Schema:
    """One of these enumeration members, by value."""
    return _literal(*(m.value for m in members))


def _literal(*values: str) -> Schema:
    """One of these strings."""
    return {"type": "string", "enum": list(values)}


def _component(record: type[faust.Record], components: Schema) -> Schema:
    """Put a record's schema (and its nested records) into ``components``; return its $ref."""
    schema = record_schema(record)
    for name, nested in schema.pop("$defs", {}).items():
        components[name] = nested
    schema.pop("$schema", None)
    components[record.__name__] = schema
    return {"$ref": f"#/components/schemas/{record.__name__}"}


def _json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _json(schema: Schema, description: str) -> Schema:
    """A response with a JSON body."""
    return {"description": description, "content": _json_content(schema)}


def _body(schema: Schema, required: bool = True) -> Schema:
    """A JSON request body."""
    return {"required": required, "content": _json_content(schema)}


def _errors(*codes: int) -> Schema:
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
    return {str(code): _json(ERROR, reasons[code]) for code in codes}


def _operation(
    summary: str,
    *,
    public: bool = False,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    responses: Schema,
    errors: Sequence[int] = (),
) -> Schema:
    """An operation: what it does, its parameters and request body, its answers, then the
    error statuses it gives (:func:`_errors`). A ``public`` one needs no bearer token."""
    operation: Schema = {"summary": summary}
    if public:
        operation["security"] = []
    if parameters is not None:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {**responses, **_errors(*errors)}
    return operation


def _path_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }


def _query(name: str, schema: Schema, description: str | None = None) -> Schema:
    parameter: Schema = {"name": name, "in": "query"}
    if description is not None:
        parameter["description"] = description
    parameter["schema"] = schema
    return parameter


def _sse(summary: str, parameters: list[Schema]) -> Schema:
    events = {
        "description": "server-sent events (`alert`, `tier-change`, `list-change`), kept open",
        "content": {"text/event-stream": {"schema": STRING}},
    }
    last_event_id = {"name": "Last-Event-ID", "in": "header", "schema": STREAM_ID}
    return {
        "get": _operation(
            summary,
            parameters=[*parameters, last_event_id],
            responses={"200": events},
            errors=(400, 401, 403, 503),
        )
    }


def _supervision(measure: Schema) -> Schema:
    """The profile's ``supervision`` field (``pipeline.supervision.case_view``), or null."""
    membership = _object(
        list=_enum(ListKind),
        entered_at=_nullable(DATE_TIME),
        expires_at=_nullable(DATE_TIME),
        basis=_array(STRING),
        version=INTEGER,
        measures=_array(measure),
    )
    entries = _array(OBJECT)
    return _nullable(
        _object(
            lists=_array(membership),
            # seed 八's entries on their way, with the subject's statements
            list_procedures=entries,
            published_records=entries,
            commitments=entries,
            open_deadlines=entries,
            objections=entries,
            repairs=entries,
        )
    )


def _measures_answer(measure: Schema) -> Schema:
    """``GET /api/subjects/{uscc}/measures`` (``pipeline.measures.measures_answer``)."""
    applied = {"allOf": [measure, _object(list=_enum(ListKind), listed_until=_nullable(DATE_TIME))]}
    return _object(
        subject=STRING,
        action=_nullable(STRING),
        restricted=BOOLEAN,
        measures=_array(applied),
        # seed 九 守信激励: the red list's incentives that ease the action
        incentives=_array(applied),
        policy_version=_nullable(STRING),
    )


def _person_paths(record: Schema, measure: Schema, action: Schema) -> Schema:
    """People's records and measures (``streams/http/persons.py``, seed 十/十一)."""
    person = _path_param(
        "person", "a person's pseudonym (a subject profile's supervision.roles)", PSEUDONYM
    )
    applied = {
        "allOf": [
            measure,
            _object(
                subject=STRING,
                roles=_array(_enum(PersonRole)),
                list=_enum(ListKind),
                listed_until=_nullable(DATE_TIME),
            ),
        ]
    }
    answer = _object(
        person=STRING,
        action=_nullable(STRING),
        restricted=BOOLEAN,
        measures=_array(applied),
        policy_version=_nullable(STRING),
    )
    return {
        "/api/persons/{person}": {
            "get": _operation(
                "A responsible person's credit record: roles, and the listings of their "
                "subjects that reached them (centres; inspectors in scope; audited; id and "
                "name masked but for centres)",
                parameters=[person],
                responses={"200": _json(record, "the person's record (risk.person-records)")},
                errors=(400, 401, 403, 404, 503),
            )
        },
        "/api/persons/{person}/measures": {
            "get": _operation(
                "Measures in force on a responsible person (a market ban, limits on serving "
                "as an officer, …), optionally only those restricting one action (seed 十, "
                "十一; audited)",
                parameters=[person, action],
                responses={"200": _json(answer, "the measures")},
                errors=(400, 401, 403, 404, 503),
            )
        },
    }


def _policy_paths(version: Schema) -> Schema:
    """Issue 17: policy versions proposed by one official and approved by another."""
    proposal_id = _path_param("proposal_id", "a policy version's proposal id")
    summary = _object(in_force=_object(version=STRING, sha256=STRING), versions=_array(OBJECT))
    backtest = "the JSON of `creditwatch policy backtest --json` for this text"
    proposal = _object(
        policy={"type": "string", "minLength": 1, "description": "the TOML file's text"},
        note=_optional({"type": "string", "maxLength": 2000}),
        backtest=_optional(_nullable(_object(backtest))),
    )
    return {
        "/api/policy/versions": {
            "get": _operation(
                "The policy in force and every version proposed (supervision centres)",
                responses={"200": _json(summary, "versions")},
                errors=(401, 403, 503),
            ),
            "post": _operation(
                "Propose a policy version (audited); a second official approves it",
                body=_body(proposal),
                responses={
                    "201": _json(version, "proposed"),
                    "409": _json(ERROR, "the proposed text is the policy in force"),
                },
                errors=(400, 401, 403, 415, 503),
            ),
        },
        "/api/policy/versions/{proposal_id}": {
            "get": _operation(
                "A policy version: text, diff, attached backtest, standing",
                parameters=[proposal_id],
                responses={"200": _json(version, "the version")},
                errors=(401, 403, 404, 503),
            )
        },
        "/api/policy/versions/{proposal_id}/approve": {
            "post": _operation(
                "Approve a version another official proposed (audited); every worker puts it "
                "in force and re-grades (403: its proposer)",
                parameters=[proposal_id],
                body=_body(OBJECT, required=False),
                responses={
                    "202": _json(version, "approved"),
                    "409": _json(
                        ERROR,
                        "not waiting for approval, or another version came into force since "
                        "it was proposed",
                    ),
                },
                errors=(400, 401, 403, 404, 415, 503),
            )
        },
    }


def _record_paths(uscc: Schema) -> Schema:
    """The record search and credit reports (``streams/http/records.py``)."""
    record = _object(
        "an enforcement.events record (every contract field) and its publication",
        event_id=STRING,
        subject=STRING,
        kind=_enum(EnforcementKind),
        occurred_at=DATE_TIME,
        department=_enum(Department),
        publication=_nullable(
            _object(status=STRING, published_until=DATE_TIME, published_now=BOOLEAN)
        ),
    )
    moment = {
        "type": "string",
        "description": "a date (the start of that day, Beijing time) or an ISO 8601 time",
        "example": "2026-03-01",
    }
    words = {"type": "string", "description": "one value, or several comma-separated"}
    number = _path_param("number", "a report number", {"type": "string", "pattern": REPORT})
    report_record = _object(
        number=STRING,
        subject=STRING,
        issued_at=DATE_TIME,
        valid_until=DATE_TIME,
        sha256=STRING,
        requested_by=_optional(STRING),
        disclosure_version=_optional(STRING),
        document=OBJECT,
    )
    page_of_records = _object(
        subject=STRING, limit=INTEGER, after=_nullable(STRING), records=_array(record)
    )
    return {
        "/api/subjects/{subject}/records": {
            "get": _operation(
                "A subject's enforcement records from the record store, with their "
                "publication, newest first (centres; inspectors in scope; the subject itself; "
                "audited)",
                parameters=[
                    uscc,
                    _query("from", moment),
                    _query("to", moment),
                    _query("department", words),
                    _query("kind", words),
                    _query("published", {"enum": ["true", "false"]}),
                    _query("limit", LIMIT),
                    _query("after", STRING),
                ],
                responses={
                    "200": _json(
                        page_of_records,
                        "a page of records; `after` gives the next page, null on the last",
                    )
                },
                errors=(400, 401, 403, 404, 503),
            )
        },
        "/api/subjects/{subject}/reports": {
            "post": _operation(
                "Issue a credit report (公共信用信息报告) as a PDF (centres, departments, the "
                "subject itself; audited); verifiable at the public site's /reports/{number}",
                parameters=[uscc],
                body={
                    "content": _json_content(OBJECT),
                    "description": "no fields yet: `{}` or empty, sent as JSON",
                },
                responses={
                    "201": {
                        "description": "the report; X-Report-Number, X-Report-SHA256 and "
                        "Location (the public verification page) name it",
                        "content": {"application/pdf": {"schema": BINARY}},
                    }
                },
                errors=(400, 401, 403, 415, 503),
            )
        },
        "/api/reports/{number}": {
            "get": _operation(
                "An issued credit report: its record and content (JSON), or the report as "
                "HTML (format=html)",
                parameters=[number, _query("format", {"enum": ["json", "html"]})],
                responses={
                    "200": {
                        "description": "the report",
                        "content": {
                            **_json_content(report_record),
                            "text/html": {"schema": STRING},
                        },
                    }
                },
                errors=(400, 401, 403, 404, 503),
            )
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


def _self_service_paths(uscc: Schema, components: Schema) -> Schema:
    """Subjects' self-service and associations' feed and reports (issue 18,
    ``streams/http/self_service.py``)."""
    registration = _component(Registration, components)
    event_id = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}
    filing = _object(concerns_event_id=event_id, description=_optional(TEXT))
    filed = _json(
        _object(
            event_id=STRING,
            kind=STRING,
            concerns_event_id=_optional(STRING),
            accepted=BOOLEAN,
            decision=STRING,
        ),
        "accepted: on enforcement.events; the decision follows on /applications",
    )
    reason = _object(code=STRING, detail=STRING, detail_zh=_optional(_nullable(STRING)))
    decision = _object(
        kind=STRING,
        concerns_event_id=STRING,
        issued_at=DATE_TIME,
        reasons=_array(reason),
        earliest_eligible_at=_nullable(DATE_TIME),
    )
    applications = _object(
        subject=STRING,
        objections=_array(OBJECT),
        repairs=_array(OBJECT),
        decisions=_array(decision),
        registrations=_array(registration),
    )
    member = _object(
        subject=STRING,
        member_from=DATE_TIME,
        member_until=_nullable(DATE_TIME),
        member_now=BOOLEAN,
        tier=_nullable(STRING),
        lists=_array(STRING),
    )
    change = _object(id=STREAM_ID, type=_literal("tier-change", "list-change"), change=OBJECT)
    report = _object(
        subject=USCC,
        event_id=event_id,
        kind=_literal(*sorted(k.value for k in ASSOCIATION_KINDS)),
        occurred_at=DATE_TIME,
        commitment_kind=_optional(_enum(CommitmentKind)),
        deadline=_optional(DATE_TIME),
        concerns_event_id=_optional(event_id),
        reference=_optional(event_id),
        description=_optional(TEXT),
        region=_optional(COUNTY),
        sector=_optional(_enum(Sector)),
    )

    def post(summary: str, body: Schema, responses: Schema, *parameters: Schema) -> Schema:
        return {
            "post": _operation(
                summary,
                parameters=list(parameters),
                body=_body(body),
                responses=responses,
                errors=(400, 401, 403, 404, 415, 503),
            )
        }

    def get(summary: str, answer: Schema, *parameters: Schema) -> Schema:
        return {
            "get": _operation(
                summary,
                parameters=list(parameters),
                responses={"200": answer},
                errors=(400, 401, 403, 404, 503),
            )
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
            _object(category=_enum(RegistrationCategory), description=TEXT),
            {"201": _json(registration, "filed, pending")},
            uscc,
        ),
        "/api/registrations": get(
            "Voluntary registrations waiting for verification (centres)",
            _json(
                _object(registrations=_array(registration)),
                "pending registrations, oldest first",
            ),
        ),
        "/api/registrations/{registration_id}/decision": post(
            "Verify or reject a pending registration (centres; audited); a verified one "
            "goes on the record and counts",
            _object(
                decision=_enum([RegistrationStatus.VERIFIED, RegistrationStatus.REJECTED]),
                note=_optional(TEXT),
            ),
            {"200": _json(registration, "decided"), **_errors(409)},
            _path_param("registration_id", "a registration id"),
        ),
        "/api/association/members": get(
            "The association's member register, and each current member's tier and lists",
            _json(_object(association=STRING, members=_array(member)), "the register"),
        ),
        "/api/association/feed": get(
            "Tier and list changes of the association's members, made while they were "
            "members, oldest first",
            _json(
                _object(association=STRING, changes=_array(change), next=_nullable(STRING)),
                "changes, and the position to ask from next (?after=)",
            ),
            _query("after", STREAM_ID),
        ),
        "/api/association/records": post(
            "An association reports a record about a current member: a self-discipline "
            "commitment made, kept or broken, or an industry honour (audited)",
            report,
            {
                "202": _json(
                    _object(event_id=STRING, accepted=BOOLEAN), "accepted: on enforcement.events"
                )
            },
        ),
    }


def openapi_document(policy: Policy) -> Schema:
    """The document, for a worker under ``policy`` (it names the approval actions)."""
    components: Schema = {"Error": _object(error=STRING)}
    alert = _component(Alert, components)
    silence = _component(Silence, components)
    measure = _component(Measure, components)
    person_record = _component(PersonCreditRecord, components)
    uscc = _path_param("subject", "a USCC (check digit verified)", USCC)
    note = _object(note=_optional(TEXT))
    action_accepted = _json(
        _object(alert_id=STRING, action=STRING, accepted=BOOLEAN),
        "accepted: the alert manager applies it within a second or so",
    )
    facets = [
        _query("region", COUNTY),
        _query("sector", _enum(Sector)),
        _query("severity", _enum(AlertSeverity)),
        _query("kind", _enum(AlertKind)),
        _query("limit", LIMIT),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000}),
    ]
    alert_id = _path_param("alert_id", "an alert id")
    action = _query(
        "action",
        _literal(*sorted(known_actions(policy))),
        "an approval action; without it, every measure in force",
    )
    alert_change = (400, 401, 403, 404, 409, 415, 503)
    profile = _object(
        subject=STRING,
        tier=_nullable(STRING),
        score=NUMBER,
        alert_ids=_optional(_array(STRING)),
        supervision=_optional(_supervision(measure)),
    )
    new_silence = _object(
        matchers={
            "type": "object",
            "properties": MATCHER_SCHEMAS,
            "additionalProperties": False,
            "minProperties": 1,
        },
        reason=TEXT,
        starts_at=_optional(DATE_TIME),
        ends_at=_optional(DATE_TIME),
        duration_minutes=_optional({"type": "number", "minimum": 1, "maximum": 90 * 24 * 60}),
    )
    paths: Schema = {
        "/health": {
            "get": _operation(
                "Liveness and Redis reachability (no token needed)",
                public=True,
                responses={
                    "200": _json(OBJECT, "healthy"),
                    "503": _json(OBJECT, "degraded: Redis unreachable"),
                },
            )
        },
        "/api/alerts": {
            "get": _operation(
                "Open, unmuted alerts in the caller's scope, newest first",
                parameters=facets,
                responses={
                    "200": _json(
                        _object(total=INTEGER, limit=INTEGER, offset=INTEGER, alerts=_array(alert)),
                        "a page of alerts",
                    )
                },
                errors=(400, 401, 403, 503),
            )
        },
        "/api/alerts/{alert_id}": {
            "get": _operation(
                "One alert's latest snapshot",
                parameters=[alert_id],
                responses={"200": _json(alert, "the alert")},
                errors=(401, 403, 404, 503),
            )
        },
        "/api/alerts/{alert_id}/ack": {
            "post": _operation(
                "Acknowledge an alert (audited)",
                parameters=[alert_id],
                body={"content": _json_content(note)},
                responses={"202": action_accepted},
                errors=alert_change,
            )
        },
        "/api/alerts/{alert_id}/resolve": {
            "post": _operation(
                "Resolve an alert with a note saying why (audited)",
                parameters=[alert_id],
                body=_body(_object(note=TEXT)),
                responses={"202": action_accepted},
                errors=alert_change,
            )
        },
        "/api/subjects/{subject}": {
            "get": _operation(
                "A subject's profile: tier, score and why (masked by role)",
                parameters=[uscc],
                responses={
                    "200": _json(
                        profile,
                        "the profile (a department's: the tier fields only, no supervision)",
                    )
                },
                errors=(400, 401, 403, 404, 503),
            )
        },
        "/api/subjects/{subject}/measures": {
            "get": _operation(
                "Joint-punishment measures in force for a subject, optionally only those "
                "restricting one approval action (seed 九)",
                parameters=[uscc, action],
                responses={"200": _json(_measures_answer(measure), "the measures")},
                errors=(400, 401, 403, 404, 503),
            )
        },
        **_record_paths(uscc),
        **_case_paths(),
        **_person_paths(person_record, measure, action),
        **_self_service_paths(uscc, components),
        "/api/tiers": {
            "get": _operation(
                "Subjects per credit tier",
                responses={"200": _json(_object(**{t.value: INTEGER for t in Tier}), "counts")},
                errors=(401, 503),
            )
        },
        "/api/silences": {
            "get": _operation(
                "Active and future silences (supervision centres)",
                responses={"200": _json(_object(silences=_array(silence)), "silences")},
                errors=(401, 403, 503),
            ),
            "post": _operation(
                "Create a silence (audited)",
                body=_body(new_silence),
                responses={"201": _json(silence, "created")},
                errors=(400, 401, 403, 415, 503),
            ),
        },
        "/api/silences/{silence_id}": {
            "delete": _operation(
                "End a silence now (audited); it stays on record",
                parameters=[_path_param("silence_id", "a silence id")],
                responses={"200": _json(silence, "ended")},
                errors=(401, 403, 404, 503),
            )
        },
        **_policy_paths(_component(PolicyVersion, components)),
        "/api/events": _sse("Live alerts and tier moves in the caller's scope", []),
        "/api/inbox/{inspector}/events": _sse(
            "An inspector's durable inbox of routed alerts",
            [_path_param("inspector", "the inspector's token name"), _query("after", STREAM_ID)],
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


def _case_paths() -> Schema:
    """Issue 17: the case queues, a case, its actions (docs/cases.md) and rule precision."""
    case_alert = _object(
        alert_id=STRING,
        rule=_optional(_nullable(STRING)),
        kind=_enum(AlertKind),
        severity=_enum(AlertSeverity),
        status=STRING,
        verdict=_nullable(_enum(Verdict)),
    )
    core: dict[str, Schema | _OptionalProperty] = {
        "case_id": STRING,
        "key": STRING,
        "subject": _optional(_nullable(STRING)),
        "queue": STRING,
        "owner": _nullable(STRING),
        "status": _enum(CaseStatus),
        "opened_at": DATE_TIME,
        "due_at": DATE_TIME,
        "escalated_at": _optional(_nullable(DATE_TIME)),
        "overdue": BOOLEAN,
        "revision": _optional(INTEGER),
    }
    case = _object(
        **core,
        alerts=_array(case_alert),
        notices=_array(OBJECT),
        notes=_array(OBJECT),
        history=_array(OBJECT),
        attachments=_array(OBJECT),
    )
    case_id = _path_param("case_id", "a case id: its subject (or incident) and number, KEY~N")
    accepted = _json(
        _object(case_id=STRING, action=STRING), "accepted; the case agent applies it shortly"
    )

    def action(summary: str, body: Schema, *extra: Schema) -> Schema:
        return {
            "post": _operation(
                summary,
                parameters=[case_id, *extra],
                body=_body(body),
                responses={"202": accepted},
                errors=(400, 401, 403, 404, 409, 415, 503),
            )
        }

    precision = _object(
        rule=STRING,
        kind=STRING,
        **{v.value: INTEGER for v in Verdict},
        judged=INTEGER,
        precision=_nullable(NUMBER),
    )
    text = {"type": "string", "minLength": 1, "maxLength": 4000}
    attachment = _object(
        name={"type": "string", "minLength": 1, "maxLength": 200},
        media_type=_optional({"type": "string", "maxLength": 100}),
        content_base64={"type": "string", "contentEncoding": "base64", "maxLength": 933_340},
    )
    download = {
        "description": "the file's bytes (Content-Disposition: attachment)",
        "content": {"*/*": {"schema": BINARY}},
    }
    return {
        "/api/cases": {
            "get": _operation(
                "Open cases in the caller's scope: all, mine, or overdue",
                parameters=[_query("view", {"enum": ["open", "mine", "overdue"]})],
                responses={
                    "200": _json(
                        _object(view=STRING, total=INTEGER, cases=_array(_object(**core))),
                        "the queue, soonest due first",
                    )
                },
                errors=(400, 401, 403, 503),
            )
        },
        "/api/cases/{case_id}": {
            "get": _operation(
                "A case: its alerts with verdicts, notices, notes and history",
                parameters=[case_id],
                responses={"200": _json(case, "the case")},
                errors=(401, 403, 404, 503),
            )
        },
        "/api/cases/{case_id}/assign": action(
            "Reassign a case (supervision centres; audited)", _object(owner=text)
        ),
        "/api/cases/{case_id}/status": action(
            "Move a case: new → investigating → measures_taken → closed (audited)",
            _object(status=_enum(CaseStatus)),
        ),
        "/api/cases/{case_id}/notes": action("Add a note to a case (audited)", _object(text=text)),
        "/api/cases/{case_id}/alerts/{alert_id}/verdict": action(
            "Give an alert of the case its verdict (audited); precision per rule counts it",
            _object(verdict=_enum(Verdict)),
            _path_param("alert_id", "an alert of the case"),
        ),
        "/api/cases/{case_id}/attachments": action(
            "Attach a file to a case (audited); its bytes go to the record store", attachment
        ),
        "/api/cases/{case_id}/attachments/{attachment_id}": {
            "get": _operation(
                "A file of a case, as a download",
                parameters=[case_id, _path_param("attachment_id", "an attachment of the case")],
                responses={"200": download},
                errors=(401, 403, 404, 503),
            )
        },
        "/api/case-precision": {
            "get": _operation(
                "Precision per rule and alert kind from the verdicts (centres)",
                responses={
                    "200": _json(
                        _object(verdicts=_array(STRING), rules=_array(precision)),
                        "worst precision first",
                    )
                },
                errors=(401, 403, 503),
            )
        },
    }


def register(w: Wiring) -> None:
    document = json.dumps(openapi_document(w.context.policy)).encode()

    async def openapi_view(web: View, request: Request) -> Response:
        return web.bytes(document, content_type="application/json")

    page(w.app, "/openapi.json", get=openapi_view)
