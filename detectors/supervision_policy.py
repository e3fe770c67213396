"""The supervision-workflow part of the policy file: periods, list criteria, measures.

Parsed from the same versioned ``policy.toml`` as the scores (one file, one
version), by :func:`parse_supervision`, with the same validation style:
a bad value is rejected at start-up with the key that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detectors.alert_rules import Severities
from detectors.calendar import WorkingCalendar
from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get
from topics.vocabulary import Sector

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class PublicationClass:
    """NDRC Order 36: how long a record of this class is published, and the least
    time that must pass before its credit can be repaired."""

    name: str
    min_days: int
    max_days: int


@dataclass(frozen=True, slots=True)
class EntryRule:
    """A subject enters a list when it has ``count`` published records of
    ``signal`` within ``within_s`` (in one of ``sectors``, if given)."""

    signal: str
    count: int
    within_s: float
    sectors: frozenset[str] | None = None

    def describe(self) -> str:
        where = f" in {', '.join(sorted(self.sectors))}" if self.sectors else ""
        days = self.within_s / SECONDS_PER_DAY
        return f"{self.count} × {self.signal} within {days:g} days{where}"


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """A joint-punishment measure (seed 九/十) and the approval actions it restricts."""

    code: str
    category: str  # topics.lists.MeasureCategory value
    description: str
    actions: frozenset[str]
    sectors: frozenset[str] | None = None  # None: whatever the subject's sector

    def applies_to(self, sector: str) -> bool:
        return self.sectors is None or sector in self.sectors


@dataclass(frozen=True, slots=True)
class ListPolicy:
    kind: str  # topics.lists.ListKind value
    period_s: float
    entry: tuple[EntryRule, ...]
    measures: tuple[MeasureSpec, ...]
    unless_listed: tuple[str, ...] = ()  # not entered while on one of these lists


@dataclass(frozen=True, slots=True)
class RepairPolicy:
    not_repairable: frozenset[str]  # signals whose records leave only by their own period
    needs_commitment: bool  # a credit-repair commitment made and not breached
    commitment_lookback_s: float
    needs_rectification_done: bool  # no rectification order open or missed
    clean_days: int  # no new record of the same class or worse for this long before applying


@dataclass(frozen=True, slots=True)
class SupervisionPolicy:
    calendar: WorkingCalendar
    publication: dict[str, PublicationClass]  # by class name
    class_of: dict[str, str]  # signal -> publication class
    lists: tuple[ListPolicy, ...]  # in order of precedence
    interview_within_working_days: int
    objection_within_working_days: int
    counts_while_disputed: bool
    repair: RepairPolicy
    max_closed_items: int
    # the severities of the workflows' alerts: the policy's [alerts.severity]
    alert_severity: Severities = field(default_factory=Severities)

    def publication_of(self, signal: str) -> PublicationClass | None:
        name = self.class_of.get(signal)
        return self.publication[name] if name is not None else None

    def list_policy(self, kind: str) -> ListPolicy:
        return next(spec for spec in self.lists if spec.kind == kind)


def _dates(table: dict[str, Any], key: str, where: str) -> frozenset[date]:
    days = _get(table, key, list, where, default=[])
    try:
        return frozenset(day if isinstance(day, date) else date.fromisoformat(day) for day in days)
    except (TypeError, ValueError):
        raise PolicyError(f"policy: '{where}{key}' must be a list of dates") from None


def _calendar(table: dict[str, Any]) -> WorkingCalendar:
    name = _get(table, "timezone", str, "calendar.")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(f"policy: 'calendar.timezone' {name!r} is unknown") from None
    holidays = _dates(table, "holidays", "calendar.")
    worked = _dates(table, "working_weekend_days", "calendar.")
    if holidays & worked:
        raise PolicyError("policy: a day is both a holiday and a working weekend day")
    return WorkingCalendar(zone, holidays, worked)


def _sectors(table: dict[str, Any], where: str) -> frozenset[str] | None:
    if "sectors" not in table:
        return None
    names = frozenset(_get(table, "sectors", list, where))
    unknown = names - {s.value for s in Sector}
    if unknown:
        raise PolicyError(f"policy: unknown sectors {sorted(unknown)} in '{where}'")
    return names


def _list(kind: str, table: dict[str, Any], signals: set[str]) -> ListPolicy:
    where = f"lists.{kind}."
    entry = []
    for index, rule in enumerate(_get(table, "entry", list, where)):
        at = f"{where}entry[{index}]."
        parsed = EntryRule(
            signal=_get(rule, "signal", str, at),
            count=_get(rule, "count", int, at),
            within_s=_get(rule, "within_days", float, at) * SECONDS_PER_DAY,
            sectors=_sectors(rule, at),
        )
        if parsed.signal not in signals or parsed.count < 1 or parsed.within_s <= 0:
            raise PolicyError(
                f"policy: '{at}' needs a known signal, count >= 1 and within_days > 0"
            )
        entry.append(parsed)
    measures = []
    for index, measure in enumerate(_get(table, "measures", list, where)):
        at = f"{where}measures[{index}]."
        category = _get(measure, "category", str, at)
        if category not in ("administrative", "market", "industry"):
            raise PolicyError(f"policy: '{at}category' {category!r} is unknown")
        measures.append(
            MeasureSpec(
                code=_get(measure, "code", str, at),
                category=category,
                description=_get(measure, "description", str, at),
                actions=frozenset(_get(measure, "actions", list, at)),
                sectors=_sectors(measure, at),
            )
        )
    period_days = _get(table, "period_days", float, where)
    if period_days <= 0 or not entry:
        raise PolicyError(f"policy: '{where}' needs period_days > 0 and an entry rule")
    unless = tuple(_get(table, "unless_listed", list, where, default=[]))
    return ListPolicy(kind, period_days * SECONDS_PER_DAY, tuple(entry), tuple(measures), unless)


def parse_supervision(document: dict[str, Any], signals: set[str]) -> SupervisionPolicy:
    """Build the supervision policy from a parsed policy document."""
    publication_table = _get(document, "publication", dict, "")
    classes: dict[str, PublicationClass] = {}
    for name in ("minor", "general", "serious"):
        table = _get(publication_table, name, dict, "publication.")
        where = f"publication.{name}."
        spec = PublicationClass(
            name, _get(table, "min_days", int, where), _get(table, "max_days", int, where)
        )
        if not 0 <= spec.min_days <= spec.max_days or spec.max_days == 0:
            raise PolicyError(f"policy: need 0 <= '{where}min_days' <= max_days > 0")
        classes[name] = spec
    class_of = _get(publication_table, "class_of", dict, "publication.")
    for signal, name in class_of.items():
        if signal not in signals or name not in classes:
            raise PolicyError(
                f"policy: 'publication.class_of.{signal}' needs a known signal and class"
            )
    lists_table = _get(document, "lists", dict, "")
    lists = tuple(_list(kind, table, signals) for kind, table in lists_table.items())
    known = {spec.kind for spec in lists}
    if known != {"joint_punishment", "key_attention"}:
        raise PolicyError("policy: 'lists' must define joint_punishment and key_attention")
    workflow = _get(document, "workflow", dict, "")
    repair = _get(document, "repair", dict, "")
    policy = SupervisionPolicy(
        calendar=_calendar(_get(document, "calendar", dict, "")),
        publication=classes,
        class_of=dict(class_of),
        lists=lists,
        interview_within_working_days=_get(
            workflow, "interview_within_working_days", int, "workflow."
        ),
        objection_within_working_days=_get(
            workflow, "objection_within_working_days", int, "workflow."
        ),
        counts_while_disputed=_get(workflow, "counts_while_disputed", bool, "workflow."),
        repair=RepairPolicy(
            not_repairable=frozenset(_get(repair, "not_repairable", list, "repair.")),
            needs_commitment=_get(repair, "needs_commitment", bool, "repair."),
            commitment_lookback_s=_get(repair, "commitment_lookback_days", float, "repair.")
            * SECONDS_PER_DAY,
            needs_rectification_done=_get(repair, "needs_rectification_done", bool, "repair."),
            clean_days=_get(repair, "clean_days", int, "repair."),
        ),
        max_closed_items=_get(workflow, "max_closed_items", int, "workflow."),
    )
    if min(policy.interview_within_working_days, policy.objection_within_working_days) < 1:
        raise PolicyError("policy: working-day limits must be at least 1")
    if policy.max_closed_items < 1:
        raise PolicyError("policy: 'workflow.max_closed_items' must be at least 1")
    return policy
