"""``registry.roles``: who answers for a subject, in which role, from when to when (seed 十一).

The market-entity register (市场主体登记) and the departments that know it
send one record each time a person's role in a subject is registered or ends:
the legal representative (法定代表人), the principal officer (主要负责人) or the
actual controller (实际控制人), with the dates the role was held. A record
also says what kind of subject the USCC names (enterprise, individual
business, state-owned enterprise, public institution, social organisation).

A role is identified by subject, person, role and ``held_from``: a later
record with the same four (e.g. one that sets ``held_until`` when the person
steps down) replaces the earlier. ``person_id`` (an identity-document number
or the register's person number) and ``person_name`` are personal data: the
pipeline keys people by a keyed pseudonym of ``person_id``
(``detectors.cross_sector.person_pseudonym``) and shows the id and the name
only to whoever may see personal data (docs/access.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import PersonRole, Sector, SubjectType


class RoleAssignment(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    subject: str
    person_id: str
    role: PersonRole
    held_from: datetime
    recorded_at: datetime  # when the register recorded it: the record's event time
    region: str
    sector: Sector
    held_until: datetime | None = None  # None: the person still holds the role
    person_name: str | None = None
    subject_type: SubjectType | None = None  # None: an enterprise


def parse_role(data: dict[str, Any]) -> RoleAssignment:
    """Validate a decoded JSON object against the contract."""
    held_from, held_until = v.period(data, "held_from", "held_until")
    return RoleAssignment(
        event_id=v.identifier(data, "event_id"),
        subject=v.uscc(data),
        person_id=v.identifier(data, "person_id"),
        role=v.choice(data, "role", PersonRole),
        held_from=held_from,
        recorded_at=v.timestamp(data, "recorded_at"),
        region=v.region_code(data),
        sector=v.choice(data, "sector", Sector),
        held_until=held_until,
        person_name=v.text(data, "person_name", required=False, max_length=v.MAX_ID_LENGTH),
        subject_type=v.choice(data, "subject_type", SubjectType, required=False),
    )
