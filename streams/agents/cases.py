"""The case agent (issue 17): one :class:`~pipeline.cases.CaseBook` per case key.

It reads ``risk.alerts``, ``risk.workflow`` and ``risk.internal.case-commands``
as one stream (all three are keyed by case key: a subject, or an area-wide
alert's dedup key, and co-partitioned), publishes every changed case on
``risk.cases`` and audits what the system does (opening, escalation); the
serving view applies ``risk.cases`` to Redis (streams/serving/view.py); a
timer escalates the cases
past their SLA and refreshes the precision gauges. Wiring only: the
decisions are in pipeline/cases.py.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import TYPE_CHECKING

import orjson
import redis.asyncio as aioredis

from pipeline.cases import SYSTEM, Case, CaseBook, CaseContext, CaseOutput, precision, step
from streams import metrics
from streams.agents.keyed import keyed_agent
from streams.agents.publish import Publisher
from streams.serving import cases as case_view
from topics.cases import CaseAction, CaseCommand, Verdict, decode_case_message

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)
ESCALATION_CHECK_S = 10.0
GAUGE_REFRESH_S = 5.0


def handle_case_message(
    context: CaseContext, book: CaseBook | None, value: bytes
) -> tuple[CaseBook, list[CaseOutput]]:
    return step(book, decode_case_message(value), context)


async def send_output(publish: Publisher, output: CaseOutput) -> None:
    if isinstance(output, Case):
        await publish.case(output.key, orjson.dumps(output.to_json()))
    else:
        await publish.audit_in_batch(output.actor, output.action, output.target, output.details)


async def escalate_due(redis: aioredis.Redis, publish: Publisher, now_s: float) -> int:
    """Send an escalation for every open case past its due time; how many were sent.
    Any worker may run it: the agent ignores a second escalation of a case."""
    due = await redis.zrangebyscore(case_view.CASES_DUE, "-inf", now_s)
    for raw_id in due:
        case_id = raw_id.decode()
        await publish.case_command(CaseCommand(CaseAction.ESCALATE, case_id, SYSTEM, now_s))
        await redis.zrem(case_view.CASES_DUE, case_id)
    return len(due)


async def report_case_gauges(
    redis: aioredis.Redis, now_s: float, reported: set[tuple[str, str]]
) -> None:
    """Verdicts and precision per rule and kind, open and overdue cases (issue 17 item 2);
    ``reported``: the (rule, kind) whose precision this worker has set."""
    rows = precision(await case_view.verdicts(redis))
    for row in rows:
        for verdict in Verdict:
            count = getattr(row, verdict.value)
            metrics.alert_verdicts.labels(row.rule, row.kind, verdict.value).set(count)
        if row.precision is not None:
            metrics.rule_precision.labels(row.rule, row.kind).set(row.precision)
        elif (row.rule, row.kind) in reported:  # its last confirmed or false verdict changed
            metrics.rule_precision.remove(row.rule, row.kind)
    reported.clear()
    reported.update((r.rule, r.kind) for r in rows if r.precision is not None)
    open_count, overdue = await case_view.open_and_overdue(redis, now_s)
    metrics.cases_open.labels("open").set(open_count)
    metrics.cases_open.labels("overdue").set(overdue)


def register(w: Wiring) -> None:
    """The case agent, the SLA timer and the gauges (the serving view applies
    ``risk.cases``, streams/serving/view.py)."""
    context = CaseContext(w.routing, w.context.policy.supervision.calendar)
    handle = partial(handle_case_message, context)
    name = f"{__name__}.manage_cases"
    keyed_agent(
        w, name, w.channels.case_feed, w.tables.case_books, CaseBook, handle,
        partial(send_output, w.publish),
    )  # fmt: skip

    @w.app.timer(ESCALATION_CHECK_S)
    async def escalate_overdue_cases() -> None:
        try:
            await escalate_due(w.redis, w.publish, time.time())
        except aioredis.RedisError as exc:
            log.warning("Redis unavailable, case escalation deferred: %s", exc)

    reported: set[tuple[str, str]] = set()

    @w.app.timer(GAUGE_REFRESH_S)
    async def refresh_case_gauges() -> None:
        try:
            await report_case_gauges(w.redis, time.time(), reported)
        except aioredis.RedisError as exc:
            log.warning("Redis unavailable, case gauges not refreshed: %s", exc)
