"""The case agent's decisions: what an alert, a notice or a person's action does to a case.

Issue 17 item 1 (docs/cases.md). One :class:`CaseBook` per case key (a
subject; an area-wide alert's dedup key for a cross-subject incident) holds
the key's current case. An alert opens a case when the key has none open; the
routing rules (pipeline/routing.py) name its owner and queue, and the queue's
SLA in working days (the policy's calendar) its due time, counted from when
the alert was raised. Later alerts and the workflow notices about the subject
gather in it. People assign it, move it along new → investigating →
measures_taken → closed, write notes and give each alert a verdict
(:class:`~topics.cases.Verdict`); a case closes only once every alert has
one. A case still open at its due time is escalated once. A closed case
stays the key's last case until the next alert opens the next one.

:func:`refusal` is the one judge of whether an action may be taken: the API
asks it to answer 409 before it sends the command, and :func:`step` asks it
again when the command arrives (the case may have changed in between), then
ignores a refused command. Verdicts feed back as precision per rule and alert
kind (:func:`precision`, issue 17 item 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from detectors.calendar import WorkingCalendar
from pipeline.routing import Routing
from topics.audit import AuditAction
from topics.cases import (
    CaseAction,
    CaseCommand,
    CaseMessage,
    CaseStatus,
    Verdict,
    case_id_of,
)
from topics.risk import alert_counties, is_digest
from topics.vocabulary import AlertStatus
from topics.wire_time import epoch, iso

BOOK_FORMAT = 1
#: Alerts kept per case: every open one, and the newest resolved ones up to this.
MAX_ALERTS = 200
MAX_NOTICES = 50
#: Notes kept per case (the audit trail keeps every one).
MAX_NOTES = 200
MAX_HISTORY = 200
#: Files per case (their bytes are in the record store, not here).
MAX_ATTACHMENTS = 50
#: Notices remembered while a key has no open case, for the next case to gather.
MAX_PENDING_NOTICES = 20
#: The actor of what the system does to a case (opening it, escalating it).
SYSTEM = "system"

#: Where a case may go from each status. Closing is allowed from any open status
#: (an alert found false at once needs no investigation); closed is final.
NEXT_STATUSES: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CLOSED}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.MEASURES_TAKEN, CaseStatus.CLOSED}),
    CaseStatus.MEASURES_TAKEN: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


@dataclass(slots=True)
class CaseAlert:
    alert_id: str
    rule: str | None
    kind: str
    severity: str
    title: str
    title_zh: str | None
    status: str  # the alert's own status: open, acknowledged, resolved
    created_at: str
    revision: int
    verdict: str | None = None  # a Verdict value
    verdict_by: str | None = None
    verdict_at: str | None = None


@dataclass(slots=True)
class CaseNotice:
    notice_id: str
    kind: str
    department: str
    issued_at: str
    due_at: str | None


@dataclass(slots=True)
class CaseNote:
    at: str
    actor: str
    text: str


@dataclass(slots=True)
class CaseAttachment:
    """A file attached to the case; its bytes are in the record store (``case_attachments``)."""

    attachment_id: str
    name: str
    media_type: str
    size: int
    sha256: str
    by: str
    at: str


@dataclass(slots=True)
class CaseChange:
    """One line of the case's history: who did what, when (the audit trail has them too)."""

    at: str
    actor: str
    action: str
    detail: str = ""


@dataclass(slots=True)
class Case:
    case_id: str
    key: str
    subject: str | None  # None: a cross-subject incident
    region: str
    sector: str
    counties: list[str]  # where the case is: the first alert's counties
    queue: str
    owner: str | None  # None: unassigned, in the centre's hands
    status: str  # a CaseStatus value
    opened_at: str
    due_at: str
    updated_at: str
    title: str  # the first alert's, in English and Chinese
    title_zh: str | None
    escalated_at: str | None = None
    closed_at: str | None = None
    revision: int = 1
    alerts: list[CaseAlert] = field(default_factory=list)
    notices: list[CaseNotice] = field(default_factory=list)
    notes: list[CaseNote] = field(default_factory=list)
    history: list[CaseChange] = field(default_factory=list)
    attachments: list[CaseAttachment] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.status == CaseStatus.CLOSED.value

    def alert(self, alert_id: str | None) -> CaseAlert | None:
        return next((a for a in self.alerts if a.alert_id == alert_id), None)

    def attachment(self, attachment_id: str) -> CaseAttachment | None:
        return next((a for a in self.attachments if a.attachment_id == attachment_id), None)

    def overdue(self, now_s: float) -> bool:
        return not self.closed and epoch(self.due_at) <= now_s

    def to_json(self) -> dict[str, Any]:
        """The case as ``risk.cases`` carries it (and the API serves it)."""
        return asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Case:
        return cls(
            **{
                **document,
                "alerts": [CaseAlert(**a) for a in document["alerts"]],
                "notices": [CaseNotice(**n) for n in document["notices"]],
                "notes": [CaseNote(**n) for n in document["notes"]],
                "history": [CaseChange(**c) for c in document["history"]],
                "attachments": [CaseAttachment(**a) for a in document.get("attachments", ())],
            }
        )


