"""The Redis serving view, derived from the output topics and the subject table.

Redis holds nothing that cannot be rebuilt: alerts and tiers are applied from
``risk.alerts`` and ``risk.tier-changes`` idempotently (by alert id and tier
version), and profiles are refreshed from the subject table. Key layout is in
:mod:`streams.redis_keys`.
"""

from __future__ import annotations

import logging

import faust
import orjson
import redis.asyncio as aioredis

from detectors.policy import default_policy
from detectors.scoring import complaints_30d, iot_exceedances_24h, score_subject
from detectors.state import SubjectState
from streams import redis_keys as keys
from streams.app import app, settings
from streams.channels import alerts, tier_changes
from streams.ingest import dirty_subjects, subjects

log = logging.getLogger(__name__)
policy = default_policy()
redis = aioredis.Redis.from_url(settings.redis)

PROFILE_REFRESH_S = 1.0

# Applies a tier change only if its version is newer than the one stored, so a
# replay of the topic (e.g. after Redis lost its data) converges to the same view.
# The recent list keeps moves only, not first assignments.
APPLY_TIER_CHANGE = redis.register_script("""
local current = redis.call('HGET', KEYS[1], ARGV[1])
local version = tonumber(ARGV[2])
if current then
  local sep = string.find(current, '|', 1, true)
  if version <= tonumber(string.sub(current, 1, sep - 1)) then return 0 end
  redis.call('HINCRBY', KEYS[2], string.sub(current, sep + 1), -1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
if current then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, 49)
end
return 1
""")


@app.agent(alerts, concurrency=1)
async def serve_alerts(stream: faust.StreamT[bytes]) -> None:
    async for value in stream:
        alert = orjson.loads(value)
        created = keys.epoch(alert["created_at"])
        alert_id = alert["alert_id"]
        pipe = redis.pipeline(transaction=False)
        pipe.set(keys.alert(alert_id), value)
        for index in keys.open_alert_indexes(alert):
            pipe.zadd(index, {alert_id: created})
        pipe.zadd(keys.subject_alerts(alert["subject"]), {alert_id: created})
        await pipe.execute()


@app.agent(tier_changes, concurrency=1)
async def serve_tier_changes(stream: faust.StreamT[bytes]) -> None:
    async for value in stream:
        change = orjson.loads(value)
        await APPLY_TIER_CHANGE(
            keys=[keys.SUBJECT_TIERS, keys.TIER_COUNTS, keys.RECENT_TIER_CHANGES],
            args=[change["subject"], change["version"], change["tier"], value],
        )


def profile_of(subject: bytes, state: SubjectState) -> bytes:
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
            "as_of": keys.iso(state.clock),
            "events": state.events,
            "complaints_30d": complaints_30d(state),
            "complaints_30d_by_category": state.complaints.by_label(),
            "iot_exceedances_24h": iot_exceedances_24h(state),
            "contributions": [
                {"fact": c.fact, "points": c.value, "detail": c.detail} for c in score.contributions
            ],
            "floor": score.floor.value if score.floor else None,
            "policy_version": policy.version,
        }
    )


@app.timer(PROFILE_REFRESH_S)
async def refresh_profiles() -> None:
    """Write the profiles of subjects changed since the last refresh, in one pipeline."""
    if not dirty_subjects:
        return
    batch = list(dirty_subjects)
    dirty_subjects.clear()
    pipe = redis.pipeline(transaction=False)
    for subject in batch:
        stored = subjects.get(subject)
        if stored is not None:
            pipe.set(
                keys.profile(subject.decode()), profile_of(subject, SubjectState.from_bytes(stored))
            )
    try:
        await pipe.execute()
    except aioredis.RedisError as exc:
        dirty_subjects.update(batch)  # try again next tick
        log.warning("Redis unavailable, profile refresh deferred: %s", exc)
