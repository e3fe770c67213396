"""The messages workers send each other: each comes back as it went, and one a
worker cannot read is a clear error (for the dead-letter topic), never another crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from topics.internal import (
    Action,
    AdverseReport,
    AdverseSignal,
    BasisFact,
    Command,
    ComplaintCount,
    CrossSectorCandidate,
    LinkedListing,
    Member,
    PeerUpdate,
    decode_alert_message,
    decode_complaint_counts,
    decode_cross_sector_candidate,
    decode_linkage_message,
    decode_peer_updates,
    encode_command,
    encode_complaint_counts,
    encode_cross_sector_candidate,
    encode_linkage_message,
    encode_peer_updates,
)

SIGNAL = AdverseSignal("e1", 1.0e9, "S1", "tax_violation", "taxation", "finance", "130102")
BASIS = (
    BasisFact("court_dishonest_debtor", 1.0, "event_day_department",
              {"event": "e1", "day": "2026-03-02", "department": "court"}),
    BasisFact("penalty_serious", 1.0, "departments", {"departments": ("taxation", "health")}),
)  # fmt: skip


def test_every_message_comes_back_as_it_was_sent() -> None:
    updates = [
        PeerUpdate("food_drug|130102", "S1", None, (40.0, 2.0), 1.0e9, "e1", "B", 40.0,
                   "130102", "food_drug"),
        PeerUpdate("food_drug|130104", "S1", (40.0, 2.0), None, 1.0e9, "e1", "B", 40.0,
                   "130102", "food_drug"),
    ]  # fmt: skip
    assert decode_peer_updates(encode_peer_updates(updates)) == updates
    for message in (
        AdverseReport("rep:ab", SIGNAL, "C", 56.0),
        Member("S2", "130104", "food_drug", "B", 31.0),
        LinkedListing("S1", "joint_punishment", 1, 1.0e9, "S1|joint_punishment|v1", BASIS),
    ):
        assert decode_linkage_message(encode_linkage_message(message)) == message
    earlier = AdverseSignal("e0", 9.9e8, "S2", "interview", "education", "education", "130104")
    candidate = CrossSectorCandidate(
        "rep:ab", AdverseReport("rep:ab", SIGNAL, "C", 56.0), (earlier, SIGNAL),
        ("education", "taxation"), ("education", "finance"),
    )  # fmt: skip
    assert decode_cross_sector_candidate(encode_cross_sector_candidate(candidate)) == candidate
    assert candidate.sector == "finance"  # the completing record's: its model's key
    counts = [ComplaintCount("price", "130102", "food_drug", 1.0e9, "e9", 3)]
    assert decode_complaint_counts(encode_complaint_counts(counts)) == counts
    command = Command(Action.ACK, "a1", "centre-wang", "seen", 1.0e9)
    assert decode_alert_message(encode_command(command)) == command
    alert = {"alert_id": "a1", "dedup_key": "S1:tier_d"}
    assert decode_alert_message(orjson.dumps(alert)) == alert


def test_the_wire_format_of_the_linkage_topic_is_kept() -> None:
    """Workers of the previous version read these; the format must not drift."""
    member = orjson.loads(encode_linkage_message(Member("S2", "130104", "food_drug", "B", 31.0)))
    assert member == {"type": "member", "member": ["S2", "130104", "food_drug", "B", 31.0]}
    report = orjson.loads(encode_linkage_message(AdverseReport("rep:ab", SIGNAL, "C", 56.0)))
    assert "type" not in report and report["signal"]["department"] == "taxation"


def test_a_listing_of_the_previous_version_keeps_the_codes_of_its_basis() -> None:
    """Its basis was English lines ("code: detail"): their codes are still worded."""
    listing = {"subject": "S1", "list": "joint_punishment", "version": 1, "at_s": 1.0e9,
               "event_id": "S1|joint_punishment|v1",
               "basis": ["court_dishonest_debtor: event e1"]}  # fmt: skip
    decoded = decode_linkage_message(orjson.dumps({"type": "listed", "listing": listing}))
    assert isinstance(decoded, LinkedListing)
    assert decoded.basis == (BasisFact("court_dishonest_debtor", 1.0),)


DECODERS: list[Callable[[bytes], Any]] = [
    decode_peer_updates,
    decode_linkage_message,
    decode_complaint_counts,
    decode_alert_message,
    decode_cross_sector_candidate,
]
UNREADABLE = [
    b"not json", b"5", b'"text"', b"[1]", b"[[]]", b"{}", b'{"command": 5}',
    b'{"command": {"action": "shout"}}', b'{"type": "member", "member": [1]}',
]  # fmt: skip


@pytest.mark.parametrize("decode", DECODERS, ids=lambda d: d.__name__)
def test_an_unreadable_message_is_a_value_type_or_key_error(decode: Callable[[bytes], Any]):
    for value in UNREADABLE:
        try:
            decoded = decode(value)
        except (ValueError, TypeError, KeyError):
            continue
        # Only what a step then checks itself gets through: an alert message's fields.
        assert decode is decode_alert_message and isinstance(decoded, dict), (decode, value)