@dataclass(slots=True)
class CaseBook:
    """A case key's current case (None until its first alert) and how many it had."""

    number: int = 0
    case: Case | None = None
    pending_notices: list[CaseNotice] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return orjson.dumps({"format": BOOK_FORMAT, "book": self})

    @classmethod
    def from_bytes(cls, data: bytes) -> CaseBook:
        document = orjson.loads(data)
        if document.get("format") != BOOK_FORMAT:
            raise ValueError("unknown case book format")
        raw = document["book"]
        return cls(
            number=raw["number"],
            case=None if raw["case"] is None else Case.from_json(raw["case"]),
            pending_notices=[CaseNotice(**n) for n in raw["pending_notices"]],
        )


@dataclass(frozen=True, slots=True)
class CaseContext:
    """What the step reads besides the book and the message."""

    routing: Routing
    calendar: WorkingCalendar


@dataclass(frozen=True, slots=True)
class CaseAudit:
    """A change the system made, for the audit trail (people's are audited by the API)."""

    action: str  # an AuditAction value
    target: str
    details: dict[str, Any]
    actor: str = SYSTEM


#: What the step asks the agent to send: the changed case, or an audit entry.
CaseOutput = Case | CaseAudit


def step(
    book: CaseBook | None, message: CaseMessage, context: CaseContext
) -> tuple[CaseBook, list[CaseOutput]]:
    """Apply one alert snapshot, workflow notice or command to its key's book."""
    book = book if book is not None else CaseBook()
    if isinstance(message, CaseCommand):
        return book, _command(book, message)
    if "notice_id" in message:
        return book, _notice(book, message)
    return book, _alert(book, message["subject"] or message["dedup_key"], message, context)


def _alert(
    book: CaseBook, key: str, alert: Mapping[str, Any], context: CaseContext
) -> list[CaseOutput]:
    if is_digest(alert):  # a count of other alerts, each in its own subject's case
        return []
    case = book.case
    if case is not None and (known := case.alert(alert["alert_id"])) is not None:
        return _alert_changed(case, known, alert)
    if alert.get("status") == AlertStatus.RESOLVED.value:
        return []  # resolved before it reached a case: nothing left to handle
    if case is not None and not case.closed:
        case.alerts.append(_case_alert(alert))
        _bound_alerts(case)
        _touch(case, alert.get("updated_at") or alert["created_at"])
        return [case]
    case = book.case = _open(book, key, alert, context)
    audit = CaseAudit(
        AuditAction.CASE_OPEN,
        f"case:{case.case_id}",
        {"alert_id": alert["alert_id"], "owner": case.owner, "queue": case.queue},
    )
    return [case, audit]


def _alert_changed(case: Case, known: CaseAlert, alert: Mapping[str, Any]) -> list[CaseOutput]:
    """A newer snapshot of an alert of the case: its status (or severity) may have moved."""
    if alert.get("revision", 0) <= known.revision:
        return []  # a redelivery, or an older snapshot
    known.revision = alert["revision"]
    if (known.status, known.severity) == (alert["status"], alert["severity"]):
        return []  # a repeat: the board counts it, the case need not change
    known.status, known.severity = alert["status"], alert["severity"]
    _touch(case, alert.get("updated_at") or alert["created_at"])
    return [case]


