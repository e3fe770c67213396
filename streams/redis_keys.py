"""The Redis key layout of the serving view, in one place.

| key | type | holds |
|---|---|---|
| ``cw:alert:{id}`` | string | the alert JSON as on ``risk.alerts`` |
| ``cw:alerts:open`` | zset | open alert ids by creation time |
| ``cw:alerts:open:{facet}:{value}`` | zset | the same, by region, sector, severity, kind |
| ``cw:subject:{uscc}:alerts`` | zset | a subject's alerts |
| ``cw:profile:{uscc}`` | string | the subject's current profile JSON |
| ``cw:subject-tiers`` | hash | uscc → ``version|tier`` |
| ``cw:tier-counts`` | hash | tier → number of subjects |
| ``cw:tier-changes:recent`` | list | the 50 latest tier moves (JSON), first assignments excluded |
| ``cw:events`` | stream | new alerts and tier moves for live views (``type``, ``data``) |
| ``cw:serving:built`` | string | when the view was last rebuilt from the topics; its absence
  means Redis lost its data (or is new) and triggers a rebuild |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

PREFIX = "cw"
OPEN_ALERTS = f"{PREFIX}:alerts:open"
SUBJECT_TIERS = f"{PREFIX}:subject-tiers"
TIER_COUNTS = f"{PREFIX}:tier-counts"
RECENT_TIER_CHANGES = f"{PREFIX}:tier-changes:recent"
LIVE_EVENTS = f"{PREFIX}:events"
SERVING_BUILT = f"{PREFIX}:serving:built"
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


def profile(subject: str) -> str:
    return f"{PREFIX}:profile:{subject}"


def epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()
