"""Output contracts: ``risk.alerts``, ``risk.tier-changes``, ``risk.dlq``.

These are the public interface for supervision centres and department systems.
Values are plain JSON (no Faust metadata), keyed by the subject USCC (the DLQ is
keyed by the original key), so any Kafka client can read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import faust

from topics.vocabulary import AlertKind, AlertSeverity, AlertStatus, Sector, Tier


class Evidence(faust.Record, serializer="json", include_metadata=False):
    """One contributing fact behind an alert or tier change, with its number."""

    fact: str
    value: float
    threshold: float | None = None
    detail: str | None = None


class Alert(faust.Record, serializer="json", include_metadata=False):
    """A warning for the board and inspectors: one snapshot of it per lifecycle event.

    ``subject`` and ``tier`` are null for area-wide alerts (cross-region), which
    concern a complaint category across counties rather than one subject; their
    ``score`` is 0 and their ``region`` the city's code.

    The alert manager (detectors/alert_book.py) publishes a snapshot on every
    change: ``event`` says what happened, ``revision`` rises by one per alert
    (apply the highest, ignore redeliveries), ``count`` and ``last_seen_at``
    grow when the condition repeats, ``muted_by`` names the silence or the
    inhibiting alert, ``actor``/``note`` who acted and why.
    """

    alert_id: str
    dedup_key: str
    subject: str | None
    kind: AlertKind
    severity: AlertSeverity
    score: float
    tier: Tier | None
    region: str
    sector: Sector
    title: str
    evidence: list[Evidence]
    source_event_ids: list[str]
    created_at: datetime
    status: AlertStatus
    policy_version: str
    event: str = "opened"  # opened, repeated, acknowledged, resolved, escalated
    revision: int = 1
    count: int = 1
    last_seen_at: datetime | None = None
    updated_at: datetime | None = None
    muted_by: str | None = None
    escalated: bool = False
    actor: str | None = None
    note: str | None = None


class TierChange(faust.Record, serializer="json", include_metadata=False):
    """A subject's credit tier moved; ``version`` rises by one per subject."""

    subject: str
    previous_tier: Tier | None
    tier: Tier
    score: float
    reasons: list[Evidence]
    effective_at: datetime
    version: int
    policy_version: str
    region: str
    sector: Sector


class DeadLetter(faust.Record, serializer="json", include_metadata=False):
    """A record that could not be decoded or validated, kept byte for byte (base64)."""

    source_topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str | None
    reason: str
    detail: str
    field: str | None
    received_at: datetime


#: An area-wide alert names each county it concerns in an evidence fact "county 130102".
COUNTY_FACT_PREFIX = "county "


def county_fact(county: str) -> str:
    return COUNTY_FACT_PREFIX + county


def alert_counties(alert: Mapping[str, Any]) -> set[str]:
    """The counties an alert (wire dict) concerns: its region, or for an area-wide
    alert (no subject) the counties its evidence names."""
    if alert.get("subject") is not None:
        return {str(alert.get("region"))}
    facts = (str(item.get("fact", "")) for item in alert.get("evidence") or ())
    return {f.removeprefix(COUNTY_FACT_PREFIX) for f in facts if f.startswith(COUNTY_FACT_PREFIX)}


def to_json_dict(record: faust.Record) -> dict[str, Any]:
    """The record as it appears on the wire (enums as strings, times as ISO 8601)."""
    import orjson

    return dict(orjson.loads(record.dumps()))
