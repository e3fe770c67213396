"""The audit trail's hash chain: link a record to the previous one, check a trail.

Seed 十七 (supervision records must not be tampered with). Each record's
``hash`` is the SHA-256 of its canonical JSON without ``hash`` (keys sorted,
no whitespace, UTF-8), and that JSON contains ``seq`` and ``prev_hash``, the
previous record's ``hash`` (64 zeros for the first). So:

* changing any field of a record breaks its own hash;
* recomputing that hash breaks the next record's ``prev_hash``;
* removing a record leaves a gap in ``seq`` (and a broken ``prev_hash``);
* reordering records makes ``seq`` go backwards.

What a chain cannot show by itself: records cut off at the *end*, and a
forger who rewrites every record after the one changed. Keep the head that
``creditwatch audit verify`` prints (seq and hash) somewhere else to catch those.

Pure: no Faust, no Kafka; the agent and the CLI call it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from topics.audit import AuditRecord, AuditRequest, record_document

GENESIS_HASH = "0" * 64


def canonical_json(document: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: one byte string per JSON value."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(record: AuditRecord) -> str:
    """The hash a record should carry: over every field but ``hash`` itself."""
    return hashlib.sha256(canonical_json(record_document(record, with_hash=False))).hexdigest()


def chain(prev: AuditRecord | None, request: AuditRequest, at: datetime) -> AuditRecord:
    """The record that appends ``request`` after ``prev`` (None: the first record).

    >>> from datetime import UTC, datetime
    >>> from topics.audit import new_request
    >>> when = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    >>> first = chain(None, new_request("cli:ops", "token.create", "token:wang", at=when), when)
    >>> first.seq, first.prev_hash == GENESIS_HASH, first.hash == record_hash(first)
    (1, True, True)
    """
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    record = AuditRecord(
        seq=1 if prev is None else prev.seq + 1,
        at=at,
        requested_at=request.at,
        request_id=request.request_id,
        actor=request.actor,
        action=request.action,
        target=request.target,
        details=request.details,
        prev_hash=GENESIS_HASH if prev is None else prev.hash,
        hash="",
    )
    record.hash = record_hash(record)
    return record


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a trail, at a record (``offset`` on the topic, if known)."""

    kind: str  # altered, removed, reordered, unreadable
    seq: int | None
    offset: int | None
    message: str

    def __str__(self) -> str:
        where = [f"offset {self.offset}" if self.offset is not None else None]
        where.append(f"seq {self.seq}" if self.seq is not None else None)
        place = ", ".join(w for w in where if w)
        return f"{self.kind}: {place}: {self.message}" if place else f"{self.kind}: {self.message}"


def verify(records: Iterable[AuditRecord], offsets: Sequence[int] | None = None) -> list[Problem]:
    """Every altered, removed or reordered record of a trail, in trail order.

    ``offsets`` (parallel to ``records``) names where each record was read;
    without it the position in ``records`` is reported as the offset.
    """
    trail = list(records)
    present = {record.seq for record in trail}
    problems: list[Problem] = []
    prev: AuditRecord | None = None
    for position, record in enumerate(trail):
        offset = offsets[position] if offsets is not None else position
        problems.extend(_check(prev, record, offset, present))
        # After a record that goes backwards, keep checking against the highest
        # seq seen, so one swap is one problem and not a cascade.
        if prev is None or record.seq > prev.seq:
            prev = record
    return problems


def _check(
    prev: AuditRecord | None, record: AuditRecord, offset: int, present: set[int]
) -> list[Problem]:
    problems = []
    if record.hash != record_hash(record):
        problems.append(Problem("altered", record.seq, offset, "content does not match its hash"))
    expected_seq = 1 if prev is None else prev.seq + 1
    expected_prev_hash = GENESIS_HASH if prev is None else prev.hash
    if record.seq < expected_seq:
        assert prev is not None  # expected_seq > 1
        problems.append(
            Problem(
                "reordered",
                record.seq,
                offset,
                f"seq {record.seq} comes after seq {prev.seq} (moved or duplicated)",
            )
        )
    elif record.seq > expected_seq:
        skipped = range(expected_seq, record.seq)
        names = (
            f"seq {expected_seq}" if len(skipped) == 1 else f"seq {expected_seq}..{record.seq - 1}"
        )
        if present.issuperset(skipped):  # they are there, later on: moved, not removed
            problems.append(Problem("reordered", record.seq, offset, f"comes before {names}"))
        else:
            problems.append(Problem("removed", record.seq, offset, f"{names} missing before it"))
    elif record.prev_hash != expected_prev_hash:
        before = "the start" if prev is None else f"seq {prev.seq}"
        problems.append(
            Problem(
                "altered",
                record.seq,
                offset,
                f"prev_hash does not match the hash of {before} "
                "(a record was changed and its hash recomputed, or replaced)",
            )
        )
    return problems
