"""Synthetic traffic for a city: a seeded population and a stream of input records.

``Simulator`` yields :class:`OutboundRecord` messages for the three input topics
(valid ones, deliberately bad ones tagged with their dead-letter reason, and a
few exact re-sends); ``produce`` sends them to Kafka at a given rate. The demo,
integration tests and benchmarks all use these two.
"""

from __future__ import annotations

from creditwatch.simulation.population import (
    Device,
    RiskProfile,
    Subject,
    build_population,
)
from creditwatch.simulation.producer import BrokerUnavailable, ProduceStats, produce
from creditwatch.simulation.traffic import (
    SHANGHAI,
    Draft,
    OutboundRecord,
    Simulator,
    SteppingClock,
    wall_clock,
)

__all__ = [
    "SHANGHAI",
    "BrokerUnavailable",
    "Device",
    "Draft",
    "OutboundRecord",
    "ProduceStats",
    "RiskProfile",
    "Simulator",
    "SteppingClock",
    "Subject",
    "build_population",
    "produce",
    "wall_clock",
]
