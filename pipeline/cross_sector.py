"""Cross-sector warnings and seed 十一's linkage: a linkage group's messages, one at a time.

The steps of the cross-sector agents (streams/agents/cross_sector.py). A linkage
group is one legal representative's subjects (or one subject): its
:class:`~detectors.cross_sector.LinkedSignals` pools their adverse records, and
an alert names every record of a pattern that spans departments or sectors.
When one of its subjects enters a credit list, the others are told.

The pattern is a rule; whether its combination of departments is unusual for
the sector is a River model, keyed by sector
(:class:`~detectors.department_mix.DepartmentMix`). That takes two hops:
:func:`group_step` (keyed by linkage group) turns a pattern into a
:class:`~topics.internal.CrossSectorCandidate`, and :func:`mix_step` (keyed by
the candidate's sector) judges the combination, learns it and raises the alert
with that judgement (docs/early-warning.md).
"""

from __future__ import annotations

from detectors.alert_rules import AlertRule
from detectors.cross_sector import CrossSectorFinding, LinkedSignals
from detectors.department_mix import DepartmentMix, MixAssessment
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact, TitleValue
from pipeline.alerts import AlertSubject, basis_fact, make_alert
from pipeline.context import StepContext
from topics.internal import (
    AdverseReport,
    AdverseSignal,
    CrossSectorCandidate,
    LinkageMessage,
    LinkedListing,
    Member,
)
from topics.risk import Alert
from topics.vocabulary import AlertKind
from topics.wire_time import iso


def group_step(
    linked: LinkedSignals | None, message: LinkageMessage, context: StepContext
) -> tuple[LinkedSignals, list[Alert | CrossSectorCandidate]]:
    """The linkage group's hop: a pattern becomes a candidate for its sector's model."""
    policy = context.policy
    linked = linked if linked is not None else LinkedSignals()
    if isinstance(message, Member):
        linked.join(message)
        return linked, []
    if isinstance(message, LinkedListing):
        return linked, [*linked_listing_alerts(message, linked.others(message.subject), policy)]
    signal = message.signal
    linked.join(Member(signal.subject, signal.region, signal.sector, message.tier, message.score))
    finding = linked.add(signal, policy.cross_sector)
    return linked, [] if finding is None else [candidate_of(message, finding)]


def mix_step(
    mix: DepartmentMix | None, candidate: CrossSectorCandidate, context: StepContext
) -> tuple[DepartmentMix, list[Alert]]:
    """The sector's hop: judge the candidate's combination of departments, learn it unless it
    is unusual, and raise the alert with the judgement."""
    policy = context.policy
    mix = mix if mix is not None else DepartmentMix()
    assessment = mix.observe(candidate.departments, policy.cross_sector)
    return mix, [cross_sector_alert(candidate, assessment, policy)]


def candidate_of(report: AdverseReport, finding: CrossSectorFinding) -> CrossSectorCandidate:
    return CrossSectorCandidate(
        report.group, report, finding.signals, finding.departments, finding.sectors
    )


def cross_sector_alert(
    candidate: CrossSectorCandidate, mix: MixAssessment | None, policy: Policy
) -> Alert:
    """An alert naming every contributing record: who, which department, what, when; and,
    when the sector's model judged it, how usual the combination of departments is there.

    Severity: the rule's strong one for an unusual combination, and for a pattern with no
    pair of departments to judge (one department's records across sectors); its ordinary
    one for a combination usual for the sector.
    """
    subjects = tuple(dict.fromkeys(s.subject for s in candidate.signals))
    departments, sectors = candidate.departments, candidate.sectors
    by_department = len(departments) >= len(sectors)
    rule = AlertRule.CROSS_SECTOR_LINKED if len(subjects) > 1 else AlertRule.CROSS_SECTOR
    trigger = candidate.report.signal
    hit = RuleHit(
        rule=rule,
        rule_key="cross_sector",
        kind=AlertKind.CROSS_SECTOR,
        severity=policy.alerts.severity.of(rule, mix is None or mix.unusual),
        evidence=(
            Fact(
                "departments",
                len(departments),
                policy.cross_sector.min_sources,
                says="departments",
                about={"departments": departments},
            ),
            Fact("sectors", len(sectors), says="sectors", about={"sectors": sectors}),
            *_mix_facts(mix, trigger.sector),
            *(_record_fact(s) for s in candidate.signals),
        ),
        about={
            "sources": len(departments) if by_department else len(sectors),
            "source_kind": "departments" if by_department else "sectors",
            "subjects": len(subjects),
        },
    )
    report = candidate.report
    about = AlertSubject(trigger.subject, report.tier, report.score, trigger.region, trigger.sector)
    others = [s.event_id for s in candidate.signals if s.event_id != trigger.event_id]
    event_ids = [*others, trigger.event_id]  # the trigger last: it identifies the alert
    return make_alert(
        f"cross_sector:{candidate.group}", hit, about, event_ids, trigger.at_s, policy
    )


def _record_fact(signal: AdverseSignal) -> Fact:
    """One contributing record: who, which department and sector, where, which event, when."""
    about: dict[str, TitleValue] = {
        "subject": signal.subject,
        "department": signal.department,
        "sector": signal.sector,
        "county": signal.region,
        "event": signal.event_id,
        "at": iso(signal.at_s),
    }
    return Fact(signal.signal, 1.0, says="adverse_record", about=about)


def _mix_facts(mix: MixAssessment | None, sector: str) -> tuple[Fact, ...]:
    """The combination's judgement: its rarest pair's expected share of the sector's findings."""
    if mix is None:
        return ()
    about: dict[str, TitleValue] = {
        "departments": mix.pair,
        "combination": "unusual" if mix.unusual else "usual",
        "sector": sector,
        "seen": mix.seen,
        "findings": mix.findings,
    }
    return (
        Fact("department_pair_share", round(mix.share, 4), says="department_pair", about=about),
    )


def linked_listing_alerts(
    listing: LinkedListing, members: list[Member], policy: Policy
) -> list[Alert]:
    """Seed 十一: every other subject of the representative hears of the listing."""
    listed: dict[str, TitleValue] = {"subject": listing.subject, "day": iso(listing.at_s)[:10]}
    hit = RuleHit(
        rule=AlertRule.LINKED_LISTING,
        rule_key=f"linked_listing:{listing.subject}:{listing.list}:v{listing.version}",
        kind=AlertKind.LIST,
        severity=policy.alerts.severity.of(AlertRule.LINKED_LISTING),
        evidence=(
            Fact("linked_subject", 1.0, says="linked_subject", about=listed),
            *(basis_fact(f) for f in listing.basis),
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
