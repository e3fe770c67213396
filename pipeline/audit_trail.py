"""The audit trail's head (seed 十七): what the chaining agent appends next, and what it skips.

The step of the audit agent (streams/agents/audit.py). The head is the last
record on ``risk.audit`` and the request ids of the latest records, read back
from the trail itself when the agent gains its partition (:func:`head_of`); a
request whose id is among them was appended before a crash or rebalance and is
not appended again (:func:`next_record`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from topics.audit import AuditRecord, AuditRequest, parse_audit_record
from topics.audit_chain import chain
from topics.validation import InvalidRecord

#: Records read back at start to find the head and recognise redelivered requests.
TAIL_WINDOW = 1000


@dataclass
class ChainHead:
    """The last record appended, and the request ids of the latest ones."""

    last: AuditRecord | None = None
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def seen(self, request_id: str) -> bool:
        return request_id in self.recent

    def advance(self, record: AuditRecord) -> None:
        self.last = record
        self.recent[record.request_id] = None
        while len(self.recent) > TAIL_WINDOW:
            self.recent.popitem(last=False)


def head_of(tail: Iterable[bytes]) -> tuple[ChainHead, list[InvalidRecord]]:
    """The head of a trail whose last records are ``tail``: its last readable record.

    Also returns why each unreadable record was skipped: we write only readable
    records, so one is not ours, and ``creditwatch audit verify`` reports it.
    """
    head, unreadable = ChainHead(), []
    for raw in tail:
        try:
            record = parse_audit_record(raw)
        except InvalidRecord as exc:
            unreadable.append(exc)
            continue
        if head.last is None or record.seq > head.last.seq:
            head.advance(record)
        else:
            head.recent[record.request_id] = None
    return head, unreadable


def next_record(head: ChainHead, request: AuditRequest, at: datetime) -> AuditRecord | None:
    """The record that appends ``request`` to the trail, or None if it is already there
    (redelivered after a crash or rebalance: its offset was not committed)."""
    if head.seen(request.request_id):
        return None
    return chain(head.last, request, at)
