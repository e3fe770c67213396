"""The policy versions' endpoints (issue 17, item 4): propose, look, approve.

Supervision centres only. A proposal is checked as a policy file is at start-up
and published on ``risk.policy-versions`` with its diff from the policy in
force (and the backtest's tables, when the proposer attached them); a second
official approves it, and every worker puts it in force from the topic
(streams/agents/policy_follow.py). The proposer approving their own proposal
is refused with 403. Each step is audited before it is published, and each
record is mirrored into Redis at once, so the next request sees it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from faust.web import Request, Response, View

from detectors.policy import PolicyError
from pipeline.policy_versions import ProcedureRefused, approve, propose
from streams.http.access import Principal, require
from streams.http.web import board
from streams.http.web_access import NotFound, error, guarded, json_body, page
from streams.serving import redis_keys as keys
from topics.access import Role
from topics.audit import AuditAction
from topics.policy_versions import PolicyVersion

if TYPE_CHECKING:
    from streams.wiring import Wiring

APPROVAL_PAGE = "policy.html"
#: What a list of versions shows of each: not the policy's text nor the backtest.
SUMMARY_FIELDS = (
    "proposal_id", "status", "version", "sha256", "based_on_version", "proposed_by",
    "proposed_at", "note", "approved_by", "approved_at",
)  # fmt: skip


class PolicyVersions:
    def __init__(self, w: Wiring) -> None:
        self.w = w

    def _in_force(self) -> dict[str, str]:
        policy = self.w.context.policy
        return {"version": policy.version, "sha256": policy.digest}

    async def _stored(self) -> list[dict[str, Any]]:
        found = await self.w.redis.hgetall(keys.POLICY_VERSIONS)
        return [orjson.loads(raw) for raw in found.values()]

    async def _record(self, proposal_id: str) -> PolicyVersion:
        raw = await self.w.redis.hget(keys.POLICY_VERSIONS, proposal_id)
        if raw is None:
            raise NotFound(f"no policy version {proposal_id}")
        return PolicyVersion.loads(raw)

    async def _publish(self, record: PolicyVersion) -> None:
        await self.w.publish.policy_version(record)
        await self.w.redis.hset(keys.POLICY_VERSIONS, record.proposal_id, record.dumps())

    async def list_versions(self, web: View, request: Request, principal: Principal) -> Response:
        """The policy in force and every version proposed, newest first."""
        _centre_only(principal)
        stored = sorted(await self._stored(), key=lambda v: v["proposed_at"], reverse=True)
        versions = [{k: v.get(k) for k in SUMMARY_FIELDS} for v in stored]
        return web.json({"in_force": self._in_force(), "versions": versions})

    async def create(self, web: View, request: Request, principal: Principal) -> Response:
        """Propose a policy version: ``policy`` (the file's TOML text), ``note``, and
        ``backtest`` (the JSON of ``creditwatch policy backtest --json`` for this text)."""
        _centre_only(principal)
        body = await json_body(request)
        text, note = body.get("policy"), body.get("note", "")
        if not isinstance(text, str) or not text.strip():
            return error(web, 400, "policy: the policy file's text (TOML) is required")
        if not isinstance(note, str):
            return error(web, 400, "note: a string")
        context = self.w.policy
        try:
            record = propose(
                text,
                context.context.policy,
                context.text,
                principal.name,
                datetime.now(UTC),
                note,
                body.get("backtest"),
            )
        except PolicyError as exc:
            return error(web, 400, str(exc))
        except ProcedureRefused as exc:
            return error(web, exc.status, str(exc))
        details = {"version": record.version, "sha256": record.sha256, "note": note}
        target = f"policy-version:{record.proposal_id}"
        await self.w.publish.audit(principal.name, AuditAction.POLICY_PROPOSE, target, details)
        await self._publish(record)
        return web.json(orjson.loads(record.dumps()), status=201)

    async def show(
        self, web: View, request: Request, principal: Principal, proposal_id: str
    ) -> Response:
        """One version: its text, diff, backtest and standing, and whether it is in force."""
        _centre_only(principal)
        record = await self._record(proposal_id)
        shown = orjson.loads(record.dumps())
        shown["in_force"] = record.sha256 == self.w.context.policy.digest
        return web.json(shown)

    async def approve(
        self, web: View, request: Request, principal: Principal, proposal_id: str
    ) -> Response:
        """Approve a version proposed by another official; every worker puts it in force.

        The body is empty (or ``{}``) but must be sent as JSON, like every POST's: an
        HTML form cannot approve a policy."""
        _centre_only(principal)
        await json_body(request)
        record = await self._record(proposal_id)
        try:
            approved = approve(record, self.w.context.policy, principal.name, datetime.now(UTC))
        except ProcedureRefused as exc:
            return error(web, exc.status, str(exc))
        details = {"version": approved.version, "sha256": approved.sha256}
        target = f"policy-version:{proposal_id}"
        await self.w.publish.audit(principal.name, AuditAction.POLICY_APPROVE, target, details)
        await self._publish(approved)
        return web.json(orjson.loads(approved.dumps()), status=202)


def _centre_only(principal: Principal) -> None:
    require(principal.role is Role.CENTRE, "only supervision centres propose and approve policies")


def register(w: Wiring) -> None:
    guard, versions = guarded(w.redis), PolicyVersions(w)
    # The approval page lives beside the board's (dashboards/board/policy.html).
    approval_page = w.settings.board_page().with_name(APPROVAL_PAGE)
    page(w.app, "/policy", get=partial(board, approval_page))
    page(
        w.app,
        "/api/policy/versions",
        get=guard(versions.list_versions),
        post=guard(versions.create),
    )
    page(w.app, "/api/policy/versions/{proposal_id}", get=guard(versions.show))
    page(w.app, "/api/policy/versions/{proposal_id}/approve", post=guard(versions.approve))
