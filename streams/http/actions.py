"""HTTP actions that change state: acknowledge and resolve alerts, create and end silences.

Actions do not write the serving view themselves: an alert action becomes a
command for the alert manager that owns the alert (so it is ordered with the
detectors' repeats), and a silence is published on ``risk.silences`` (and
mirrored in Redis at once, so it mutes from the next alert on).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
from faust.web import Request, Response, View

from streams.agents.alert_manager import send_command
from streams.agents.audit import audit_action
from streams.app import app
from streams.http.access import Principal, require
from streams.http.web import readable_alert
from streams.http.web_access import error, guarded, json_body
from streams.runtime.channels import silences
from streams.serving import redis_keys as keys
from streams.serving.view import apply_silence, redis
from topics import validation
from topics.access import Role
from topics.audit import AuditAction
from topics.internal import Action, Command
from topics.silences import Silence, silence_from_request
from topics.vocabulary import AlertStatus

MAX_NOTE = 2_000


AUDITED_ACTION = {Action.ACK: AuditAction.ALERT_ACK, Action.RESOLVE: AuditAction.ALERT_RESOLVE}


async def _alert_action(
    web: View, request: Request, principal: Principal, alert_id: str, action: Action
) -> Response:
    """Authorise (role, then the alert's scope), then read the body: a refusal
    never depends on what was sent."""
    require(
        principal.role in (Role.CENTRE, Role.INSPECTOR),
        f"{principal.role.value} tokens do not act on alerts",
    )
    alert = await readable_alert(principal, alert_id)
    require(
        principal.may_act_on_alerts(alert),
        f"alert {alert_id} names several counties: the supervision centre closes it",
    )
    body = await json_body(request)
    try:
        note = validation.text(body, "note", required=action is Action.RESOLVE, max_length=MAX_NOTE)
    except validation.InvalidRecord as exc:
        return error(web, 400, exc.detail)
    if alert["status"] == AlertStatus.RESOLVED.value:
        return error(web, 409, f"alert {alert_id} is already resolved")
    # The audit entry is confirmed by the broker before the action is taken.
    await audit_action(principal.name, AUDITED_ACTION[action], f"alert:{alert_id}", {"note": note})
    command = Command(action, alert_id, principal.name, note or "", time.time())
    await send_command(command, alert["subject"], alert["dedup_key"])
    return web.json({"alert_id": alert_id, "action": action.value, "accepted": True}, status=202)


@app.page("/api/alerts/{alert_id}/ack")
class AcknowledgeAlert(View):
    @guarded
    async def post(self, request: Request, principal: Principal, alert_id: str) -> Response:
        """Acknowledge an open alert (optional ``note``); applied asynchronously (202)."""
        return await _alert_action(self, request, principal, alert_id, Action.ACK)


@app.page("/api/alerts/{alert_id}/resolve")
class ResolveAlert(View):
    @guarded
    async def post(self, request: Request, principal: Principal, alert_id: str) -> Response:
        """Resolve an alert with a ``note`` saying why; applied asynchronously (202)."""
        return await _alert_action(self, request, principal, alert_id, Action.RESOLVE)


async def _publish(silence: Silence) -> None:
    value = silence.dumps()
    await silences.send(key=silence.silence_id.encode(), value=value)
    await apply_silence(value)


@app.page("/api/silences")
class Silences(View):
    @guarded
    async def get(self, request: Request, principal: Principal) -> Response:
        """Active and future silences, soonest ending first (supervision centres)."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        stored = [orjson.loads(raw) for raw in (await redis.hgetall(keys.SILENCES)).values()]
        now = datetime.now(UTC)
        active = [s for s in stored if datetime.fromisoformat(s["ends_at"]) > now]
        active.sort(key=lambda s: s["ends_at"])
        return self.json({"silences": active})

    @guarded
    async def post(self, request: Request, principal: Principal) -> Response:
        """Create a silence: ``matchers``, ``reason``, ``ends_at`` or ``duration_minutes``."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        body = await json_body(request)
        try:
            silence = silence_from_request(body, principal.name, datetime.now(UTC))
        except validation.InvalidRecord as exc:
            return error(self, 400, exc.detail)
        details = {"matchers": silence.matchers, "ends_at": silence.ends_at.isoformat()}
        await audit_action(principal.name, AuditAction.SILENCE_CREATE, silence.silence_id, details)
        await _publish(silence)
        return self.json(orjson.loads(silence.dumps()), status=201)


@app.page("/api/silences/{silence_id}")
class SilenceById(View):
    @guarded
    async def delete(self, request: Request, principal: Principal, silence_id: str) -> Response:
        """End a silence now; it stays on record."""
        require(principal.may_manage_silences(), "only supervision centres manage silences")
        raw = await redis.hget(keys.SILENCES, silence_id)
        if raw is None:
            return error(self, 404, f"no silence {silence_id}")
        silence = Silence.loads(raw)
        now = datetime.now(UTC)
        if silence.ends_at > now:
            await audit_action(principal.name, AuditAction.SILENCE_DELETE, silence_id)
            silence.ends_at = max(now, silence.starts_at)
            await _publish(silence)
        return self.json(orjson.loads(silence.dumps()))
