"""The cross-sector agent: one :class:`~detectors.cross_sector.LinkedSignals` per linkage group.

Besides the cross-sector warning it carries seed 十一's linkage: when a subject
enters a credit list, the other subjects of its legal representative get an alert.
"""

from __future__ import annotations

import faust

from detectors.cross_sector import CrossSectorFinding, LinkedListing, LinkedSignals, Member
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alerts import AlertSubject, make_alert
from streams.agents.fanout import decode_linkage_message
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import adverse_signals
from streams.runtime.tables import bytes_table
from streams.settings import worker_policy
from topics.internal import AdverseReport
from topics.risk import Alert
from topics.vocabulary import AlertKind, AlertSeverity
from topics.wire_time import iso

policy = worker_policy()
linked_signals = bytes_table(
    "linked-signals",
    "Recent adverse records per subject or legal representative (detectors.cross_sector).",
)


def cross_sector_alert(report: AdverseReport, finding: CrossSectorFinding, policy: Policy) -> Alert:
    """An alert naming every contributing record: who, which department, what, when."""
    subjects = finding.subjects
    spread = (
        f"{len(finding.departments)} departments"
        if len(finding.departments) >= len(finding.sectors)
        else f"{len(finding.sectors)} sectors"
    )
    across = (
        f" across {len(subjects)} subjects of one legal representative" if len(subjects) > 1 else ""
    )
    hit = RuleHit(
        rule_key="cross_sector",
        kind=AlertKind.CROSS_SECTOR,
        severity=AlertSeverity.HIGH,
        title=f"Adverse records from {spread}{across}",
        evidence=(
            Fact(
                "departments",
                len(finding.departments),
                policy.cross_sector.min_sources,
                detail=", ".join(finding.departments),
            ),
            Fact("sectors", len(finding.sectors), detail=", ".join(finding.sectors)),
            *(
                Fact(
                    s.signal,
                    1.0,
                    detail=f"{s.subject} · {s.department} · {s.sector} · {s.region} · "
                    f"event {s.event_id} at {iso(s.at_s)}",
                )
                for s in finding.signals
            ),
        ),
    )
    trigger = report.signal
    about = AlertSubject(trigger.subject, report.tier, report.score, trigger.region, trigger.sector)
    others = [s.event_id for s in finding.signals if s.event_id != trigger.event_id]
    event_ids = [*others, trigger.event_id]  # the trigger last: it identifies the alert
    return make_alert(f"cross_sector:{report.group}", hit, about, event_ids, trigger.at_s, policy)


def linked_listing_alerts(
    listing: LinkedListing, members: list[Member], policy: Policy
) -> list[Alert]:
    """Seed 十一: every other subject of the representative hears of the listing."""
    day = iso(listing.at_s)[:10]
    hit = RuleHit(
        rule_key=f"linked_listing:{listing.subject}:{listing.list}:v{listing.version}",
        kind=AlertKind.LIST,
        severity=AlertSeverity.HIGH,
        title=f"A subject of the same legal representative entered the {listing.list} list",
        evidence=(
            Fact("linked_subject", 1.0, detail=f"{listing.subject} listed on {day}"),
            *(Fact("listing_basis", 1.0, detail=line) for line in listing.basis),
        ),
        cooldown=False,
    )
    return [
        make_alert(
            f"{m.subject}:{hit.rule_key}",
            hit,
            AlertSubject(m.subject, m.tier, m.score, m.region, m.sector),
            [listing.event_id],
            listing.at_s,
            policy,
        )
        for m in members
    ]


def handle_linkage_message(
    linked: LinkedSignals | None, value: bytes
) -> tuple[LinkedSignals, list[Alert]]:
    linked = linked if linked is not None else LinkedSignals()
    message = decode_linkage_message(value)
    if isinstance(message, Member):
        linked.join(message)
        return linked, []
    if isinstance(message, LinkedListing):
        return linked, linked_listing_alerts(message, linked.others(message.subject), policy)
    signal = message.signal
    linked.join(Member(signal.subject, signal.region, signal.sector, message.tier, message.score))
    finding = linked.add(signal, policy.cross_sector)
    return linked, [] if finding is None else [cross_sector_alert(message, finding, policy)]


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