def _open(book: CaseBook, key: str, alert: Mapping[str, Any], context: CaseContext) -> Case:
    owner, queue = context.routing.case_owner(alert)
    opened_s = epoch(alert["created_at"])
    due_s = context.calendar.due_after_working_days(opened_s, context.routing.sla_of(queue))
    book.number += 1
    opened = iso(opened_s)
    case = Case(
        case_id=case_id_of(key, book.number),
        key=key,
        subject=alert.get("subject"),
        region=alert["region"],
        sector=alert["sector"],
        counties=sorted(alert_counties(alert)),
        queue=queue,
        owner=owner,
        status=CaseStatus.NEW.value,
        opened_at=opened,
        due_at=iso(due_s),
        updated_at=opened,
        title=alert["title"],
        title_zh=alert.get("title_zh"),
        alerts=[_case_alert(alert)],
        notices=book.pending_notices,
        history=[CaseChange(opened, SYSTEM, "open", f"owner={owner or '-'} queue={queue}")],
    )
    book.pending_notices = []
    return case


def _case_alert(alert: Mapping[str, Any]) -> CaseAlert:
    return CaseAlert(
        alert_id=alert["alert_id"],
        rule=alert.get("rule"),
        kind=alert["kind"],
        severity=alert["severity"],
        title=alert["title"],
        title_zh=alert.get("title_zh"),
        status=alert["status"],
        created_at=alert["created_at"],
        revision=alert.get("revision", 1),
    )


def _bound_alerts(case: Case) -> None:
    excess = len(case.alerts) - MAX_ALERTS
    if excess <= 0:
        return
    resolved = [a for a in case.alerts if a.status == AlertStatus.RESOLVED.value]
    dropped = {id(a) for a in resolved[:excess]}
    case.alerts = [a for a in case.alerts if id(a) not in dropped][-MAX_ALERTS:]


def _notice(book: CaseBook, notice: Mapping[str, Any]) -> list[CaseOutput]:
    item = CaseNotice(
        notice_id=notice["notice_id"],
        kind=notice["kind"],
        department=notice["department"],
        issued_at=notice["issued_at"],
        due_at=notice.get("due_at"),
    )
    case = book.case
    if case is None or case.closed:
        if all(n.notice_id != item.notice_id for n in book.pending_notices):
            book.pending_notices = [*book.pending_notices, item][-MAX_PENDING_NOTICES:]
        return []
    if any(n.notice_id == item.notice_id for n in case.notices):
        return []  # a redelivered notice
    case.notices = [*case.notices, item][-MAX_NOTICES:]
    _touch(case, item.issued_at)
    return [case]


def refusal(case: Case, command: CaseCommand) -> str | None:
    """Why ``command`` may not be applied to ``case`` as it stands; None if it may."""
    if command.case_id != case.case_id:
        return f"case {command.case_id} is no longer the current case of {case.key}"
    if command.action is CaseAction.ESCALATE:
        if case.escalated_at is not None or not case.overdue(command.at_s):
            return "the case is not (or no longer) due for escalation"
        return None
    if case.closed:
        return f"case {case.case_id} is closed"
    if command.action is CaseAction.ASSIGN:
        return "an owner must be named" if not command.value.strip() else None
    if command.action is CaseAction.NOTE:
        return "a note must have text" if not command.value.strip() else None
    if command.action is CaseAction.ATTACH:
        if len(case.attachments) >= MAX_ATTACHMENTS:
            return f"a case holds at most {MAX_ATTACHMENTS} files"
        return None if command.attachment else "an attachment must be described"
    if command.action is CaseAction.VERDICT:
        if case.alert(command.alert_id) is None:
            return f"alert {command.alert_id} is not in case {case.case_id}"
        if command.value not in {v.value for v in Verdict}:
            return f"verdict must be one of {', '.join(v.value for v in Verdict)}"
        return None
    return _status_refusal(case, command.value)


def _status_refusal(case: Case, to: str) -> str | None:
    try:
        target = CaseStatus(to)
    except ValueError:
        return f"status must be one of {', '.join(s.value for s in CaseStatus)}"
    if target not in NEXT_STATUSES[CaseStatus(case.status)]:
        return f"a case cannot go from {case.status} to {target.value}"
    unjudged = [a.alert_id for a in case.alerts if a.verdict is None]
    if target is CaseStatus.CLOSED and unjudged:
        return f"give every alert a verdict before closing; none yet for {', '.join(unjudged)}"
    return None


