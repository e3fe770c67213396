"""What a scenario injected, as ground truth: incidents, controls and the records themselves.

An :class:`Incident` says which alert the pipeline *should* raise (its kind and
dedup key) and from when; a :class:`Control` names alerts it should *not* raise
(a clean subject, a device without a fault, a near miss just under a threshold).
Both are plain data so the scorer in :mod:`.scenario_scoring` can be tested with
hand-made alerts and no broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from topics.vocabulary import AlertKind


class IncidentKind(StrEnum):
    """The kinds of incident the scenario injects, one per detector behaviour."""

    IOT_SPIKE = "iot_spike"
    IOT_LEVEL_SHIFT = "iot_level_shift"
    IOT_DRIFT = "iot_drift"
    PEER_OUTLIER = "peer_outlier"
    CROSS_SECTOR_SUBJECT = "cross_sector_subject"
    CROSS_SECTOR_LEGAL_REP = "cross_sector_legal_rep"
    CROSS_REGION_SURGE = "cross_region_surge"

    @property
    def alert_kind(self) -> AlertKind:
        """The ``kind`` of the alert on ``risk.alerts`` that detects it."""
        return ALERT_KIND[self]


ALERT_KIND: dict[IncidentKind, AlertKind] = {
    IncidentKind.IOT_SPIKE: AlertKind.ANOMALY,
    IncidentKind.IOT_LEVEL_SHIFT: AlertKind.ANOMALY,
    IncidentKind.IOT_DRIFT: AlertKind.ANOMALY,
    IncidentKind.PEER_OUTLIER: AlertKind.ANOMALY,
    IncidentKind.CROSS_SECTOR_SUBJECT: AlertKind.CROSS_SECTOR,
    IncidentKind.CROSS_SECTOR_LEGAL_REP: AlertKind.CROSS_SECTOR,
    IncidentKind.CROSS_REGION_SURGE: AlertKind.CROSS_REGION,
}
#: Alert kinds the scenario scores; others (``rule``, ``iot`` …) are only counted.
SCORED_ALERT_KINDS = frozenset(ALERT_KIND.values())
CROSS_REGION_PREFIX = "cross_region:"


def iot_anomaly_key(subject: str, device_id: str, metric: str) -> str:
    return f"{subject}:iot_anomaly:{device_id}:{metric}"


def peer_outlier_key(subject: str) -> str:
    return f"{subject}:peer_outlier"


def cross_region_key(category: str, day: str) -> str:
    """``day`` is the Asia/Shanghai calendar day, ``YYYY-MM-DD``."""
    return f"{CROSS_REGION_PREFIX}{category}:{day}"


def scope_of(dedup_key: str) -> str:
    """What an alert is *about*, for deciding whether it is in a labelled scope.

    Subject and device alerts are about exactly their dedup key. A cross-region
    alert is about its complaint category on any day: a surge alert for a
    labelled category on a day nothing was injected is a false positive, not
    background noise to be ignored.

    >>> scope_of("cross_region:price:2026-03-10"), scope_of("X:peer_outlier")
    ('cross_region:price', 'X:peer_outlier')
    """
    if dedup_key.startswith(CROSS_REGION_PREFIX):
        return ":".join(dedup_key.split(":")[:2])
    return dedup_key


@dataclass(frozen=True, slots=True)
class Incident:
    """One injected incident and the alert that detects it.

    ``start`` is the event time of its first injected record, so detection
    delay is measured in event time and does not depend on how fast the
    machine ran. An alert counts for the incident only inside ``[start, end]``:
    a spike "detected" a week later was not detected.
    """

    label: str
    kind: IncidentKind
    dedup_key: str
    start: datetime
    end: datetime
    subjects: tuple[str, ...]
    detail: str
    device_id: str | None = None
    category: str | None = None

    @property
    def alert_kind(self) -> AlertKind:
        return self.kind.alert_kind

    def matches(self, dedup_key: str, created_at: datetime) -> bool:
        return dedup_key == self.dedup_key and self.start <= created_at <= self.end


@dataclass(frozen=True, slots=True)
class Control:
    """Alerts that must not appear: ``dedup_keys`` of alert kind ``kind.alert_kind``.

    ``near_miss`` controls sit just under a threshold (one department, one
    surging county, a few complaints more than the peers); the others are clean.
    """

    label: str
    kind: IncidentKind
    dedup_keys: tuple[str, ...]
    subjects: tuple[str, ...]
    detail: str
    near_miss: bool = False


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    """One message to produce, with its event time; ``label`` ties it to an incident/control."""

    at: datetime
    topic: str
    key: bytes
    value: bytes
    label: str | None = None  # None: background traffic
