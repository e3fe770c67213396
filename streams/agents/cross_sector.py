"""The cross-sector agent: one :class:`~detectors.cross_sector.LinkedSignals` per linkage group.

Besides the cross-sector warning it carries seed 十一's linkage: when a subject
enters a credit list, the other subjects of its legal representative get an alert.
Wiring only: decode a message, step (pipeline/cross_sector.py), send the alerts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from detectors.cross_sector import LinkedSignals
from pipeline.context import StepContext
from pipeline.cross_sector import step
from streams.agents.keyed import keyed_agent
from topics.internal import decode_linkage_message
from topics.risk import Alert

if TYPE_CHECKING:
    from streams.wiring import Wiring


def handle_linkage_message(
    context: StepContext, linked: LinkedSignals | None, value: bytes
) -> tuple[LinkedSignals, list[Alert]]:
    return step(linked, decode_linkage_message(value), context)


def register(w: Wiring) -> None:
    handle = partial(handle_linkage_message, w.context)
    channel, table = w.channels.adverse_signals, w.tables.linked_signals
    name = f"{__name__}.detect_cross_sector"
    keyed_agent(w, name, channel, table, LinkedSignals, handle, w.publish.alert)
