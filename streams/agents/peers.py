"""The peer-outlier agent: one :class:`~detectors.peers.PeerGroup` per sector and county.

Wiring only: decode a group's updates, step (pipeline/peers.py), send the alerts.
"""

from __future__ import annotations

import faust

from detectors.peers import PeerGroup
from pipeline.peers import step
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import peer_feature_changes
from streams.runtime.tables import bytes_table
from streams.settings import step_context
from topics.internal import decode_peer_updates
from topics.risk import Alert

peer_groups = bytes_table(
    "peer-groups", "Feature sums per peer group, sector|county (detectors.peers.PeerGroup)."
)


def handle_peer_updates(group: PeerGroup | None, value: bytes) -> tuple[PeerGroup, list[Alert]]:
    return step(group, decode_peer_updates(value), step_context())


@app.agent(peer_feature_changes, concurrency=1)
async def detect_peer_outliers(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        peer_groups,
        PeerGroup.from_bytes,
        PeerGroup.to_bytes,
        handle_peer_updates,
        send_alert,
    )
