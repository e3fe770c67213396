"""The cross-region agent: one :class:`~detectors.cross_region.CategorySeries` per category.

Wiring only: decode a category's counts, step (pipeline/cross_region.py), send the alerts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from detectors.cross_region import CategorySeries
from pipeline.context import StepContext
from pipeline.cross_region import step
from streams.agents.keyed import keyed_agent
from topics.internal import decode_complaint_counts
from topics.risk import Alert

if TYPE_CHECKING:
    from streams.wiring import Wiring


def handle_complaint_counts(
    context: StepContext, series: CategorySeries | None, value: bytes
) -> tuple[CategorySeries, list[Alert]]:
    return step(series, decode_complaint_counts(value), context)


def register(w: Wiring) -> None:
    handle = partial(handle_complaint_counts, w.context)
    channel, table = w.channels.complaint_counts, w.tables.category_series
    name = f"{__name__}.detect_cross_region"
    keyed_agent(w, name, channel, table, CategorySeries, handle, w.publish.alert)
