"""``iot.readings``: non-contact supervision feeds (seed 十六): sensors and camera AI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import METRIC_UNITS, Metric, Sector

VALUE_RANGE = (-1e6, 1e6)


class IotReading(faust.Record, serializer="json", include_metadata=False):
    event_id: str
    device_id: str
    subject: str
    sector: Sector
    region: str
    metric: Metric
    value: float
    unit: str
    measured_at: datetime
    limit: float | None = None


def parse_iot(data: dict[str, Any]) -> IotReading:
    """Validate a decoded JSON object against the contract."""
    metric = v.choice(data, "metric", Metric)
    assert metric is not None  # required
    unit = v.identifier(data, "unit")
    if unit != METRIC_UNITS[metric]:
        raise v.InvalidRecord(
            v.Reason.INCONSISTENT,
            f"'{metric}' is reported in {METRIC_UNITS[metric]!r}, not {unit!r}",
            "unit",
        )
    low, high = VALUE_RANGE
    return v.record(
        IotReading,
        {
            "event_id": v.identifier(data, "event_id"),
            "device_id": v.identifier(data, "device_id"),
            "subject": v.uscc(data),
            "sector": v.choice(data, "sector", Sector),
            "region": v.region_code(data),
            "metric": metric,
            "value": v.number(data, "value", minimum=low, maximum=high),
            "unit": unit,
            "measured_at": v.timestamp(data, "measured_at"),
            "limit": v.number(data, "limit", required=False, minimum=low, maximum=high),
        },
    )
