"""The Redis serving view, derived from the output topics and the subject tables.

Redis holds nothing that cannot be rebuilt: alerts and tiers are applied from
``risk.alerts`` and ``risk.tier-changes`` idempotently (by alert id and tier
version), and profiles are refreshed from the subject and case-file tables.
Key layout is in :mod:`streams.serving.redis_keys`. :func:`register` wires the
view's agents and timers into the worker; :class:`ServingView` applies records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis
from faust.types import EventT, TableT
from faust.types.transports import ConsumerT
from mode.utils.queues import FlowControlEvent

from detectors.casefile import CaseFile
from detectors.policy import Policy
from detectors.scoring import complaints_30d, iot_exceedances_24h, score_subject
from detectors.state import SubjectState
from pipeline.grading import contribution_view
from pipeline.red_list import red_list_view
from pipeline.routing import Routing
from pipeline.supervision import case_view
from streams import metrics
from streams.agents.publish import BAD_INTERNAL_MESSAGE, Publisher
from streams.agents.subjects import Subjects
from streams.http.token_store import store_token
from streams.runtime.batches import batch_agent
from streams.runtime.end_offsets import read_to_end
from streams.runtime.loop_turns import Turns
from streams.serving import redis_keys as keys
from streams.serving.cases import case_applier
from streams.serving.registers import apply_decision, apply_membership, apply_registration
from streams.settings import bootstrap_servers
from topics.catalogue import (
    ACCESS_TOKENS,
    REGISTRY_MEMBERSHIPS,
    RISK_ALERTS,
    RISK_CASES,
    RISK_LIST_CHANGES,
    RISK_REGISTRATIONS,
    RISK_SILENCES,
    RISK_TIER_CHANGES,
    RISK_WORKFLOW,
)
from topics.decode import Rejected
from topics.lists import ListKind, list_change_key
from topics.risk import on_board
from topics.validation import InvalidRecord
from topics.vocabulary import AlertSeverity, AlertStatus
from topics.wire_time import epoch

if TYPE_CHECKING:
    from streams.wiring import Wiring

log = logging.getLogger(__name__)
#: Seconds any Redis command may take before it counts as Redis being unavailable
#: (redis-py's own default, said here so the blocking reads below can exceed it).
REDIS_TIMEOUT_S = 5.0
PROFILE_REFRESH_S = 1.0
#: The longest a changed subject's profile waits to be written, however busy the worker.
PROFILE_REFRESH_MAX_S = 10.0
#: The share of the worker's time profile writes may take at most: a refresh that took
#: ``t`` (wall clock, the turns it hands the agents included, so its own share is
#: smaller) is followed by a pause of ``t * (1 / share - 1)``, at least PROFILE_REFRESH_S.
PROFILE_BUSY_SHARE = 0.05
GAUGE_REFRESH_S = 5.0
REBUILD_CHECK_S = 5.0
#: How long an output topic's writer waits before trying an unreachable Redis again.
REDIS_RETRY_S = 1.0

#: Applies one record's value to Redis (``client``: a client or a pipeline).
Applier = Callable[..., Awaitable[Any]]
#: The most records one call of a :class:`RunApplier` applies, so that one script
#: holds Redis up for a few milliseconds at most, even in a rebuild.
RUN_MAX_RECORDS = 500
#: Profiles per MSET: one command for many, instead of a SET (packed, sent and
#: answered) per profile.
PROFILES_PER_MSET = 250


@dataclass(frozen=True)
class RunApplier:
    """Applies a run of one topic's records in one script call.

    ``read`` turns a record into its share of the call's arguments, raising on
    a record it cannot read; ``run`` applies the arguments of many records
    (``client``: a client or a pipeline). Called with one record, it is an
    :data:`Applier` like any other.
    """

    read: Callable[[bytes], list[Any]]
    run: Callable[[list[Any], Any], Awaitable[Any]]

    def __call__(self, value: bytes, client: Any = None) -> Awaitable[Any]:
        return self.run(self.read(value), client)


def redis_client(url: str) -> aioredis.Redis:
    """The worker's link to the serving view (it connects on first use)."""
    return aioredis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )


