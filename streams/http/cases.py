"""The cases API (issue 17, docs/cases.md): the queues, a case, its actions, and precision.

Who may do what (docs/access.md):

* **centre**: reads every case, does every action, and alone reassigns;
* **inspector**: reads the cases they own and those of their scope (counties,
  and sectors if the token names any); works (status, notes, verdicts) on the
  cases they own;
* **department**: no cases.

An action is audited (and the audit entry durable) before its command goes to
the case agent, as for alerts; the API answers 409 with the reason when
:func:`pipeline.cases.refusal` refuses it against the case as served, and
202 otherwise (the agent applies it shortly, and judges it again).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View

from pipeline.cases import Case, precision, refusal
from streams.http.access import Principal, require
from streams.http.web import board
from streams.http.web_access import NotFound, error, guarded, json_body, page
from streams.serving import cases as case_view
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.cases import CaseAction, CaseCommand, Verdict

if TYPE_CHECKING:
    from streams.agents.publish import Publisher
    from streams.wiring import Wiring

MAX_NOTE = 4_000
CASE_BOARD = "cases.html"
#: The queues of ``GET /api/cases?view=``: all open cases, the caller's, those past due.
VIEWS = ("open", "mine", "overdue")
#: What each action's body carries, and its audit action.
BODY_FIELD = {
    CaseAction.ASSIGN: "owner",
    CaseAction.STATUS: "status",
    CaseAction.NOTE: "text",
    CaseAction.VERDICT: "verdict",
}
AUDITED = {
    CaseAction.ASSIGN: AuditAction.CASE_ASSIGN,
    CaseAction.STATUS: AuditAction.CASE_STATUS,
    CaseAction.NOTE: AuditAction.CASE_NOTE,
    CaseAction.VERDICT: AuditAction.CASE_VERDICT,
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


class CaseViews:
    def __init__(self, w: Wiring) -> None:
        self.redis = w.redis
        self.publish: Publisher = w.publish

    async def readable(self, principal: Principal, case_id: str) -> dict[str, Any]:
        """The case if ``principal`` may read it; 404 when absent and out of scope alike."""
        require(principal.role is not Role.DEPARTMENT, "department tokens do not read cases")
        case = await case_view.read_case(self.redis, case_id)
        if case is None or not may_read_case(principal, case):
            raise NotFound(f"no case {case_id}")
        return case

    async def list_cases(self, web: View, request: Request, principal: Principal) -> Response:
        """Open cases in the caller's scope: ``view`` open (default), mine or overdue."""
        require(principal.role is not Role.DEPARTMENT, "department tokens do not read cases")
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
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        command = CaseCommand(action, case_id, principal.name, time.time(), value or "", alert_id)
        refused = refusal(Case.from_json(case), command)
        if refused is not None:
            return error(web, 409, refused)
        details = {name: value} if alert_id is None else {name: value, "alert_id": alert_id}
        await self.publish.audit(principal.name, AUDITED[action], f"case:{case_id}", details)
        await self.publish.case_command(command)
        accepted = {"case_id": case_id, "action": action.value, "accepted": True}
        return web.json(accepted, status=202)

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
