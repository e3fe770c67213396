"""``complaints.12315``: complaints, reports and enquiries from the 12315 platform (seed 四)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import Channel, ComplaintCategory, ComplaintKind, ComplaintStatus, Sector

MAX_AMOUNT = 1e10


class Complaint(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    subject: str
    kind: ComplaintKind
    category: ComplaintCategory
    channel: Channel
    region: str
    sector: Sector
    received_at: datetime
    status: ComplaintStatus
    amount: float | None = None
    product: str | None = None


def parse_complaint(data: dict[str, Any]) -> Complaint:
    """Validate a decoded JSON object against the contract."""
    return v.record(
        Complaint,
        {
            "event_id": v.identifier(data, "event_id"),
            "subject": v.uscc(data),
            "kind": v.choice(data, "kind", ComplaintKind),
            "category": v.choice(data, "category", ComplaintCategory),
            "channel": v.choice(data, "channel", Channel),
            "region": v.region_code(data),
            "sector": v.choice(data, "sector", Sector),
            "received_at": v.timestamp(data, "received_at"),
            "status": v.choice(data, "status", ComplaintStatus),
            "amount": v.number(data, "amount", required=False, minimum=0, maximum=MAX_AMOUNT),
            "product": v.text(data, "product", required=False, max_length=v.MAX_ID_LENGTH),
        },
    )