def blocking_reader(url: str, block_s: float) -> aioredis.Redis:
    """A Redis link of its own for reads the server holds up to ``block_s`` (XREAD BLOCK).

    The server answers such a read only when data comes or the block time is
    up, so the socket timeout must outlast the block: with redis-py 8's default
    (5 s) a 15 s block ended in a TimeoutError, and every idle live-event
    stream broke a few seconds after it opened. A Redis that really stops
    answering still fails the read, ``REDIS_TIMEOUT_S`` after the block time.
    """
    return aioredis.Redis.from_url(
        url,
        socket_timeout=block_s + REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )


# An alert snapshot applies only if its revision is newer than the one applied,
# so a replay converges to the same view. Open, unmuted alerts are in the open
# indexes; a subject's index keeps every alert. Opened alerts are announced, and
# opened or escalated ones pushed to the inboxes of the inspectors they route to.
# KEYS: alert, revisions, escalation due, live stream, then four groups sized by
#       ARGV[8..11]: open indexes, indexes to leave (other severities), the
#       subject's index (0 or 1), inspector inboxes.
# ARGV: json, created (epoch), id, revision, open (1/0), escalation deadline or '',
#       announce (1/0), the four group sizes, live stream maxlen, inbox maxlen.
APPLY_ALERT = """
local applied = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if tonumber(ARGV[4]) <= applied then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('SET', KEYS[1], ARGV[1])
local first = 5
local function group(n) local a = first; first = first + n; return a, first - 1 end
local a, b = group(tonumber(ARGV[8]))
for i = a, b do
  if ARGV[5] == '1' then redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  else redis.call('ZREM', KEYS[i], ARGV[3]) end
end
a, b = group(tonumber(ARGV[9]))
for i = a, b do redis.call('ZREM', KEYS[i], ARGV[3]) end
a, b = group(tonumber(ARGV[10]))
for i = a, b do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3]) end
a, b = group(tonumber(ARGV[11]))
for i = a, b do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[13], '*', 'type', 'alert', 'data', ARGV[1])
end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
else redis.call('ZREM', KEYS[3], ARGV[3]) end
if ARGV[7] == '1' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[12], '*', 'type', 'alert', 'data', ARGV[1])
end
return 1
"""


# A tier change applies only if its version is newer than the one stored, so a
# replay (e.g. after Redis lost its data) converges to the same view. Moves, not
# first assignments, are kept in the recent list and announced. One call applies
# a run of changes in order, as one call per change would: per change, a script
# call cost the worker some 25 µs of packing and reply parsing.
# KEYS: subject tiers, tier counts, recent list, live stream.
# ARGV: stream maxlen, then per change: subject, version, tier, json.
APPLY_TIER_CHANGES = """
local function apply(subject, version, tier, json)
  local current = redis.call('HGET', KEYS[1], subject)
  if current then
    local sep = string.find(current, '|', 1, true)
    if tonumber(version) <= tonumber(string.sub(current, 1, sep - 1)) then return 0 end
    redis.call('HINCRBY', KEYS[2], string.sub(current, sep + 1), -1)
  end
  redis.call('HSET', KEYS[1], subject, version .. '|' .. tier)
  redis.call('HINCRBY', KEYS[2], tier, 1)
  if current then
    redis.call('LPUSH', KEYS[3], json)
    redis.call('LTRIM', KEYS[3], 0, 49)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'type', 'tier-change',
               'data', json)
  end
  return 1
end
local applied = 0
for i = 2, #ARGV, 4 do
  applied = applied + apply(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return applied
"""


# Issue 18: list entries and exits are announced on the live stream too (an
# association's feed reads them there), once per version, so a replay (Redis lost
# its data) does not announce a change twice.
# KEYS: list versions, live stream. ARGV: "{subject}|{list}", version, json, stream maxlen.
APPLY_LIST_CHANGE = """
local applied = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= applied then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', 'list-change', 'data', ARGV[3])
return 1
"""


