"""The Redis key layout of the serving view, in one place.

| key | type | holds |
|---|---|---|
| ``cw:alert:{id}`` | string | the alert's latest snapshot JSON as on ``risk.alerts`` |
| ``cw:alert-revisions`` | hash | alert id → revision applied (replays apply only newer ones) |
| ``cw:alerts:open`` | zset | open (or acknowledged), unmuted alert ids by creation time |
| ``cw:alerts:open:{facet}:{value}`` | zset | the same, by region, sector, severity, kind |
| ``cw:subject:{uscc}:alerts`` | zset | a subject's alerts, resolved ones included |
| ``cw:escalation-due`` | zset | open unacknowledged critical alert ids by SLA deadline |
| ``cw:silences`` | hash | silence id → silence JSON as on ``risk.silences`` |
| ``cw:inbox:{inspector}`` | stream | alerts routed to the inspector (``type``, ``data``) |
| ``cw:profile:{uscc}`` | string | the subject's current profile JSON |
| ``cw:subject-tiers`` | hash | uscc → ``version|tier`` |
| ``cw:tier-counts`` | hash | tier → number of subjects |
| ``cw:tier-changes:recent`` | list | the 50 latest tier moves (JSON), first assignments excluded |
| ``cw:events`` | stream | alerts, tier moves, list changes for live views (``type``, ``data``) |
| ``cw:list-versions`` | hash | ``{uscc}|{list}`` → the list change version applied |
| ``cw:registrations`` | hash | registration id → its JSON as on ``risk.registrations`` |
| ``cw:registrations:pending`` | zset | pending registration ids by filing time (for officials) |
| ``cw:subject:{uscc}:registrations`` | set | a subject's registration ids |
| ``cw:subject:{uscc}:decisions`` | hash | notice id → a repair decision on ``risk.workflow`` |
| ``cw:serving:built`` | string | when the view was last rebuilt from the topics; its absence
  means Redis lost its data (or is new) and triggers a rebuild |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from topics.wire_time import epoch as epoch  # keys.epoch / keys.iso: the serving view's times
from topics.wire_time import iso as iso

PREFIX = "cw"
OPEN_ALERTS = f"{PREFIX}:alerts:open"
SUBJECT_TIERS = f"{PREFIX}:subject-tiers"
TIER_COUNTS = f"{PREFIX}:tier-counts"
RECENT_TIER_CHANGES = f"{PREFIX}:tier-changes:recent"
LIVE_EVENTS = f"{PREFIX}:events"
SERVING_BUILT = f"{PREFIX}:serving:built"
ALERT_REVISIONS = f"{PREFIX}:alert-revisions"
ESCALATION_DUE = f"{PREFIX}:escalation-due"
SILENCES = f"{PREFIX}:silences"
SILENCE_ENDS = f"{PREFIX}:silence-ends"  # silence id -> end (epoch s): which record is newer
LIST_VERSIONS = f"{PREFIX}:list-versions"
REGISTRATIONS = f"{PREFIX}:registrations"
PENDING_REGISTRATIONS = f"{PREFIX}:registrations:pending"
POLICY_IN_FORCE = f"{PREFIX}:policy:in-force"  # digest of the policy file last audited
POLICY_VERSIONS = f"{PREFIX}:policy:versions"  # proposal id -> record as on risk.policy-versions
#: Approximate length the live event stream is trimmed to.
LIVE_EVENTS_MAXLEN = 10_000
ALERT_FACETS = ("region", "sector", "severity", "kind")


def alert(alert_id: str) -> str:
    return f"{PREFIX}:alert:{alert_id}"


def open_alerts_by(facet: str, value: str) -> str:
    return f"{OPEN_ALERTS}:{facet}:{value}"


def open_alert_indexes(alert_doc: Mapping[str, Any]) -> Iterator[str]:
    yield OPEN_ALERTS
    for facet in ALERT_FACETS:
        yield open_alerts_by(facet, str(alert_doc[facet]))


def subject_alerts(subject: str) -> str:
    return f"{PREFIX}:subject:{subject}:alerts"


def inbox(inspector: str) -> str:
    return f"{PREFIX}:inbox:{inspector}"


def profile(subject: str) -> str:
    return f"{PREFIX}:profile:{subject}"


def subject_registrations(subject: str) -> str:
    return f"{PREFIX}:subject:{subject}:registrations"


def subject_decisions(subject: str) -> str:
    return f"{PREFIX}:subject:{subject}:decisions"
