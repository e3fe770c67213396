"""The cases API (issue 17, docs/cases.md): the queues, a case, its actions, and precision.

Who may do what (docs/access.md):

* **centre**: reads every case, does every action, and alone reassigns;
* **inspector**: reads the cases they own and those of their scope (counties,
  and sectors if the token names any); works (status, notes, verdicts, files)
  on the cases they own;
* **department** (and any other role): no cases.

An action is audited (and the audit entry durable) before its command goes to
the case agent, as for alerts; the API answers 409 with the reason when
:func:`pipeline.cases.refusal` refuses it against the case as served, and
202 otherwise (the agent applies it shortly, and judges it again).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from faust.web import Request, Response, View

from pipeline.cases import Case, precision, refusal
from streams.http.access import Principal, require
from streams.http.web import board
from streams.http.web_access import NotFound, error, guarded, json_body, page
from streams.public.store import UNAVAILABLE, read_write_store
from streams.serving import cases as case_view
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.cases import CaseAction, CaseCommand, CaseStatus, Verdict

if TYPE_CHECKING:
    from streams.agents.publish import Publisher
    from streams.wiring import Wiring

log = logging.getLogger(__name__)

MAX_NOTE = 4_000
CASE_BOARD = "cases.html"
#: A file's largest size: its base64 in a JSON body stays below aiohttp's 1 MiB body limit.
MAX_ATTACHMENT_BYTES = 700_000
MAX_NAME = 200
#: Media types a download keeps; any other is served as bytes. Always as an attachment,
#: never shown in the page's origin.
KEPT_MEDIA_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"}
)
#: Who works cases: every other role (departments, and any role added later) is refused.
CASE_ROLES = frozenset({Role.CENTRE, Role.INSPECTOR})
#: The queues of ``GET /api/cases?view=``: all open cases, the caller's, those past due.
VIEWS = ("open", "mine", "overdue")
#: What each action's body carries, and its audit action.
BODY_FIELD = {
    CaseAction.ASSIGN: "owner",
    CaseAction.STATUS: "status",
    CaseAction.NOTE: "text",
    CaseAction.VERDICT: "verdict",
}
#: Actions whose value is one of a set: anything else is a bad request (400), not a
#: refusal of the action (409).
CHOICES: dict[CaseAction, type[StrEnum]] = {
    CaseAction.STATUS: CaseStatus,
    CaseAction.VERDICT: Verdict,
}
AUDITED = {
    CaseAction.ASSIGN: AuditAction.CASE_ASSIGN,
    CaseAction.STATUS: AuditAction.CASE_STATUS,
    CaseAction.NOTE: AuditAction.CASE_NOTE,
    CaseAction.VERDICT: AuditAction.CASE_VERDICT,
    CaseAction.ATTACH: AuditAction.CASE_ATTACH,
}


def may_read_case(principal: Principal, case: Mapping[str, Any]) -> bool:
    if principal.role is Role.CENTRE:
        return True
    if principal.role is not Role.INSPECTOR:
        return False
    if case.get("owner") == principal.name:
        return True
    in_sector = not principal.sectors or case.get("sector") in principal.sectors
    return in_sector and bool(set(case.get("counties", ())) & principal.counties)


def may_work_case(principal: Principal, case: Mapping[str, Any], action: CaseAction) -> bool:
    """Centres do everything; an inspector works on the cases they own, and does not
    reassign them (a case's owner is the centre's call, after the routing rules)."""
    if principal.role is Role.CENTRE:
        return True
    owns = principal.role is Role.INSPECTOR and case.get("owner") == principal.name
    return owns and action is not CaseAction.ASSIGN


def summary(case: Mapping[str, Any], now_s: float) -> dict[str, Any]:
    """A case as a queue lists it: without its alerts, notices, notes and history."""
    whole = Case.from_json(case)
    listed = {k: v for k, v in case.items() if k not in ("alerts", "notices", "notes", "history")}
    return {
        **listed,
        "overdue": whole.overdue(now_s),
        "alerts_total": len(whole.alerts),
        "alerts_unjudged": sum(1 for a in whole.alerts if a.verdict is None),
    }


INSERT_ATTACHMENT = """
INSERT INTO case_attachments
  (attachment_id, case_id, name, media_type, size, sha256, content, uploaded_by, uploaded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
SELECT_ATTACHMENT = "SELECT content FROM case_attachments WHERE attachment_id = %s"


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent to be attached, checked."""

    name: str
    media_type: str
    content: bytes
    attachment_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def described(self) -> dict[str, Any]:
        """What the case keeps of it (``pipeline.cases.CaseAttachment`` but who and when)."""
        return {
            "attachment_id": self.attachment_id,
            "name": self.name,
            "media_type": self.media_type,
            "size": len(self.content),
            "sha256": hashlib.sha256(self.content).hexdigest(),
        }

    def row(self, case_id: str, by: str, at_s: float) -> tuple[Any, ...]:
        d = self.described
        return (self.attachment_id, case_id, self.name, self.media_type, d["size"],
                d["sha256"], self.content, by, datetime.fromtimestamp(at_s, UTC))  # fmt: skip


def attachment_of(body: Mapping[str, Any]) -> Upload:
    """The upload a request body describes; ``InvalidRecord`` saying what is wrong."""
    name = validation.text(body, "name", max_length=MAX_NAME)
    media_type = validation.text(body, "media_type", required=False, max_length=100)
    encoded = validation.text(body, "content_base64", max_length=4 * MAX_ATTACHMENT_BYTES // 3 + 4)
    try:
        content = base64.b64decode(encoded or "", validate=True)
    except (ValueError, binascii.Error):
        raise validation.InvalidRecord(
            validation.Reason.WRONG_TYPE, "'content_base64' is not base64", "content_base64"
        ) from None
    if not content or len(content) > MAX_ATTACHMENT_BYTES:
        raise validation.InvalidRecord(
            validation.Reason.TOO_LARGE,
            f"a file must have 1..{MAX_ATTACHMENT_BYTES} bytes",
            "content_base64",
        )
    return Upload(name or "", media_type or "application/octet-stream", content)


class CaseViews:
    def __init__(self, w: Wiring) -> None:
        self.redis = w.redis
        self.publish: Publisher = w.publish
        # Attachments' bytes; the pool opens on the first file (docs/record-store.md).
        self.store = read_write_store(w.settings.database)

    async def readable(self, principal: Principal, case_id: str) -> dict[str, Any]:
        """The case if ``principal`` may read it; 404 when absent and out of scope alike."""
        require(principal.role in CASE_ROLES, f"{principal.role.value} tokens do not read cases")
        case = await case_view.read_case(self.redis, case_id)
        if case is None or not may_read_case(principal, case):
            raise NotFound(f"no case {case_id}")
        return case

    async def list_cases(self, web: View, request: Request, principal: Principal) -> Response:
        """Open cases in the caller's scope: ``view`` open (default), mine or overdue."""
        require(principal.role in CASE_ROLES, f"{principal.role.value} tokens do not read cases")
        chosen = request.query.get("view", "open")
        if chosen not in VIEWS:
            return error(web, 400, f"view must be one of {', '.join(VIEWS)}")
        now_s = time.time()
        found = [c for c in await case_view.open_cases(self.redis) if may_read_case(principal, c)]
        listed = [summary(c, now_s) for c in found]
        if chosen == "mine":
            listed = [c for c in listed if c["owner"] == principal.name]
        elif chosen == "overdue":
            listed = [c for c in listed if c["overdue"]]
        listed.sort(key=lambda c: c["due_at"])
        return web.json({"view": chosen, "total": len(listed), "cases": listed})

    async def get_case(
        self, web: View, request: Request, principal: Principal, case_id: str
    ) -> Response:
        case = await self.readable(principal, case_id)
        return web.json({**case, "overdue": Case.from_json(case).overdue(time.time())})

    async def act(
        self,
        action: CaseAction,
        web: View,
        request: Request,
        principal: Principal,
        case_id: str,
        alert_id: str | None = None,
    ) -> Response:
        """Authorise (role, the case's scope and owner), then read the body, then judge the
        action against the case as served (409), audit it and send it."""
        case = await self.readable(principal, case_id)
        require(
            may_work_case(principal, case, action),
            "only the case's owner and the supervision centre work on a case"
            if action is not CaseAction.ASSIGN
            else "only the supervision centre reassigns cases",
        )
        body = await json_body(request)
        name = BODY_FIELD[action]
        try:
            value = validation.text(body, name, max_length=MAX_NOTE)
            if action in CHOICES:
                value = str(validation.choice(body, name, CHOICES[action]))
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        command = CaseCommand(action, case_id, principal.name, time.time(), value or "", alert_id)
        details = {name: value} if alert_id is None else {name: value, "alert_id": alert_id}
        return await self._send(web, principal, case, command, details)

    async def _send(
        self,
        web: View,
        principal: Principal,
        case: Mapping[str, Any],
        command: CaseCommand,
        details: dict[str, Any],
        answer: Mapping[str, Any] | None = None,
    ) -> Response:
        """Judge ``command`` against the case as served (409), audit it, send it (202)."""
        refused = refusal(Case.from_json(case), command)
        if refused is not None:
            return error(web, 409, refused)
        target = f"case:{command.case_id}"
        await self.publish.audit(principal.name, AUDITED[command.action], target, details)
        await self.publish.case_command(command)
        accepted = {"case_id": command.case_id, "action": command.action.value, "accepted": True}
        return web.json({**accepted, **(answer or {})}, status=202)

    async def attach(
        self, web: View, request: Request, principal: Principal, case_id: str
    ) -> Response:
        """Attach a file (``name``, ``content_base64``, optional ``media_type``): its bytes
        go to the record store first, then the case names it."""
        case = await self.readable(principal, case_id)
        require(
            may_work_case(principal, case, CaseAction.ATTACH),
            "only the case's owner and the supervision centre work on a case",
        )
        try:
            file = attachment_of(await json_body(request))
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        now = time.time()
        command = CaseCommand(
            CaseAction.ATTACH, case_id, principal.name, now, attachment=file.described
        )
        if (refused := refusal(Case.from_json(case), command)) is not None:
            return error(web, 409, refused)
        try:
            async with self.store.connection() as conn:
                await conn.execute(INSERT_ATTACHMENT, file.row(case_id, principal.name, now))
        except UNAVAILABLE as exc:
            log.warning("record store unavailable: %s", exc)
            return error(web, 503, "the record store (PostgreSQL) is unavailable")
        return await self._send(web, principal, case, command, file.described, file.described)

    async def download(
        self,
        web: View,
        request: Request,
        principal: Principal,
        case_id: str,
        attachment_id: str,
    ) -> Response:
        """A file of a case the caller may read, always as a download."""
        case = Case.from_json(await self.readable(principal, case_id))
        listed = case.attachment(attachment_id)
        if listed is None:
            return error(web, 404, f"no attachment {attachment_id} in case {case_id}")
        try:
            async with self.store.connection() as conn:
                found = await (await conn.execute(SELECT_ATTACHMENT, (attachment_id,))).fetchone()
        except UNAVAILABLE as exc:
            log.warning("record store unavailable: %s", exc)
            return error(web, 503, "the record store (PostgreSQL) is unavailable")
        if found is None:
            return error(web, 404, f"attachment {attachment_id} is not in the record store")
        kept = listed.media_type if listed.media_type in KEPT_MEDIA_TYPES else None
        disposition = f"attachment; filename*=UTF-8''{quote(listed.name, safe='')}"
        return web.bytes(
            bytes(found[0]),
            content_type=kept or "application/octet-stream",
            headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
        )

    async def verdict(
        self, web: View, request: Request, principal: Principal, case_id: str, alert_id: str
    ) -> Response:
        return await self.act(CaseAction.VERDICT, web, request, principal, case_id, alert_id)

    async def precision_report(self, web: View, request: Request, principal: Principal) -> Response:
        """Precision per rule and alert kind from every verdict given (supervision centres)."""
        require(principal.role is Role.CENTRE, "only supervision centres read rule precision")
        rows = precision(await case_view.verdicts(self.redis))
        return web.json(
            {"verdicts": [v.value for v in Verdict], "rules": [r.to_json() for r in rows]}
        )


def register(w: Wiring) -> None:
    guard, views = guarded(w.redis), CaseViews(w)
    # The case board lives beside the alert board (an installed image copies both).
    page(w.app, "/cases", get=partial(board, w.settings.board_page().with_name(CASE_BOARD)))
    page(w.app, "/api/cases", get=guard(views.list_cases))
    page(w.app, "/api/case-precision", get=guard(views.precision_report))
    page(w.app, "/api/cases/{case_id}", get=guard(views.get_case))
    for action, path in (
        (CaseAction.ASSIGN, "assign"),
        (CaseAction.STATUS, "status"),
        (CaseAction.NOTE, "notes"),
    ):
        page(w.app, f"/api/cases/{{case_id}}/{path}", post=guard(partial(views.act, action)))
    page(w.app, "/api/cases/{case_id}/alerts/{alert_id}/verdict", post=guard(views.verdict))
    page(w.app, "/api/cases/{case_id}/attachments", post=guard(views.attach))
    page(
        w.app,
        "/api/cases/{case_id}/attachments/{attachment_id}",
        get=guard(views.download),
    )