# Ending a silence early publishes it again with an earlier end, and nothing
# ever moves an end later: so of two records of a silence the one that ends
# first is the newer, whatever order a replay and a live write arrive in.
# KEYS: silences, their end times. ARGV: silence id, json, end (epoch seconds).
APPLY_SILENCE = """
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known and tonumber(known) <= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""


async def _nothing() -> None:
    return None


def apply_token(value: bytes, client: Any) -> Awaitable[Any]:
    """Store one ``risk.access-tokens`` record (streams/serving/tokens.py); an unreadable
    record is logged and skipped, so one bad record cannot stop a replay of the view."""
    try:
        return store_token(client, value)
    except InvalidRecord as exc:
        log.error("skipping unreadable record on %s: %s", ACCESS_TOKENS.name, exc)
        return _nothing()


def skipping_unreadable(applier: Applier, topic: str) -> Applier:
    """``applier``, logging and skipping a record it cannot read (InvalidRecord), so one bad
    record cannot stop a replay of the view (the live agent dead-letters it)."""

    def apply(value: bytes, client: Any = None) -> Awaitable[Any]:
        try:
            return applier(value, client)
        except InvalidRecord as exc:
            log.error("skipping unreadable record on %s: %s", topic, exc)
            return _nothing()

    return apply


class ServingView:
    """How each output topic's records are applied to Redis: one script per topic, run
    through ``redis`` unless a call names another client (or a pipeline)."""

    def __init__(self, redis: aioredis.Redis, routing: Routing, policy: Policy) -> None:
        self.redis, self.routing = redis, routing
        self.ack_sla_s = policy.alerts.critical_ack_sla_s
        self._apply_alert = redis.register_script(APPLY_ALERT)
        self._apply_tier_changes = redis.register_script(APPLY_TIER_CHANGES)
        self._apply_silence = redis.register_script(APPLY_SILENCE)
        self._apply_list_change = redis.register_script(APPLY_LIST_CHANGE)
        #: Every topic the view is built from; a rebuild replays them all.
        self.appliers: dict[str, Applier] = {
            RISK_ALERTS.name: self.apply_alert,
            RISK_TIER_CHANGES.name: RunApplier(tier_change_args, self.apply_tier_changes),
            RISK_SILENCES.name: self.apply_silence,
            ACCESS_TOKENS.name: apply_token,
            RISK_LIST_CHANGES.name: self.apply_list_change,
            REGISTRY_MEMBERSHIPS.name: skipping_unreadable(
                apply_membership, REGISTRY_MEMBERSHIPS.name
            ),
            RISK_REGISTRATIONS.name: skipping_unreadable(
                apply_registration, RISK_REGISTRATIONS.name
            ),
            RISK_WORKFLOW.name: apply_decision,
            RISK_CASES.name: case_applier(redis),  # issue 17: docs/cases.md
        }

    def apply_alert(self, value: bytes, client: Any = None) -> Awaitable[Any]:
        """Store and index an alert snapshot unless a newer revision is already there."""
        alert = orjson.loads(value)
        alert.setdefault("revision", 1)  # records from before the lifecycle had none
        alert.setdefault("event", "opened")
        alert.setdefault("muted_by", None)
        alert.setdefault("escalated", False)
        visible = on_board(alert)  # open, unmuted, and its disposition is the board
        open_indexes = list(keys.open_alert_indexes(alert))
        other_severities = [
            keys.open_alerts_by("severity", s.value)
            for s in AlertSeverity
            if s.value != alert["severity"]
        ]
        history = [keys.subject_alerts(alert["subject"])] if alert["subject"] is not None else []
        inboxes = [keys.inbox(name) for name in self.routing.inspectors_for(alert)]
        due = escalation_deadline(alert, self.ack_sla_s)
        return self._apply_alert(
            keys=[
                keys.alert(alert["alert_id"]),
                keys.ALERT_REVISIONS,
                keys.ESCALATION_DUE,
                keys.LIVE_EVENTS,
                *open_indexes,
                *other_severities,
                *history,
                *inboxes,
            ],
            args=[
                value,
                keys.epoch(alert["created_at"]),
                alert["alert_id"],
                alert["revision"],
                1 if visible else 0,
                "" if due is None else due,
                1 if visible and alert["event"] == "opened" else 0,
                len(open_indexes),
                len(other_severities),
                len(history),
                len(inboxes),
                keys.LIVE_EVENTS_MAXLEN,
                self.routing.inbox_max_entries,
            ],
            client=client,
        )

    def apply_silence(self, value: bytes, client: Any = None) -> Awaitable[Any]:
        """Mirror ``risk.silences`` (compacted, keyed by silence id), the earliest end winning."""
        silence = orjson.loads(value)
        return self._apply_silence(
            keys=[keys.SILENCES, keys.SILENCE_ENDS],
            args=[silence["silence_id"], value, epoch(silence["ends_at"])],
            client=client,
        )

    def apply_tier_changes(self, changes: list[Any], client: Any = None) -> Awaitable[Any]:
        """Apply tier changes (:func:`tier_change_args` of each, in order), each unless a
        newer version is already there."""
        return self._apply_tier_changes(
            keys=[
                keys.SUBJECT_TIERS,
                keys.TIER_COUNTS,
                keys.RECENT_TIER_CHANGES,
                keys.LIVE_EVENTS,
            ],
            args=[keys.LIVE_EVENTS_MAXLEN, *changes],
            client=client,
        )

    def apply_list_change(self, value: bytes, client: Any = None) -> Awaitable[Any]:
        """Announce a list entry or exit on the live stream unless its version was."""
        change = orjson.loads(value)
        return self._apply_list_change(
            keys=[keys.LIST_VERSIONS, keys.LIVE_EVENTS],
            args=[
                list_change_key(change["subject"], ListKind(change["list"])),
                change["version"],
                value,
                keys.LIVE_EVENTS_MAXLEN,
            ],
            client=client,
        )

    async def apply_events(
        self, events: list[EventT], publish: Publisher, flow: FlowControlEvent
    ) -> None:
        """Apply a batch of output records to Redis in one round trip, retrying while
        Redis is unreachable.

        The topic waits meanwhile, so the view catches up with nothing skipped once
        Redis is back. A rebalance (``flow`` suspended) ends the wait: the batch is
        given up unacknowledged (the rebalance would wait for it) and read again
        later. A record the view cannot read goes to the DLQ; the rest are applied.
        """
        records = [(event.message.topic, event.message.value) for event in events]
        while True:
            unreadable: dict[int, Exception] = {}
            try:
                await apply_records(self.redis, records, self.appliers, unreadable)
                for index, exc in unreadable.items():
                    detail = f"{type(exc).__name__}: {exc}"
                    await publish.dead_letter(events[index], Rejected(BAD_INTERNAL_MESSAGE, detail))
                return
            except aioredis.RedisError as exc:
                topic = records[0][0]
                metrics.serving_write_failures.labels(topic).inc()
                if not flow.is_active():
                    raise
                log.warning("Redis unavailable, %s not applied; retrying: %s", topic, exc)
                await asyncio.sleep(REDIS_RETRY_S)


def tier_change_args(value: bytes) -> list[Any]:
    """A ``risk.tier-changes`` record's arguments of :data:`APPLY_TIER_CHANGES`."""
    change = orjson.loads(value)
    return [change["subject"], change["version"], change["tier"], value]


