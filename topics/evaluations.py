"""``evaluations.sector``: state and provincial credit evaluations of subjects in a key sector.

Seed 六 has the 8 key sectors (finance, food and drugs, education, environment
…) evaluated by their authorities (行业信用评价), and their results used in
supervision. A state ministry or a provincial department sends one record per
subject and evaluation: its grade A (best) to D, when it was made and, if
given, until when it holds. The grade moves the subject's score like any
credit record (``[signals.sector_evaluation_<grade>]`` in the policy), so its
tier, and what department systems receive on ``risk.tier-changes``, reflect it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import EvaluationLevel, Sector, Tier


class SectorEvaluation(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    subject: str
    sector: Sector  # one of the 8 key sectors, never "other"
    level: EvaluationLevel
    evaluator: str  # the authority, e.g. 国家税务总局, 河北省生态环境厅
    grade: Tier  # A best … D worst
    evaluated_at: datetime  # the record's event time
    region: str
    valid_until: datetime | None = None
    reference: str | None = None  # the evaluation's document number


def parse_evaluation(data: dict[str, Any]) -> SectorEvaluation:
    """Validate a decoded JSON object against the contract."""
    sector = v.choice(data, "sector", Sector)
    if sector is Sector.OTHER:
        raise v.InvalidRecord(
            v.Reason.BAD_ENUM, "'sector' must be one of the 8 key sectors, not 'other'", "sector"
        )
    evaluated_at = v.timestamp(data, "evaluated_at")
    valid_until = v.timestamp(data, "valid_until", required=False, future_ok=True)
    assert evaluated_at is not None  # required
    if valid_until is not None and valid_until <= evaluated_at:
        raise v.InvalidRecord(
            v.Reason.INCONSISTENT, "'valid_until' is not after 'evaluated_at'", "valid_until"
        )
    return SectorEvaluation(
        event_id=v.identifier(data, "event_id"),
        subject=v.uscc(data),
        sector=sector,
        level=v.choice(data, "level", EvaluationLevel),
        evaluator=v.identifier(data, "evaluator"),
        grade=v.choice(data, "grade", Tier),
        evaluated_at=evaluated_at,
        region=v.region_code(data),
        valid_until=valid_until,
        reference=v.text(data, "reference", required=False, max_length=v.MAX_ID_LENGTH),
    )
