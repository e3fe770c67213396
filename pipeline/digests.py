"""Daily digests: one board item a day per rule, county and sector, instead of N alerts.

The alert manager's step (pipeline/alert_manager.py) gives every alert the
disposition its rule has in the policy (``[alerts.disposition]``). An alert
whose disposition is ``digest`` stays in its subject's alert history, off the
board; when it opens, unmuted, the manager also sends a candidate naming it to
the digest of its rule, county, sector and day. That digest is an alert like
any other (subject null, keyed by its dedup key), so the book that owns it
(detectors/alert_book.py) counts what it stands for (``count``), lists the
subjects in its evidence, and takes acknowledgements, resolutions and silences.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detectors.alert_rules import AlertRule
from detectors.calendar import WorkingCalendar
from detectors.policy import Policy
from detectors.scoring import Fact
from pipeline.alert_titles import digest_titles, fact_words
from pipeline.alerts import alert_id
from topics.risk import Alert, Evidence, digest_key, subject_fact
from topics.vocabulary import AlertKind, AlertSeverity, AlertStatus, Disposition, Sector


def digest_key_of(alert: Mapping[str, Any], calendar: WorkingCalendar) -> str:
    """The dedup key of the digest an alert (wire dict) is counted in: its rule, county,
    sector and the day it was created, in the policy's time zone."""
    day = calendar.iso_date(datetime.fromisoformat(alert["created_at"]).timestamp())
    return digest_key(str(alert["rule"]), alert["region"], alert["sector"], day)


def counts_in_digest(snapshot: Mapping[str, Any]) -> bool:
    """Whether a snapshot is an alert just opened into a digest (a muted one is not counted)."""
    return (
        snapshot["event"] == "opened"
        and snapshot.get("disposition") == Disposition.DIGEST.value
        and snapshot["muted_by"] is None
    )


def digest_candidate(member: Mapping[str, Any], policy: Policy) -> Alert:
    """The candidate that counts ``member`` (an opened alert snapshot) in its digest."""
    key = member["digest_key"]
    day = key.rsplit(":", 1)[1]
    rule = AlertRule(member["rule"])
    title_zh, title = digest_titles(rule, member["region"], member["sector"], day)
    fact = subject_fact(member["subject"] or member["dedup_key"])
    (label_zh, label), _ = fact_words(Fact(fact, 1.0))
    named = Evidence(
        fact=fact,
        value=1.0,  # alerts of this subject in the digest; the book adds them up
        detail=member["title"],  # the alert's own title, in each language
        detail_zh=member.get("title_zh"),
        label=label,
        label_zh=label_zh,
    )
    return Alert(
        alert_id=alert_id(key, member["alert_id"]),
        dedup_key=key,
        subject=None,
        kind=AlertKind(member["kind"]),
        severity=AlertSeverity(member["severity"]),
        score=0.0,
        tier=None,
        region=member["region"],
        sector=Sector(member["sector"]),
        title=title,
        title_zh=title_zh,
        evidence=[named],
        source_event_ids=[member["alert_id"]],  # the alerts it counts, not records
        created_at=datetime.fromisoformat(member["created_at"]),
        status=AlertStatus.OPEN,
        policy_version=policy.version,
        rule=member["rule"],
        disposition=Disposition.BOARD,
    )
