"""Every alert is built here: a detector's :class:`~detectors.rules.RuleHit`
becomes the :class:`~topics.risk.Alert` record the alert manager receives.

The per-subject step, the workflows and the group detectors (peers,
cross-sector, cross-region) decide *that* an alert is due, with its rule, its
severity (the policy's, for that rule) and its evidence; this module gives it
its identity (deterministic, so a replay re-creates the same alert), its
titles (pipeline/alert_titles.py), its subject and the policy version it was
decided under.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from detectors.state import SubjectState
from pipeline.alert_titles import fact_words, titles
from topics.risk import Alert, Evidence
from topics.vocabulary import AlertStatus, Sector, Tier


def evidence_of(facts: tuple[Fact, ...]) -> list[Evidence]:
    """The facts as evidence, each labelled and explained in Chinese and English."""
    return [evidence(fact) for fact in facts]


def evidence(fact: Fact) -> Evidence:
    (label_zh, label), explained = fact_words(fact)
    detail_zh, detail = explained if explained is not None else (None, None)
    return Evidence(
        fact=fact.fact,
        value=fact.value,
        threshold=fact.threshold,
        detail=detail,
        detail_zh=detail_zh,
        label=label,
        label_zh=label_zh,
    )


def alert_id(dedup_key: str, event_id: str) -> str:
    """Deterministic, so a replay re-creates the same alert instead of a new one."""
    return hashlib.blake2b(f"{dedup_key}|{event_id}".encode(), digest_size=10).hexdigest()


@dataclass(frozen=True, slots=True)
class AlertSubject:
    """What an alert is about: a subject (with its tier and score) or, if
    ``subject`` is None, an area (cross-region alerts)."""

    subject: str | None
    tier: str | None
    score: float
    region: str
    sector: str


def make_alert(
    dedup_key: str,
    hit: RuleHit,
    about: AlertSubject,
    event_ids: list[str],
    at_s: float,
    policy: Policy,
) -> Alert:
    """An alert for ``hit`` caused by ``event_ids`` (the last one triggered it) at ``at_s``."""
    title_zh, title = titles(hit)
    return Alert(
        alert_id=alert_id(dedup_key, event_ids[-1]),
        dedup_key=dedup_key,
        subject=about.subject,
        kind=hit.kind,
        severity=hit.severity,
        score=about.score,
        tier=Tier(about.tier) if about.tier is not None else None,
        region=about.region,
        sector=Sector(about.sector),
        title=title,
        title_zh=title_zh,
        rule=hit.rule.value,
        evidence=evidence_of(hit.evidence),
        source_event_ids=event_ids,
        created_at=datetime.fromtimestamp(at_s, UTC),
        status=AlertStatus.OPEN,
        policy_version=policy.version,
    )


def subject_alert(
    subject: str, state: SubjectState, hit: RuleHit, event_id: str, at_s: float, policy: Policy
) -> Alert:
    """An alert on one subject for ``hit``, caused by event ``event_id`` at ``at_s``,
    on the subject's updated state."""
    assert state.tier is not None, "a subject is tiered on its first event"
    about = AlertSubject(subject, state.tier, state.score, state.region, state.sector)
    return make_alert(f"{subject}:{hit.rule_key}", hit, about, [event_id], at_s, policy)
