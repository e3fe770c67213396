"""The alert rules by id, and each one's severity and disposition as the policy sets them.

A rule's id names it everywhere: its severity in the policy's
``[alerts.severity]`` table (:class:`Severities`), where its alerts are shown
in ``[alerts.disposition]`` (:class:`Dispositions`), its titles in
``pipeline/alert_titles.py``, and the :class:`~detectors.rules.RuleHit` a
detector raises when it fires. A new rule gets an id here, a severity and a
disposition in ``policy.toml`` and a title; the policy refuses to load without
the severity and the disposition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from detectors.policy_values import PolicyError
from topics.vocabulary import SEVERITY_RANK, AlertSeverity, Disposition


class AlertRule(StrEnum):
    # about one subject, on its own record (detectors/rules.py)
    PENALTY_SERIOUS = "penalty_serious"
    COURT_DISHONEST_DEBTOR = "court_dishonest_debtor"
    LICENCE_REVOKED = "licence_revoked"
    COMPLAINT_SURGE = "complaint_surge"
    IOT_EXCEEDANCES = "iot_exceedances"
    TIER_D = "tier_d"
    IOT_ANOMALY = "iot_anomaly"
    # the supervision workflows (detectors/workflow.py)
    JOINT_PUNISHMENT_LIST = "joint_punishment_list"
    KEY_ATTENTION_LIST = "key_attention_list"
    MARKET_BAN_LIST = "market_ban_list"
    INTERVIEW_DUE = "interview_due"
    OBJECTION_OVERDUE = "objection_overdue"
    COMMITMENT_BREACHED = "commitment_breached"
    LIST_DECISION_OVERDUE = "list_decision_overdue"  # seed 八: 认定 not made in time
    # across subjects (pipeline/peers.py, cross_sector.py, cross_region.py)
    PEER_OUTLIER = "peer_outlier"
    CROSS_SECTOR = "cross_sector"
    CROSS_SECTOR_LINKED = "cross_sector_linked"
    LINKED_LISTING = "linked_listing"
    CROSS_REGION = "cross_region"


@dataclass(frozen=True, slots=True)
class Severities:
    """Each rule's severity: ``(ordinary, strong)``.

    A graded rule is stronger past a bound of its own in the policy
    (``iot.anomaly_high``, ``peers.high_spreads``, ``cross_region.high_counties``,
    ``cross_sector.unusual_share``); for the others both are the same.
    """

    of_rule: Mapping[str, tuple[AlertSeverity, AlertSeverity]] = field(default_factory=dict)

    def of(self, rule: AlertRule, strong: bool = False) -> AlertSeverity:
        ordinary, stronger = self.of_rule[rule]
        return stronger if strong else ordinary


#: Dispositions from the least to the most seen: a strong alert is seen at least as much.
DISPOSITION_RANK = {Disposition.CASE: 0, Disposition.DIGEST: 1, Disposition.BOARD: 2}


@dataclass(frozen=True, slots=True)
class Dispositions:
    """Where each rule's alerts are shown: ``(ordinary, strong)``, graded like its severity."""

    of_rule: Mapping[str, tuple[Disposition, Disposition]] = field(default_factory=dict)

    def of(self, rule: AlertRule, strong: bool = False) -> Disposition:
        ordinary, stronger = self.of_rule[rule]
        return stronger if strong else ordinary


def _every_rule_once(table: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(table) - set(AlertRule))
    if unknown:
        raise PolicyError(f"policy: unknown alert rule '{where}{unknown[0]}'")
    missing = [rule.value for rule in AlertRule if rule.value not in table]
    if missing:
        raise PolicyError(f"policy: missing '{where}{missing[0]}'")


def parse_severities(table: Mapping[str, Any], where: str = "alerts.severity.") -> Severities:
    """``[alerts.severity]``: every rule exactly once, a severity or ``[ordinary, strong]``.

    >>> parse_severities({rule.value: "high" for rule in AlertRule}).of(AlertRule.TIER_D)
    <AlertSeverity.HIGH: 'high'>
    """
    _every_rule_once(table, where)
    return Severities({name: _pair(value, f"{where}{name}") for name, value in table.items()})


def parse_dispositions(
    table: Mapping[str, Any], severities: Severities, where: str = "alerts.disposition."
) -> Dispositions:
    """``[alerts.disposition]``: every rule exactly once, ``board``, ``digest`` or ``case``,
    or ``[ordinary, strong]``. A critical alert is escalated when nobody acknowledges
    it, so it must be on the board; a strong alert is seen at least as much as an
    ordinary one.

    >>> severities = parse_severities({rule.value: "high" for rule in AlertRule})
    >>> table = {rule.value: "board" for rule in AlertRule} | {"peer_outlier": ["digest", "board"]}
    >>> parse_dispositions(table, severities).of(AlertRule.PEER_OUTLIER)
    <Disposition.DIGEST: 'digest'>
    """
    _every_rule_once(table, where)
    parsed: dict[str, tuple[Disposition, Disposition]] = {}
    allowed = ", ".join(d.value for d in Disposition)
    for name, value in table.items():
        key = f"{where}{name}"
        names = value if isinstance(value, list) else [value]
        if len(names) not in (1, 2) or not all(n in set(Disposition) for n in names):
            raise PolicyError(f"policy: '{key}' must be one of {allowed}, or a list of two of them")
        ordinary, strong = Disposition(names[0]), Disposition(names[-1])
        if DISPOSITION_RANK[strong] < DISPOSITION_RANK[ordinary]:
            raise PolicyError(f"policy: '{key}': strong alerts must be seen at least as much")
        for disposition, severity in zip((ordinary, strong), severities.of_rule[name], strict=True):
            if severity is AlertSeverity.CRITICAL and disposition is not Disposition.BOARD:
                raise PolicyError(
                    f"policy: '{key}': a critical alert must go to the board (it is escalated "
                    "when nobody acknowledges it)"
                )
        parsed[name] = (ordinary, strong)
    return Dispositions(parsed)


def _pair(value: Any, key: str) -> tuple[AlertSeverity, AlertSeverity]:
    names = value if isinstance(value, list) else [value]
    allowed = ", ".join(s.value for s in AlertSeverity)
    known = all(isinstance(name, str) and name in SEVERITY_RANK for name in names)
    if len(names) not in (1, 2) or not known:
        raise PolicyError(f"policy: '{key}' must be one of {allowed}, or a list of two of them")
    ordinary, strong = AlertSeverity(names[0]), AlertSeverity(names[-1])
    if SEVERITY_RANK[strong] < SEVERITY_RANK[ordinary]:
        raise PolicyError(f"policy: '{key}': the strong severity is below the ordinary one")
    return ordinary, strong
