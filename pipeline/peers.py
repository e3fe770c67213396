"""Peer outliers (seed 十六): a peer group's updates, one message at a time.

The step of the peer-outlier agent (streams/agents/peers.py): the group
(:class:`~detectors.peers.PeerGroup`, River statistics per feature) judges each
subject's new features against the others, then learns them unless they are
flagged; a subject far above its peers is an alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from detectors.alert_rules import AlertRule
from detectors.peers import PeerDeviation, PeerFinding, PeerGroup
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact, TitleValue
from pipeline.alerts import AlertSubject, make_alert
from pipeline.context import StepContext
from topics.internal import PeerUpdate
from topics.risk import Alert
from topics.vocabulary import AlertKind


def step(
    group: PeerGroup | None, updates: Sequence[PeerUpdate], context: StepContext
) -> tuple[PeerGroup, list[Alert]]:
    """Apply one message of a group's updates, in order; alert on each outlier found."""
    policy = context.policy
    group = group if group is not None else PeerGroup()
    raised: list[Alert] = []
    for update in updates:
        finding = group.apply(update, policy.peers, policy.alert_cooldown_s)
        if finding is not None:
            raised.append(peer_outlier_alert(update, finding, policy))
    return group, raised


def peer_outlier_alert(update: PeerUpdate, finding: PeerFinding, policy: Policy) -> Alert:
    """An explained alert: each unusual feature with its value, the peers' mean and the spread."""
    strong = finding.deviations[0].spreads >= policy.peers.high_spreads
    hit = RuleHit(
        rule=AlertRule.PEER_OUTLIER,
        rule_key="peer_outlier",
        kind=AlertKind.ANOMALY,
        severity=policy.alerts.severity.of(AlertRule.PEER_OUTLIER, strong),
        evidence=tuple(_deviation_fact(d) for d in finding.deviations),
        about={
            "peers": finding.peers,
            "sector": update.sector,
            "county": update.region,
            "features": tuple(d.feature for d in finding.deviations),
        },
    )
    about = AlertSubject(update.subject, update.tier, update.score, update.region, update.sector)
    dedup_key = f"{update.subject}:{hit.rule_key}"
    return make_alert(dedup_key, hit, about, [update.event_id], update.at_s, policy)


def _deviation_fact(d: PeerDeviation) -> Fact:
    """How far above, in the peers' spreads, and for a count how improbable under their law."""
    about: dict[str, TitleValue] = {"spreads": d.spreads, "spread": d.spread}
    says = "above_peers"
    if d.surprise is not None and math.isfinite(d.surprise):
        about["surprise"] = d.surprise
        says = "above_peers_improbable"
    return Fact(d.feature, d.value, d.peer_mean, says=says, about=about)
