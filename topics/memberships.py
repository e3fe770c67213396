"""``registry.memberships``: which subjects belong to which industry association, when (seed 十八).

Seed 十八 has industry associations (行业协会商会) build their members' credit
records, run self-discipline schemes and take part in joint rewards and
punishments. An association, or the registry of social organisations, sends
one record when a subject joins and again when it leaves (``member_until``
set). The topic is compacted and keyed ``"{association}|{subject}"``: the latest
record of a pair is its membership (a subject that rejoins gets new dates).

What the membership decides (docs/access.md): an association's token sees a
subject's tier and list changes only while the subject is its member (the
change's effective time within ``[member_from, member_until)``), and may report
records and self-discipline commitments only about its current members.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v

#: Separates association and subject in the Kafka key: ``"{association}|{subject}"``.
KEY_SEPARATOR = "|"
MAX_ASSOCIATION_LENGTH = 64


class Membership(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    association: str  # the association's id, as its token names it
    subject: str
    member_from: datetime
    recorded_at: datetime
    member_until: datetime | None = None  # None: still a member
    association_name: str | None = None

    def member_at(self, at: datetime) -> bool:
        """Whether the subject was a member at ``at`` (from inclusive, until exclusive)."""
        return self.member_from <= at and (self.member_until is None or at < self.member_until)


def plain_id(text: str) -> bool:
    """An association id: ASCII letters, digits, '-' and '_' (it goes into keys).

    >>> plain_id("food-assoc-01"), plain_id("a|b"), plain_id("")
    (True, False, False)
    """
    return 0 < len(text) <= MAX_ASSOCIATION_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in text
    )


def parse_membership(data: dict[str, Any]) -> Membership:
    """Validate a decoded JSON object against the contract (InvalidRecord if it fails)."""
    association = v.identifier(data, "association")
    if not plain_id(association):
        raise v.InvalidRecord(
            v.Reason.OUT_OF_RANGE,
            f"'association' must be 1–{MAX_ASSOCIATION_LENGTH} letters, digits, '-' or '_'",
            "association",
        )
    # A membership may be registered ahead of its start.
    member_from, member_until = v.period(data, "member_from", "member_until", future_start=True)
    return Membership(
        event_id=v.identifier(data, "event_id"),
        association=association,
        subject=v.uscc(data),
        member_from=member_from,
        recorded_at=v.timestamp(data, "recorded_at"),
        member_until=member_until,
        association_name=v.text(
            data, "association_name", required=False, max_length=v.MAX_ID_LENGTH
        ),
    )


def decode_membership(raw: bytes | None) -> Membership:
    """A record of the topic, or InvalidRecord (its reason goes to the dead letter)."""
    return parse_membership(v.load_object(raw))
