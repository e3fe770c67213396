"""Every alert is built here: a detector's :class:`~detectors.rules.RuleHit`
becomes the :class:`~topics.risk.Alert` record the alert manager receives, and
so does the candidate that counts an alert in a daily digest (pipeline/digests.py).

The per-subject step, the workflows and the group detectors (peers,
cross-sector, cross-region) decide *that* an alert is due, with its rule, its
severity (the policy's, for that rule) and its evidence; this module gives it
its identity (deterministic, so a replay re-creates the same alert), its
titles (pipeline/alert_titles.py), its subject and the policy version it was
decided under.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detectors.policy import Policy
from detectors.rules import RuleHit
from detectors.scoring import Fact
from detectors.state import SubjectState
from pipeline.alert_titles import fact_words, titles
from topics.internal import BasisFact
from topics.risk import Alert, Evidence
from topics.vocabulary import AlertKind, AlertSeverity, AlertStatus, Disposition, Sector, Tier


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


def carried_basis(facts: tuple[Fact, ...]) -> tuple[BasisFact, ...]:
    """A listing's basis as the messages that carry it on hold it (to a representative's
    other subjects, to a person's record): each fact's code, value and wording."""
    return tuple(BasisFact(f.fact, f.value, f.says, dict(f.about)) for f in facts)


def basis_fact(carried: BasisFact) -> Fact:
    """A carried basis fact, to word where it arrives."""
    return Fact(carried.fact, carried.value, says=carried.says, about=carried.about)


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


def digest_alert(
    digest_key: str,
    member: Mapping[str, Any],
    titles: tuple[str, str],
    counted: Evidence,
    policy: Policy,
) -> Alert:
    """The candidate that counts ``member`` (an opened alert snapshot) in the digest
    ``digest_key``: an alert about an area (no subject), titled ``titles`` (Chinese,
    English), whose evidence ``counted`` names the member; a board item itself."""
    title_zh, title = titles
    return Alert(
        alert_id=alert_id(digest_key, member["alert_id"]),
        dedup_key=digest_key,
        subject=None,
        kind=AlertKind(member["kind"]),
        severity=AlertSeverity(member["severity"]),
        score=0.0,
        tier=None,
        region=member["region"],
        sector=Sector(member["sector"]),
        title=title,
        title_zh=title_zh,
        evidence=[counted],
        source_event_ids=[member["alert_id"]],  # the alerts it counts, not records
        created_at=datetime.fromisoformat(member["created_at"]),
        status=AlertStatus.OPEN,
        policy_version=policy.version,
        rule=member["rule"],
        disposition=Disposition.BOARD,
    )
