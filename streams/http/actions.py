"""HTTP actions that change state: acknowledge and resolve alerts, create and end silences.

Actions do not write the serving view themselves: an alert action becomes a
command for the alert manager that owns the alert (so it is ordered with the
detectors' repeats), and a silence is published on ``risk.silences`` (and
mirrored in Redis at once, so it mutes from the next alert on).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import orjson
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from streams.agents.publish import Publisher
from streams.http.access import Principal, require
from streams.http.web_access import error, guarded, json_body, page, readable_alert
from streams.serving import redis_keys as keys
from streams.serving.view import ServingView
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.internal import Action, Command
from topics.silences import Silence, silence_from_request
from topics.vocabulary import AlertStatus

if TYPE_CHECKING:
    from streams.wiring import Wiring

MAX_NOTE = 2_000


AUDITED_ACTION = {Action.ACK: AuditAction.ALERT_ACK, Action.RESOLVE: AuditAction.ALERT_RESOLVE}


class Actions:
    """The state-changing endpoints, with what they write through: the serving view's
    Redis, the audit trail, the alert manager's commands, the silences' topic."""

    def __init__(self, w: Wiring) -> None:
        self.redis: aioredis.Redis = w.redis
        self.view = ServingView(w.redis, w.routing, w.context.policy)
        self.publish: Publisher = w.publish
        self.silences = w.channels.silences

    async def alert_action(
        self, action: Action, web: View, request: Request, principal: Principal, alert_id: str
    ) -> Response:
        """Acknowledge (optional ``note``) or resolve (a ``note`` saying why) an alert;
        applied asynchronously (202).

        Authorise (role, then the alert's scope), then read the body: a refusal
        never depends on what was sent."""
        require(
            principal.role in (Role.CENTRE, Role.INSPECTOR),
            f"{principal.role.value} tokens do not act on alerts",
        )
        alert = await readable_alert(self.redis, principal, alert_id)
        require(
            principal.may_act_on_alerts(alert),
            f"alert {alert_id} names several counties: the supervision centre closes it",
        )
        body = await json_body(request)
        try:
            required = action is Action.RESOLVE
            note = validation.text(body, "note", required=required, max_length=MAX_NOTE)
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        if alert["status"] == AlertStatus.RESOLVED.value:
            return error(web, 409, f"alert {alert_id} is already resolved")
        # The audit entry is confirmed by the broker before the action is taken.
        target, details = f"alert:{alert_id}", {"note": note}
        await self.publish.audit(principal.name, AUDITED_ACTION[action], target, details)
        command = Command(action, alert_id, principal.name, note or "", time.time())
        await self.publish.command(command, alert["subject"], alert["dedup_key"])
        accepted = {"alert_id": alert_id, "action": action.value, "accepted": True}
        return web.json(accepted, status=202)

    async def _publish(self, silence: Silence) -> None:
        value = silence.dumps()
        await self.silences.send(key=silence.silence_id.encode(), value=value)
        await self.view.apply_silence(value)

    async def list_silences(self, web: View, request: Request, principal: Principal) -> Response:
        """Active and future silences, soonest ending first (supervision centres)."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        found = await self.redis.hgetall(keys.SILENCES)
        stored = [orjson.loads(raw) for raw in found.values()]
        now = datetime.now(UTC)
        active = [s for s in stored if datetime.fromisoformat(s["ends_at"]) > now]
        active.sort(key=lambda s: s["ends_at"])
        return web.json({"silences": active})

    async def create_silence(self, web: View, request: Request, principal: Principal) -> Response:
        """Create a silence: ``matchers``, ``reason``, ``ends_at`` or ``duration_minutes``."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        body = await json_body(request)
        try:
            silence = silence_from_request(body, principal.name, datetime.now(UTC))
        except validation.InvalidRecord as exc:
            return error(web, 400, exc.detail)
        details = {"matchers": silence.matchers, "ends_at": silence.ends_at.isoformat()}
        action = AuditAction.SILENCE_CREATE
        await self.publish.audit(principal.name, action, silence.silence_id, details)
        await self._publish(silence)
        return web.json(orjson.loads(silence.dumps()), status=201)

    async def end_silence(
        self, web: View, request: Request, principal: Principal, silence_id: str
    ) -> Response:
        """End a silence now; it stays on record."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        raw = await self.redis.hget(keys.SILENCES, silence_id)
        if raw is None:
            return error(web, 404, f"no silence {silence_id}")
        silence = Silence.loads(raw)
        now = datetime.now(UTC)
        if silence.ends_at > now:
            await self.publish.audit(principal.name, AuditAction.SILENCE_DELETE, silence_id)
            silence.ends_at = max(now, silence.starts_at)
            await self._publish(silence)
        return web.json(orjson.loads(silence.dumps()))


def register(w: Wiring) -> None:
    guard, actions = guarded(w.redis), Actions(w)
    acknowledge = guard(partial(actions.alert_action, Action.ACK))
    resolve = guard(partial(actions.alert_action, Action.RESOLVE))
    page(w.app, "/api/alerts/{alert_id}/ack", post=acknowledge)
    page(w.app, "/api/alerts/{alert_id}/resolve", post=resolve)
    create, listing = guard(actions.create_silence), guard(actions.list_silences)
    page(w.app, "/api/silences", get=listing, post=create)
    page(w.app, "/api/silences/{silence_id}", delete=guard(actions.end_silence))
