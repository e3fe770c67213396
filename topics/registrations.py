"""``risk.registrations``: voluntary registrations subjects file, and their verification (seed 五).

Seed 五 asks subjects to register credit information of their own accord
(自愿注册: qualifications, certificates, contract performance, honours, social
responsibility). A registration filed through self-service is *pending*: it
does not touch the score until an official verifies it. Verified, it enters
``enforcement.events`` as a ``voluntary_registration`` record (its event id
the registration's id, its time the verification's), which the pipeline
scores as before; rejected, it stays on record with the official's note.

Compacted, keyed by ``registration_id``: the latest record is the
registration's state; a registration is decided once (pending → verified or
rejected).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import Sector

MAX_DESCRIPTION = 2_000


class RegistrationCategory(StrEnum):
    """What a subject may register (seed 五)."""

    QUALIFICATION = "qualification"  # 资质
    CERTIFICATE = "certificate"  # 证照
    CONTRACT_PERFORMANCE = "contract_performance"  # 合同履约
    HONOUR = "honour"  # 荣誉
    SOCIAL_RESPONSIBILITY = "social_responsibility"  # 社会责任


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # filed; counts for nothing yet
    VERIFIED = "verified"  # an official checked it: it is on the record and counts
    REJECTED = "rejected"  # an official found it wanting


class Registration(faust.Record, serializer="json", include_metadata=False):
    registration_id: str
    subject: str
    category: RegistrationCategory
    description: str
    filed_at: datetime
    filed_by: str  # the token name that filed it
    status: RegistrationStatus
    region: str
    sector: Sector
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None  # the official's reason, required for a rejection


def registration_request(data: dict[str, Any]) -> tuple[RegistrationCategory, str]:
    """What a subject sends to file one: ``category`` and ``description``."""
    category = v.choice(data, "category", RegistrationCategory)
    assert category is not None  # required
    description = v.text(data, "description", max_length=MAX_DESCRIPTION)
    assert description is not None  # required
    return category, description


def decision_request(data: dict[str, Any]) -> tuple[RegistrationStatus, str | None]:
    """What an official sends to decide one: ``decision`` (verified or rejected) and a
    ``note``, required for a rejection (the subject is told why)."""
    decision = v.choice(data, "decision", RegistrationStatus)
    if decision is RegistrationStatus.PENDING:
        raise v.InvalidRecord(
            v.Reason.BAD_ENUM, "'decision' must be verified or rejected", "decision"
        )
    assert decision is not None  # required
    note = v.text(
        data,
        "note",
        required=decision is RegistrationStatus.REJECTED,
        max_length=MAX_DESCRIPTION,
    )
    return decision, note


def decode_registration(raw: bytes | None) -> Registration:
    """A record of the topic, or InvalidRecord."""
    data = v.load_object(raw)
    status = v.choice(data, "status", RegistrationStatus)
    assert status is not None
    return Registration(
        registration_id=v.identifier(data, "registration_id"),
        subject=v.uscc(data),
        category=v.choice(data, "category", RegistrationCategory),
        description=str(v.text(data, "description", max_length=MAX_DESCRIPTION)),
        filed_at=v.timestamp(data, "filed_at", future_ok=True),
        filed_by=v.identifier(data, "filed_by"),
        status=status,
        region=v.region_code(data),
        sector=v.choice(data, "sector", Sector),
        decided_at=v.timestamp(data, "decided_at", required=False, future_ok=True),
        decided_by=v.text(data, "decided_by", required=False, max_length=v.MAX_ID_LENGTH),
        note=v.text(data, "note", required=False, max_length=MAX_DESCRIPTION),
    )
