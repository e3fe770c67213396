"""The peer-outlier agent: one :class:`~detectors.peers.PeerGroup` per sector and county."""

from __future__ import annotations

import faust

from detectors.peers import PeerFinding, PeerGroup
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alerts import AlertSubject, make_alert
from streams.agents.fanout import decode_peer_updates
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import peer_feature_changes
from streams.runtime.tables import bytes_table
from streams.settings import worker_policy
from topics.internal import PeerUpdate
from topics.risk import Alert
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, AlertKind, AlertSeverity

policy = worker_policy()
peer_groups = bytes_table(
    "peer-groups", "Feature sums per peer group, sector|county (detectors.peers.PeerGroup)."
)


def peer_outlier_alert(update: PeerUpdate, finding: PeerFinding, policy: Policy) -> Alert:
    """An explained alert: each unusual feature with its value, the peers' mean and the spread."""
    furthest = finding.deviations[0].spreads
    county = SHIJIAZHUANG_COUNTIES.get(update.region, update.region)
    unusual = ", ".join(d.feature for d in finding.deviations)
    hit = RuleHit(
        rule_key="peer_outlier",
        kind=AlertKind.ANOMALY,
        severity=AlertSeverity.HIGH
        if furthest >= 2 * policy.peers.alert_spreads
        else AlertSeverity.MEDIUM,
        title=f"Far above its {finding.peers} peers ({update.sector}, {county}) on {unusual}",
        evidence=tuple(
            Fact(
                d.feature,
                d.value,
                d.peer_mean,
                detail=f"{d.spreads:.1f} spreads above the peers' mean (spread {d.spread:g})",
            )
            for d in finding.deviations
        ),
    )
    about = AlertSubject(update.subject, update.tier, update.score, update.region, update.sector)
    dedup_key = f"{update.subject}:{hit.rule_key}"
    return make_alert(dedup_key, hit, about, [update.event_id], update.at_s, policy)


def handle_peer_updates(group: PeerGroup | None, value: bytes) -> tuple[PeerGroup, list[Alert]]:
    group = group if group is not None else PeerGroup()
    raised: list[Alert] = []
    for update in decode_peer_updates(value):
        group.update(update.old, update.new)
        if update.new is None:
            continue
        finding = group.assess(
            update.subject, update.new, update.at_s, policy.peers, policy.alert_cooldown_s
        )
        if finding is not None:
            raised.append(peer_outlier_alert(update, finding, policy))
    return group, raised


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