def escalation_deadline(alert: dict[str, Any], ack_sla_s: float) -> float | None:
    """When an open, unmuted critical alert nobody acknowledged is due for escalation."""
    waiting = (
        alert["severity"] == AlertSeverity.CRITICAL.value
        and alert["status"] == AlertStatus.OPEN.value
        and alert["muted_by"] is None
        and not alert["escalated"]
    )
    return keys.epoch(alert["created_at"]) + ack_sla_s if waiting else None


async def apply_records(
    target: Any,
    records: Iterable[tuple[str, bytes | None]],
    appliers: dict[str, Applier],
    unreadable: dict[int, Exception] | None = None,
) -> int:
    """Apply (topic, value) records to Redis (``target``) in one pipeline; return how
    many were applied (a compaction tombstone, value None, is not).

    With ``unreadable``, a record an applier cannot read is left out and its
    index recorded there with the error; without, the error is raised.
    """
    pipe = target.pipeline(transaction=False)
    applied = 0
    # Records keep their order; a run of one topic's records whose applier takes runs
    # is applied in one call (of at most RUN_MAX_RECORDS), the others one by one.
    for topic, run in groupby(enumerate(records), key=lambda item: item[1][0]):
        applier = appliers[topic]
        reads: list[list[Any]] = []
        for index, (_, value) in run:
            if value is None:
                continue
            # On a pipeline, awaiting a script call queues it; an applier reads the
            # record before, so one it cannot read queues nothing.
            try:
                if isinstance(applier, RunApplier):
                    reads.append(applier.read(value))
                else:
                    await applier(value, client=pipe)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if unreadable is None:
                    raise
                unreadable[index] = exc
                continue
            applied += 1
        if isinstance(applier, RunApplier):
            for start in range(0, len(reads), RUN_MAX_RECORDS):
                chunk = reads[start : start + RUN_MAX_RECORDS]
                await applier.run([arg for read in chunk for arg in read], pipe)
    await pipe.execute()
    return applied


