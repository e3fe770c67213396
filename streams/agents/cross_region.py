"""The cross-region agent: one :class:`~detectors.cross_region.CategorySeries` per category.

Wiring only: decode a category's counts, step (pipeline/cross_region.py), send the alerts.
"""

from __future__ import annotations

import faust

from detectors.cross_region import CategorySeries
from pipeline.cross_region import step
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import complaint_counts
from streams.runtime.tables import bytes_table
from streams.settings import step_context
from topics.internal import decode_complaint_counts
from topics.risk import Alert

category_series = bytes_table(
    "category-series",
    "Daily complaint counts and baselines per category and county (detectors.cross_region).",
)


def handle_complaint_counts(
    series: CategorySeries | None, value: bytes
) -> tuple[CategorySeries, list[Alert]]:
    return step(series, decode_complaint_counts(value), step_context())


@app.agent(complaint_counts, concurrency=1)
async def detect_cross_region(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        category_series,
        CategorySeries.from_bytes,
        CategorySeries.to_bytes,
        handle_complaint_counts,
        send_alert,
    )
