"""The peer-outlier agent: one :class:`~detectors.peers.PeerGroup` per sector and county.

Wiring only: decode a group's updates, step (pipeline/peers.py), send the alerts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from detectors.peers import PeerGroup
from pipeline.context import StepContext
from pipeline.peers import step
from streams.agents.keyed import keyed_agent
from topics.internal import decode_peer_updates
from topics.risk import Alert

if TYPE_CHECKING:
    from streams.wiring import Wiring


def handle_peer_updates(
    context: StepContext, group: PeerGroup | None, value: bytes
) -> tuple[PeerGroup, list[Alert]]:
    return step(group, decode_peer_updates(value), context)


def register(w: Wiring) -> None:
    handle = partial(handle_peer_updates, w.context)
    channel, table = w.channels.peer_feature_changes, w.tables.peer_groups
    name = f"{__name__}.detect_peer_outliers"
    keyed_agent(w, name, channel, table, PeerGroup, handle, w.publish.alert)
