"""The cross-sector agent: one :class:`~detectors.cross_sector.LinkedSignals` per linkage group.

Besides the cross-sector warning it carries seed 十一's linkage: when a subject
enters a credit list, the other subjects of its legal representative get an alert.
Wiring only: decode a message, step (pipeline/cross_sector.py), send the alerts.
"""

from __future__ import annotations

import faust

from detectors.cross_sector import LinkedSignals
from pipeline.cross_sector import step
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import adverse_signals
from streams.runtime.tables import bytes_table
from streams.settings import step_context
from topics.internal import decode_linkage_message
from topics.risk import Alert

linked_signals = bytes_table(
    "linked-signals",
    "Recent adverse records per subject or legal representative (detectors.cross_sector).",
)


def handle_linkage_message(
    linked: LinkedSignals | None, value: bytes
) -> tuple[LinkedSignals, list[Alert]]:
    return step(linked, decode_linkage_message(value), step_context())


@app.agent(adverse_signals, concurrency=1)
async def detect_cross_sector(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        linked_signals,
        LinkedSignals.from_bytes,
        LinkedSignals.to_bytes,
        handle_linkage_message,
        send_alert,
    )
