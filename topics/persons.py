"""Output contract ``risk.person-records``: a responsible person's credit record (seed 十一).

Seed 十一: when a subject is put on the joint-punishment list, its legal
representative or principal officer and its actual controller are punished
too, and the record goes into their personal credit record; seed 十 bans the
responsible people of a banned subject with it. The subject's step knows who
held which role in it and when (``registry.roles``); a person's record lives
in the person-record agent, keyed by the person's pseudonym, which collects:

* ``roles``: the person's roles in subjects, with their dates;
* ``entries``: the listings of subjects the person held a role in *when the
  subject was listed* (a role that ended before the listing does not count),
  each with the measures on the person while it stands.

One record per change, keyed by the pseudonym (32 hex digits) and compacted:
the latest is the person's record. ``version`` rises by one per person.
``person_id`` and ``person_name`` are personal data: show them only where
the law provides for it (the API masks them for every role but the centre).
"""

from __future__ import annotations

import builtins
from datetime import datetime

import faust

from topics.lists import ExitReason, ListKind, Measure
from topics.risk import Evidence
from topics.vocabulary import PersonRole, Sector, SubjectType


class HeldRole(faust.Record, serializer="json", include_metadata=False):
    """A role the person holds or held in a subject."""

    subject: str
    role: PersonRole
    held_from: datetime
    held_until: datetime | None  # None: still held
    subject_type: SubjectType
    region: str
    sector: Sector


class PersonEntry(faust.Record, serializer="json", include_metadata=False):
    """A listing of a subject the person held ``roles`` in when it was entered.

    ``measures`` are those on the person (not on the subject) while the listing
    stands: ``active`` and, unless ``expires_at`` is null (no end), before it.
    """

    subject: str
    roles: builtins.list[PersonRole]
    list: ListKind
    version: int  # of the subject's listing (risk.list-changes)
    active: bool
    entered_at: datetime
    expires_at: datetime | None
    exited_at: datetime | None
    exit_reason: ExitReason | None
    #: what the listing rests on, one fact per record, labelled and explained in
    #: Chinese and English as an alert's evidence is
    basis: builtins.list[Evidence]
    measures: builtins.list[Measure]
    region: str
    sector: Sector


class PersonCreditRecord(faust.Record, serializer="json", include_metadata=False):
    """The person's record after a change."""

    person: str  # the pseudonym: keyed HMAC of person_id
    person_id: str | None
    person_name: str | None
    roles: builtins.list[HeldRole]
    entries: builtins.list[PersonEntry]
    version: int
    changed_at: datetime
    policy_version: str
