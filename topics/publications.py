"""Output contract ``risk.publications``: what is published about a subject, and until when.

Seed 十五 (双公示, 应公开、尽公开) publishes administrative penalties and other
adverse records for a period set by their class (NDRC Order 36: minor ≤ 3
months, general 3 months–1 year, serious 1–3 years); seed 十三 ends the
publication of a repaired record early, and seed 十七 withdraws a record whose
objection was upheld. The supervision workflows decide all of this
(``detectors/workflow.py``); this topic carries each decision, so the public
disclosure site and any department show exactly what is published now.

One record each time an adverse record enters publication or its standing
changes (disputed, dispute ended, repaired, corrected, expired). ``version``
rises by one per record, so the latest version is the record's standing; the
topic is compacted on ``"{subject}|{event_id}"``.
"""

from __future__ import annotations

from datetime import datetime

import faust

from topics.vocabulary import (
    Department,
    EnforcementKind,
    PublicationReason,
    PublicationStatus,
    Sector,
)

#: Separates subject and record in the Kafka key: ``"{subject}|{event_id}"``.
KEY_SEPARATOR = "|"


class Publication(faust.Record, serializer="json", include_metadata=False):
    """One adverse record's standing in publication after a change.

    ``event_id`` is the record's (an ``enforcement.events`` event id, or for a
    breach the workflows found by a missed deadline ``"{commitment}:breach"``).
    ``kind`` is its enforcement kind and ``signal`` its credit signal (e.g.
    ``penalty_serious``); ``severity`` is the publication class its signal is
    published under (``minor``, ``general``, ``serious``), which sets the period.
    ``published_from`` is the record's own time; ``published_until`` the end of
    its period, and ``repairable_from`` the earliest a repair can stop it.
    ``status`` is ``published`` while the public may see it. ``disputed`` is
    true while an objection to it is undecided. ``reason`` says what changed,
    ``cause_event_id`` which record caused it (the objection, its decision, the
    repair application; null when event time passing the period ended it),
    ``changed_at`` the event time of the change.
    """

    event_id: str
    subject: str
    kind: EnforcementKind
    signal: str
    severity: str
    department: Department
    sector: Sector
    region: str
    status: PublicationStatus
    published_from: datetime
    published_until: datetime
    repairable_from: datetime
    disputed: bool
    reason: PublicationReason
    cause_event_id: str | None
    changed_at: datetime
    version: int
    policy_version: str


def publication_key(subject: str, event_id: str) -> str:
    """The Kafka key of a publication: one compacted entry per subject and record.

    Event ids are unique per subject (the pipeline de-duplicates per subject),
    so the subject is part of the key: two departments' records that share an
    id must not compact each other away.

    >>> publication_key("91130102MA0EXAMPL1", "evt-1")
    '91130102MA0EXAMPL1|evt-1'
    """
    return f"{subject}{KEY_SEPARATOR}{event_id}"
