"""The cross-region agent: one :class:`~detectors.cross_region.CategorySeries` per category."""

from __future__ import annotations

import faust

from detectors.cross_region import CategorySeries, CrossRegionFinding, day_label
from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from pipeline.alerts import AlertSubject, make_alert
from streams.agents.fanout import decode_complaint_counts
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_alert
from streams.app import app
from streams.runtime.channels import complaint_counts
from streams.runtime.tables import bytes_table
from streams.settings import worker_policy
from topics.risk import Alert, county_fact
from topics.vocabulary import SHIJIAZHUANG_CITY, SHIJIAZHUANG_COUNTIES, AlertKind, AlertSeverity

policy = worker_policy()
category_series = bytes_table(
    "category-series",
    "Daily complaint counts and baselines per category and county (detectors.cross_region).",
)


def cross_region_alert(finding: CrossRegionFinding, at_s: float, policy: Policy) -> Alert:
    """One area-wide alert listing each surging county with its count and expected level."""
    counties = len(finding.surges)
    widespread = counties >= 2 * policy.cross_region.min_counties
    day = day_label(finding.day)
    hit = RuleHit(
        rule_key=f"cross_region:{finding.category}:{day}",
        kind=AlertKind.CROSS_REGION,
        severity=AlertSeverity.HIGH if widespread else AlertSeverity.MEDIUM,
        title=f"{finding.category} complaints surging in {counties} counties on {day}",
        evidence=(
            Fact("counties", counties, policy.cross_region.min_counties),
            *(
                Fact(
                    county_fact(s.county),
                    s.count,
                    s.expected,
                    detail=f"{SHIJIAZHUANG_COUNTIES.get(s.county, s.county)}: complaints "
                    f"today against an expected {s.expected:g} a day",
                )
                for s in finding.surges
            ),
        ),
    )
    about = AlertSubject(None, None, 0.0, SHIJIAZHUANG_CITY, finding.sector)
    return make_alert(hit.rule_key, hit, about, list(finding.event_ids), at_s, policy)


def handle_complaint_counts(
    series: CategorySeries | None, value: bytes
) -> tuple[CategorySeries, list[Alert]]:
    series = series if series is not None else CategorySeries()
    raised: list[Alert] = []
    for count in decode_complaint_counts(value):
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


@app.agent(complaint_counts, concurrency=1)
async def detect_cross_region(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        category_series,
        CategorySeries.from_bytes,
        CategorySeries.to_bytes,
        handle_complaint_counts,
        send_alert,
    )
