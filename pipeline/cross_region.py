"""Cross-region warnings (seed 十六): a complaint category's daily counts, one message at a time.

The step of the cross-region agent (streams/agents/cross_region.py): the
category's :class:`~detectors.cross_region.CategorySeries` takes each county's
count; the same category surging in several counties on one day is one
area-wide alert.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.alert_rules import AlertRule
from detectors.cross_region import CategorySeries, CrossRegionFinding, day_label
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alerts import AlertSubject, make_alert
from pipeline.context import StepContext
from topics.internal import ComplaintCount
from topics.risk import Alert, county_fact
from topics.vocabulary import SHIJIAZHUANG_CITY, AlertKind


def step(
    series: CategorySeries | None, counts: Sequence[ComplaintCount], context: StepContext
) -> tuple[CategorySeries, list[Alert]]:
    """Add one message of a category's counts, in order; alert on each area-wide surge."""
    policy = context.policy
    series = series if series is not None else CategorySeries()
    raised: list[Alert] = []
    for count in counts:
        finding = series.add(
            count.category,
            count.county,
            count.sector,
            count.at_s,
            count.count,
            count.event_id,
            policy.cross_region,
        )
        if finding is not None:
            raised.append(cross_region_alert(finding, count.at_s, policy))
    return series, raised


def cross_region_alert(finding: CrossRegionFinding, at_s: float, policy: Policy) -> Alert:
    """One area-wide alert listing each surging county with its count and expected level."""
    counties = len(finding.surges)
    widespread = counties >= policy.cross_region.high_counties
    day = day_label(finding.day)
    hit = RuleHit(
        rule=AlertRule.CROSS_REGION,
        rule_key=f"cross_region:{finding.category}:{day}",
        kind=AlertKind.CROSS_REGION,
        severity=policy.alerts.severity.of(AlertRule.CROSS_REGION, widespread),
        evidence=(
            Fact("counties", counties, policy.cross_region.min_counties),
            *(
                Fact(
                    county_fact(s.county),
                    s.count,
                    s.expected,
                    says="county_surge",
                    about={"expected": s.expected, "surprise": s.surprise},
                )
                for s in finding.surges
            ),
        ),
        about={"category": finding.category, "counties": counties, "day": day},
    )
    about = AlertSubject(None, None, 0.0, SHIJIAZHUANG_CITY, finding.sector)
    return make_alert(hit.rule_key, hit, about, list(finding.event_ids), at_s, policy)