async def replay_outputs(bootstrap: str, appliers: dict[str, Applier], client: Any) -> int:
    """Apply every record of the topics of ``appliers``, from the beginning, to Redis
    (``client``); return how many were applied."""
    applied = 0
    async for batches in read_to_end(bootstrap, topics=appliers, max_records=5000):
        records = ((tp.topic, m.value) for tp, messages in batches.items() for m in messages)
        applied += await apply_records(client, records, appliers)
    return applied


def profile_of(subject: bytes, state: SubjectState, case: CaseFile | None, policy: Policy) -> bytes:
    """The subject's profile document; ``supervision`` is its case file (lists and their
    measures, published records, deadlines), or None while it has none."""
    score = score_subject(state, policy)
    return orjson.dumps(
        {
            "subject": subject.decode(),
            "tier": state.tier,
            "score": state.score,
            "version": state.version,
            "region": state.region,
            "sector": state.sector,
            "legal_rep_id": state.legal_rep_id,
            "subject_type": state.subject_type,
            "as_of": keys.iso(state.clock),
            "events": state.events,
            "complaints_30d": complaints_30d(state),
            "complaints_30d_by_category": state.complaints.by_label(
                since_s=state.complaints.start_of_last(30, state.clock)
            ),
            "iot_exceedances_24h": iot_exceedances_24h(state),
            "contributions": [contribution_view(c) for c in score.contributions],
            "floor": score.floor.value if score.floor else None,
            "supervision": case_view(case, policy) if case is not None else None,
            "red_list": red_list_view(state, policy),  # seed 九: with its incentives
            "policy_version": policy.version,
        }
    )


def case_of(case_files: TableT, subject: bytes) -> CaseFile | None:
    """The subject's case file from this worker's table (it owns the subject's partition).

    Most subjects have none: only enforcement records that open, close or
    publish something make one, so most lookups decode nothing.
    """
    stored = case_files.get(subject)
    return CaseFile.from_bytes(stored) if stored is not None else None


def profile_pause(took_s: float) -> float:
    """Seconds to wait after a profile refresh that took ``took_s``.

    Under load nearly every subject changes between refreshes, and writing
    their profiles (score, supervision view, Redis) cost a tenth of the
    worker's time at a 1-second pace. A longer pause after a long refresh keeps
    that share at :data:`PROFILE_BUSY_SHARE`, and a subject changed several
    times in the pause is written once.

    >>> profile_pause(0.002), profile_pause(0.2), profile_pause(5.0)
    (1.0, 3.8, 10.0)
    """
    pause = took_s * (1.0 / PROFILE_BUSY_SHARE - 1.0)
    return round(min(PROFILE_REFRESH_MAX_S, max(PROFILE_REFRESH_S, pause)), 6)


async def write_profiles(
    client: Any, subjects: Subjects, case_files: TableT, policy: Policy
) -> None:
    """Write the profiles of subjects changed since the last refresh, in one pipeline of
    MSETs."""
    changed = subjects.changed
    if not changed:
        return
    batch = dict(changed)
    changed.clear()
    pipe = client.pipeline(transaction=False)
    # A busy second's profiles take tens of milliseconds to build (at 1,000 events/s
    # here, some 900 of them), which the agents' records would wait out.
    turns = Turns()
    profiles: dict[str, bytes] = {}
    for subject, state in batch.items():
        await turns.take()
        if state is None:
            stored = subjects.table.get(subject)
            if stored is None:
                continue
            state = SubjectState.from_bytes(stored)
        profiles[keys.profile(subject.decode())] = profile_of(
            subject, state, case_of(case_files, subject), policy
        )
        if len(profiles) == PROFILES_PER_MSET:
            pipe.mset(profiles)
            profiles = {}
    if profiles:
        pipe.mset(profiles)
    try:
        await pipe.execute()
    except aioredis.RedisError as exc:
        for subject, state in batch.items():  # try again next tick, unless newer
            changed.setdefault(subject, state)
        metrics.serving_write_failures.labels("profiles").inc()
        log.warning("Redis unavailable, profile refresh deferred: %s", exc)


