"""The audit trail's hash chain: every altered, removed or moved record is reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from topics.audit import (
    AuditRecord,
    encode_record,
    encode_request,
    new_request,
    parse_audit_record,
    parse_audit_request,
)
from topics.audit_chain import GENESIS_HASH, chain, record_hash, verify
from topics.validation import InvalidRecord

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def trail(n: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for i in range(n):
        at = START + timedelta(minutes=i)
        request = new_request(
            "wang", "alert.ack", f"alert:a{i}", {"note": "called the shop", "n": i}, at=at
        )
        records.append(chain(records[-1] if records else None, request, at))
    return records


def read_back(records: list[AuditRecord]) -> list[AuditRecord]:
    """As `audit verify` sees them: encoded on the topic, decoded again."""
    return [parse_audit_record(encode_record(r)) for r in records]


def tampered(record: AuditRecord, **changes: object) -> AuditRecord:
    return AuditRecord(**{**record.asdict(), **changes})


def test_records_link_by_seq_and_hash() -> None:
    records = trail(3)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert records[1].prev_hash == records[0].hash
    assert all(r.hash == record_hash(r) for r in records)


def test_an_untouched_trail_read_back_from_the_wire_verifies() -> None:
    assert verify(read_back(trail(5))) == []
    assert verify([]) == []


def test_a_changed_value_is_reported_as_altered() -> None:
    records = read_back(trail(5))
    records[2] = tampered(records[2], details={"note": "never called", "n": 2})
    problems = verify(records)
    assert [(p.kind, p.seq) for p in problems] == [("altered", 3)]
    assert "does not match its hash" in problems[0].message


def test_a_changed_value_with_its_hash_recomputed_breaks_the_next_link() -> None:
    records = read_back(trail(5))
    forged = tampered(records[2], actor="li")
    forged.hash = record_hash(forged)
    records[2] = forged
    problems = verify(records)
    assert [(p.kind, p.seq) for p in problems] == [("altered", 4)]
    assert "prev_hash" in problems[0].message


def test_a_removed_record_is_reported() -> None:
    records = read_back(trail(5))
    del records[1]
    problems = verify(records)
    assert [(p.kind, p.seq) for p in problems] == [("removed", 3)]
    assert "seq 2 missing" in problems[0].message


def test_a_removed_first_record_is_reported() -> None:
    problems = verify(read_back(trail(3))[1:])
    assert [(p.kind, p.seq) for p in problems] == [("removed", 2)]


def test_two_swapped_records_are_reported_as_reordered() -> None:
    records = read_back(trail(5))
    records[1], records[2] = records[2], records[1]
    problems = verify(records)
    assert [(p.kind, p.seq) for p in problems] == [("reordered", 3), ("reordered", 2)]


def test_a_duplicated_record_is_reported() -> None:
    records = read_back(trail(3))
    problems = verify([*records, records[1]])
    assert [(p.kind, p.seq) for p in problems] == [("reordered", 2)]


def test_problems_name_the_offset_given() -> None:
    records = read_back(trail(3))
    del records[1]
    (problem,) = verify(records, offsets=[10, 12])
    assert problem.offset == 12
    assert str(problem) == "removed: offset 12, seq 3: seq 2 missing before it"


def test_chain_refuses_naive_times() -> None:
    request = new_request("wang", "alert.ack", "alert:a1", at=START)
    with pytest.raises(ValueError, match="timezone-aware"):
        chain(None, request, datetime(2024, 5, 1, 8, 0))


def test_a_record_read_back_must_be_in_canonical_form() -> None:
    document = orjson.loads(encode_record(trail(1)[0]))
    document["at"] = document["at"].replace("+00:00", "Z")
    with pytest.raises(InvalidRecord, match="canonical"):
        parse_audit_record(orjson.dumps(document))
    with pytest.raises(InvalidRecord, match="unexpected field"):
        parse_audit_record(orjson.dumps({**orjson.loads(encode_record(trail(1)[0])), "x": 1}))


def test_requests_round_trip_in_utc() -> None:
    local = datetime(2024, 5, 1, 16, 0, tzinfo=UTC).astimezone()
    request = new_request("cli:ops", "token.create", "token:wang", {"role": "inspector"}, at=local)
    back = parse_audit_request(encode_request(request))
    assert back.at == START + timedelta(hours=8) and back.at.tzinfo == UTC
    assert (back.request_id, back.details) == (request.request_id, {"role": "inspector"})
    with pytest.raises(InvalidRecord):
        parse_audit_request(b'{"actor": "x"}')
