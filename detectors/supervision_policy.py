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
from detectors.commitments import CommitmentRules, parse_commitments
from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get
from topics.lists import ListKind
from topics.vocabulary import BanGround, Department, PersonRole, Sector, SubjectType

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
    """A subject enters a list when it has ``count`` published records of one of
    ``signals`` within ``within_s`` (in one of ``sectors``, if given; with a
    finding of major losses, if ``major_loss``).

    ``period_s`` is how long an entry by this rule lasts (None: the list's
    period), ``permanent`` an entry without end (seed 十: 直至永远逐出市场);
    ``ground`` names the seed 十 ground of a market-ban rule.
    """

    signals: tuple[str, ...]
    count: int
    within_s: float
    sectors: frozenset[str] | None = None
    major_loss: bool = False
    period_s: float | None = None
    permanent: bool = False
    ground: str | None = None

    def matches(self, signal: str, sector: str, major_loss: bool) -> bool:
        """Whether a record of ``signal`` in ``sector`` counts towards this rule."""
        return (
            signal in self.signals
            and (self.sectors is None or sector in self.sectors)
            and (major_loss or not self.major_loss)
        )


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


#: What can end a listing before its period: its basis repaired, corrected on
#: objection, or past its publication period (``detectors.listing``).
EXIT_CAUSES = frozenset({"repaired", "objection_upheld", "expired"})


#: When a list's measures apply under its procedure: from the proposal, or from the decision.
MEASURES_FROM = frozenset({"proposal", "decision"})


@dataclass(frozen=True, slots=True)
class ListProcedure:
    """Seed 八 (认定依据、标准、程序): an entry the rules propose is decided by the
    identifying department (the department of its newest basis record, 谁认定)
    within ``decide_within_working_days`` (later, it is escalated); the decision
    gives the subject a notice (告知) and ``statement_working_days`` to state its
    case (陈述申辩); the entry is published when that window ends. Its measures
    apply from the proposal or from the decision (``measures_from``)."""

    decide_within_working_days: int
    statement_working_days: int
    measures_from: str = "decision"


@dataclass(frozen=True, slots=True)
class ListPolicy:
    kind: str  # topics.lists.ListKind value
    period_s: float
    entry: tuple[EntryRule, ...]
    measures: tuple[MeasureSpec, ...]
    unless_listed: tuple[str, ...] = ()  # not entered while on one of these lists
    exits_on: frozenset[str] = EXIT_CAUSES  # the causes that may end it early
    # Seed 十/十一: the people a listing reaches (those holding one of these roles
    # in the subject when it is entered) and the measures on them while it stands.
    person_roles: frozenset[str] = frozenset()
    person_measures: tuple[MeasureSpec, ...] = ()
    procedure: ListProcedure | None = None  # None: entered at once, as the rules say

    def entry_period_s(self, rules: list[EntryRule]) -> float | None:
        """How long an entry by ``rules`` (those met) lasts: the longest; None: no end."""
        if any(rule.permanent for rule in rules):
            return None
        return max(rule.period_s or self.period_s for rule in rules)


@dataclass(frozen=True, slots=True)
class RepairPolicy:
    not_repairable: frozenset[str]  # signals whose records leave only by their own period
    needs_commitment: bool  # a credit-repair commitment made and not breached
    commitment_lookback_s: float
    needs_rectification_done: bool  # no rectification order open or missed
    clean_days: int  # no new record of the same class or worse for this long before applying


@dataclass(frozen=True, slots=True)
class PublicSectorPolicy:
    """Seed 十一: 机关事业单位、国有企业出现违法失信行为的，要通报上级主管单位和审计部门；
    工作人员出现违法失信行为的，要通报所在单位及相关纪检监察、组织人事部门."""

    types: frozenset[str]  # SubjectType values treated as the public sector
    record_classes: frozenset[str]  # an adverse record published in one of these is reported
    lists: frozenset[str]  # an entry onto one of these lists is reported
    notify: tuple[str, ...]  # Department values told of the subject's violation
    # ... told of such a listing that reaches its responsible people (``person_roles``)
    staff_notify: tuple[str, ...]


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
    commitments: CommitmentRules
    public_sector: PublicSectorPolicy
    # the severities of the workflows' alerts: the policy's [alerts.severity]
    alert_severity: Severities = field(default_factory=Severities)

    def publication_of(self, signal: str) -> PublicationClass | None:
        name = self.class_of.get(signal)
        return self.publication[name] if name is not None else None

    def list_policy(self, kind: str) -> ListPolicy:
        return next(spec for spec in self.lists if spec.kind == kind)

    def reaches_people(self, kind: str) -> bool:
        """Whether a listing of ``kind`` reaches the subject's responsible people."""
        return any(spec.kind == kind and spec.person_roles for spec in self.lists)


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