def _command(book: CaseBook, command: CaseCommand) -> list[CaseOutput]:
    case = book.case
    if case is None or refusal(case, command) is not None:
        return []  # refused when it arrived: the API answered 409 if it could tell
    at = iso(command.at_s)
    if command.action is CaseAction.ESCALATE:
        case.escalated_at = at
        _record(case, CaseChange(at, command.actor, "escalate", f"due {case.due_at}"))
        details = {"due_at": case.due_at, "owner": case.owner, "queue": case.queue}
        return [case, CaseAudit(AuditAction.CASE_ESCALATE, f"case:{case.case_id}", details)]
    detail = command.value
    if command.action is CaseAction.ASSIGN:
        detail = f"{case.owner or '-'} → {command.value}"
        case.owner = command.value.strip()
    elif command.action is CaseAction.STATUS:
        case.status = command.value
        if case.closed:
            case.closed_at = at
    elif command.action is CaseAction.NOTE:
        case.notes = [*case.notes, CaseNote(at, command.actor, command.value)][-MAX_NOTES:]
        detail = ""
    elif command.action is CaseAction.ATTACH:
        attached = CaseAttachment(**{**(command.attachment or {}), "by": command.actor, "at": at})
        if case.attachment(attached.attachment_id) is not None:
            return []  # the same file sent twice
        case.attachments.append(attached)
        detail = attached.name
    else:
        judged = case.alert(command.alert_id)
        assert judged is not None  # refusal() checked
        judged.verdict, judged.verdict_by, judged.verdict_at = command.value, command.actor, at
        detail = f"{command.alert_id}: {command.value}"
    _record(case, CaseChange(at, command.actor, command.action.value, detail))
    return [case]


def _record(case: Case, change: CaseChange) -> None:
    case.history = [*case.history, change][-MAX_HISTORY:]
    _touch(case, change.at)


def _touch(case: Case, at: str) -> None:
    case.revision += 1
    case.updated_at = max(case.updated_at, at, key=epoch)


# ------------------------------------------------------------- precision (item 2)


@dataclass(frozen=True, slots=True)
class RulePrecision:
    """How the verdicts on one rule's alerts (of one kind) came out."""

    rule: str
    kind: str
    risk_confirmed: int = 0
    false_positive: int = 0
    not_actionable: int = 0

    @property
    def judged(self) -> int:
        return self.risk_confirmed + self.false_positive + self.not_actionable

    @property
    def precision(self) -> float | None:
        """Confirmed of confirmed and false: a not-actionable alert was neither right nor
        wrong about the risk, so it counts in neither. None before either is known."""
        decided = self.risk_confirmed + self.false_positive
        return None if decided == 0 else self.risk_confirmed / decided

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "judged": self.judged, "precision": self.precision}


#: A rule's name where an alert has none (alerts from before rule ids, area-wide models).
NO_RULE = "-"


def verdict_of(case: Case) -> dict[str, str]:
    """The case's verdicts, one field per alert ("case|alert" → "rule|kind|verdict"): what
    the serving view keeps, idempotently, for :func:`precision`."""
    return {
        f"{case.case_id}|{a.alert_id}": f"{a.rule or NO_RULE}|{a.kind}|{a.verdict}"
        for a in case.alerts
        if a.verdict is not None
    }


def precision(verdicts: Iterable[str]) -> list[RulePrecision]:
    """Precision per rule and alert kind from "rule|kind|verdict" values, worst first
    (rules without a confirmed-or-false verdict last), so the rules that waste the
    centre's time lead.

    >>> rows = precision(["r1|rule|false_positive", "r1|rule|risk_confirmed", "r2|iot|x"])
    >>> [(r.rule, r.precision) for r in rows]
    [('r1', 0.5)]
    """
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for value in verdicts:
        rule, kind, verdict = value.split("|", 2)
        if verdict not in {v.value for v in Verdict}:
            continue  # written by a newer version: not counted, never a crash
        tally = counts.setdefault((rule, kind), {})
        tally[verdict] = tally.get(verdict, 0) + 1
    rows = [RulePrecision(rule, kind, **tally) for (rule, kind), tally in counts.items()]
    return sorted(rows, key=lambda r: (r.precision is None, r.precision or 0.0, r.rule, r.kind))