async def report_lag(
    consumer: ConsumerT, inputs: Iterable[str], reported: set[tuple[str, str]]
) -> None:
    """This worker's consumer lag per input partition it owns; ``reported`` holds the
    label sets set so far (a partition moved to another worker is no longer reported)."""
    owned = {tp for tp in consumer.assignment() if tp.topic in inputs}
    for tp in owned:
        position = await consumer.position(tp)
        if position is not None:
            lag = max(0, consumer.highwater(tp) - position)
            metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
    for topic, partition in list(reported):
        if (topic, partition) not in {(tp.topic, str(tp.partition)) for tp in owned}:
            metrics.consumer_lag.remove(topic, partition)
            reported.discard((topic, partition))
    reported.update((tp.topic, str(tp.partition)) for tp in owned)


async def report_view_gauges(redis: aioredis.Redis) -> None:
    """System-wide gauges from the serving view: subjects per tier, open alerts per severity."""
    try:
        tiers = await redis.hgetall(keys.TIER_COUNTS)
        pipe = redis.pipeline(transaction=False)
        for severity in AlertSeverity:
            pipe.zcard(keys.open_alerts_by("severity", severity.value))
        counts = await pipe.execute()
    except aioredis.RedisError as exc:
        log.warning("Redis unavailable, gauges not refreshed: %s", exc)
        return
    for tier, count in tiers.items():
        metrics.subjects_by_tier.labels(tier.decode()).set(int(count))
    for severity, count in zip(AlertSeverity, counts, strict=True):
        metrics.open_alerts.labels(severity.value).set(count)


def register(w: Wiring) -> None:
    """The view's writers (one agent per output topic), its rebuild, profiles and gauges."""
    view = ServingView(w.redis, w.routing, w.context.policy)
    bootstrap = bootstrap_servers(w.settings.kafka)

    async def apply_events(events: list[EventT]) -> None:
        await view.apply_events(events, w.publish, w.app.flow_control)

    batch_agent(w.app, w.channels.alerts, f"{__name__}.serve_alerts", apply_events)
    batch_agent(w.app, w.channels.silences, f"{__name__}.serve_silences", apply_events)
    batch_agent(w.app, w.channels.tier_changes, f"{__name__}.serve_tier_changes", apply_events)
    batch_agent(w.app, w.channels.list_changes, f"{__name__}.serve_list_changes", apply_events)
    batch_agent(w.app, w.channels.registrations, f"{__name__}.serve_registrations", apply_events)
    batch_agent(w.app, w.channels.workflow_notices, f"{__name__}.serve_decisions", apply_events)
    batch_agent(w.app, w.channels.cases, f"{__name__}.serve_cases", apply_events)

    @w.app.timer(REBUILD_CHECK_S)
    async def rebuild_if_lost() -> None:
        """Rebuild the view when Redis has lost it (restarted empty) or is new.

        Alerts, tiers, silences and tokens come back from the output topics
        through the same idempotent scripts as live writes, so racing live
        updates is harmless; profiles come back from the subject and case-file
        tables.
        """
        try:
            if await w.redis.exists(keys.SERVING_BUILT):
                return
        except aioredis.RedisError:
            return  # Redis is down; check again later
        started = time.monotonic()
        log.warning("creditwatch: serving view missing in Redis; rebuilding from the topics")
        applied = await replay_outputs(bootstrap, view.appliers, w.redis)
        w.subjects.changed.update(dict.fromkeys(w.subjects.table.keys()))
        await w.redis.set(keys.SERVING_BUILT, keys.iso(time.time()))
        log.warning(
            "creditwatch: serving view rebuilt: %d records replayed in %.1f s",
            applied,
            time.monotonic() - started,
        )

    @w.app.task
    async def refresh_profiles() -> None:
        """Write changed profiles every second, or less often when writing them takes long."""
        pause = PROFILE_REFRESH_S
        while not w.app.should_stop:
            await w.app.sleep(pause)
            started = time.perf_counter()
            await write_profiles(w.redis, w.subjects, w.tables.case_files, w.context.policy)
            pause = profile_pause(time.perf_counter() - started)

    #: (topic, partition) label sets of the lag gauge this worker has set.
    reported_lag: set[tuple[str, str]] = set()

    @w.app.timer(GAUGE_REFRESH_S)
    async def refresh_gauges() -> None:
        """System-wide gauges from the serving view, and this worker's consumer lag."""
        await report_lag(w.app.consumer, w.channels.inputs.topics, reported_lag)
        await report_view_gauges(w.redis)