def _entry_rule(rule: dict[str, Any], at: str, signals: set[str], kind: str) -> EntryRule:
    if ("signal" in rule) == ("signals" in rule):
        raise PolicyError(f"policy: '{at}' needs either 'signal' or 'signals'")
    named = [_get(rule, "signal", str, at)] if "signal" in rule else _get(rule, "signals", list, at)
    period_days = _get(rule, "period_days", float, at, default=None)
    parsed = EntryRule(
        signals=tuple(named),
        count=_get(rule, "count", int, at),
        within_s=_get(rule, "within_days", float, at) * SECONDS_PER_DAY,
        sectors=_sectors(rule, at),
        major_loss=_get(rule, "major_loss", bool, at, default=False),
        period_s=None if period_days is None else period_days * SECONDS_PER_DAY,
        permanent=_get(rule, "permanent", bool, at, default=False),
        ground=_get(rule, "ground", str, at, default=None),
    )
    if not parsed.signals or not set(parsed.signals) <= signals or parsed.count < 1:
        raise PolicyError(f"policy: '{at}' needs known signals and count >= 1")
    if parsed.within_s <= 0 or (parsed.period_s is not None and parsed.period_s <= 0):
        raise PolicyError(f"policy: '{at}' needs within_days > 0 and period_days > 0")
    if parsed.permanent and parsed.period_s is not None:
        raise PolicyError(f"policy: '{at}' is permanent or has period_days, not both")
    grounds = {g.value for g in BanGround}
    if kind == ListKind.MARKET_BAN and parsed.ground not in grounds:
        # Seed 十 names the grounds for a ban; the policy may not invent others.
        raise PolicyError(
            f"policy: '{at}ground' must be one of seed 十's grounds: {', '.join(sorted(grounds))}"
        )
    if kind != ListKind.MARKET_BAN and (parsed.ground is not None or parsed.permanent):
        raise PolicyError(f"policy: '{at}': only market bans have grounds and may be permanent")
    return parsed


#: Seed 九's kinds of punishment measure (topics.lists.MeasureCategory, but for incentives).
PUNISHMENTS = ("administrative", "market", "industry")


def parse_measures(
    table: dict[str, Any], key: str, where: str, categories: tuple[str, ...] = PUNISHMENTS
) -> tuple[MeasureSpec, ...]:
    """The measures listed under ``table[key]``, each of one of ``categories``."""
    measures = []
    for index, measure in enumerate(_get(table, key, list, where, default=[])):
        at = f"{where}{key}[{index}]."
        category = _get(measure, "category", str, at)
        if category not in categories:
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
    return tuple(measures)


def _names(table: dict[str, Any], key: str, where: str, known: set[str]) -> frozenset[str]:
    names = frozenset(_get(table, key, list, where, default=[]))
    unknown = sorted(names - known)
    if unknown:
        raise PolicyError(f"policy: '{where}{key}' names unknown {unknown[0]!r}")
    return names


def _list(kind: str, table: dict[str, Any], signals: set[str]) -> ListPolicy:
    where = f"lists.{kind}."
    if kind not in {k.value for k in ListKind}:
        raise PolicyError(f"policy: unknown list 'lists.{kind}'")
    entry = tuple(
        _entry_rule(rule, f"{where}entry[{index}].", signals, kind)
        for index, rule in enumerate(_get(table, "entry", list, where))
    )
    period_days = _get(table, "period_days", float, where)
    if period_days <= 0 or not entry:
        raise PolicyError(f"policy: '{where}' needs period_days > 0 and an entry rule")
    exits_on = _names(table, "exits_on", where, set(EXIT_CAUSES)) if "exits_on" in table else None
    person_roles = _names(table, "person_roles", where, {r.value for r in PersonRole})
    person_measures = parse_measures(table, "person_measures", where)
    if bool(person_roles) != bool(person_measures):
        raise PolicyError(
            f"policy: '{where}' needs both person_roles and person_measures, or neither"
        )
    return ListPolicy(
        kind,
        period_days * SECONDS_PER_DAY,
        entry,
        parse_measures(table, "measures", where),
        tuple(_get(table, "unless_listed", list, where, default=[])),
        EXIT_CAUSES if exits_on is None else exits_on,
        person_roles,
        person_measures,
        _procedure(table["procedure"], f"{where}procedure.") if "procedure" in table else None,
    )


def _procedure(table: dict[str, Any], where: str) -> ListProcedure:
    procedure = ListProcedure(
        decide_within_working_days=_get(table, "decide_within_working_days", int, where),
        statement_working_days=_get(table, "statement_working_days", int, where),
        measures_from=_get(table, "measures_from", str, where, default="decision"),
    )
    if procedure.decide_within_working_days < 1 or procedure.statement_working_days < 1:
        raise PolicyError(f"policy: '{where}' needs at least one working day for each step")
    if procedure.measures_from not in MEASURES_FROM:
        raise PolicyError(f"policy: '{where}measures_from' must be one of {sorted(MEASURES_FROM)}")
    return procedure


def _public_sector(table: dict[str, Any], lists: set[str]) -> PublicSectorPolicy:
    where = "public_sector."
    departments = {d.value for d in Department}
    policy = PublicSectorPolicy(
        types=_names(table, "types", where, {t.value for t in SubjectType}),
        record_classes=_names(table, "record_classes", where, {"minor", "general", "serious"}),
        lists=_names(table, "lists", where, lists),
        notify=tuple(sorted(_names(table, "notify", where, departments))),
        staff_notify=tuple(sorted(_names(table, "staff_notify", where, departments))),
    )
    if policy.types and not policy.notify:
        raise PolicyError("policy: 'public_sector.notify' names nobody to report to")
    return policy


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
    if not {"joint_punishment", "key_attention"} <= known:
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
        commitments=parse_commitments(_get(document, "commitments", dict, ""), signals, class_of),
        public_sector=_public_sector(_get(document, "public_sector", dict, ""), known),
    )
    if min(policy.interview_within_working_days, policy.objection_within_working_days) < 1:
        raise PolicyError("policy: working-day limits must be at least 1")
    if policy.max_closed_items < 1:
        raise PolicyError("policy: 'workflow.max_closed_items' must be at least 1")
    return policy
