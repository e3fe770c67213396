"""Cross-sector warnings and seed 十一's linkage: a linkage group's messages, one at a time.

The step of the cross-sector agent (streams/agents/cross_sector.py). A linkage
group is one legal representative's subjects (or one subject): its
:class:`~detectors.cross_sector.LinkedSignals` pools their adverse records, and
an alert names every record of a pattern that spans departments or sectors.
When one of its subjects enters a credit list, the others are told.
"""

from __future__ import annotations

from detectors.alert_rules import AlertRule
from detectors.cross_sector import CrossSectorFinding, LinkedSignals
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alerts import AlertSubject, make_alert
from pipeline.context import StepContext
from topics.internal import AdverseReport, LinkageMessage, LinkedListing, Member
from topics.risk import Alert
from topics.vocabulary import AlertKind
from topics.wire_time import iso


def step(
    linked: LinkedSignals | None, message: LinkageMessage, context: StepContext
) -> tuple[LinkedSignals, list[Alert]]:
    """A member joins, a listing is passed on, or an adverse record joins the pool."""
    policy = context.policy
    linked = linked if linked is not None else LinkedSignals()
    if isinstance(message, Member):
        linked.join(message)
        return linked, []
    if isinstance(message, LinkedListing):
        return linked, linked_listing_alerts(message, linked.others(message.subject), policy)
    signal = message.signal
    linked.join(Member(signal.subject, signal.region, signal.sector, message.tier, message.score))
    finding = linked.add(signal, policy.cross_sector)
    return linked, [] if finding is None else [cross_sector_alert(message, finding, policy)]


def cross_sector_alert(report: AdverseReport, finding: CrossSectorFinding, policy: Policy) -> Alert:
    """An alert naming every contributing record: who, which department, what, when."""
    subjects = finding.subjects
    by_department = len(finding.departments) >= len(finding.sectors)
    rule = AlertRule.CROSS_SECTOR_LINKED if len(subjects) > 1 else AlertRule.CROSS_SECTOR
    hit = RuleHit(
        rule=rule,
        rule_key="cross_sector",
        kind=AlertKind.CROSS_SECTOR,
        severity=policy.alerts.severity.of(rule),
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
        about={
            "sources": len(finding.departments) if by_department else len(finding.sectors),
            "source_kind": "departments" if by_department else "sectors",
            "subjects": len(subjects),
        },
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
        rule=AlertRule.LINKED_LISTING,
        rule_key=f"linked_listing:{listing.subject}:{listing.list}:v{listing.version}",
        kind=AlertKind.LIST,
        severity=policy.alerts.severity.of(AlertRule.LINKED_LISTING),
        evidence=(
            Fact("linked_subject", 1.0, detail=f"{listing.subject} listed on {day}"),
            *(Fact("listing_basis", 1.0, detail=line) for line in listing.basis),
        ),
        cooldown=False,
        about={"list": listing.list},
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
