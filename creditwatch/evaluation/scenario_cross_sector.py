"""Cross-sector incidents: adverse records from two departments about one subject, or about
two subjects in different sectors that share a legal representative (seed 十一, 十六).

Incidents:

* ``cross_sector_subject``: a penalty, failed spot check or interview from the
  subject's own supervising department and, the same day up to ten days apart
  (in either order), a tax violation, a court dishonest-debtor ruling or an
  abnormal-operation listing from another department. Every other incident
  leaves the legal representative out of the records, as departments that do
  not collect it do, so the subject is its own linkage group; the others carry
  a representative nobody else has.
* ``cross_sector_legal_rep``: two subjects of one representative (shared with
  nobody else), in sectors supervised by different departments, each with one
  adverse record from its own department, the same day up to ten days apart.

Controls: one subject with three adverse records all from one department; one
adverse record plus positive records from other departments; positive records
only (honours, voluntary registration, kept commitments); two subjects of one
representative in one sector, fined by the same department; two subjects of
one representative in different sectors of which only one has an adverse record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from creditwatch.embedded import embedded_pseudonym_key
from creditwatch.evaluation.scenario_cast import Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import Control, Incident, IncidentKind, ScenarioRecord
from creditwatch.simulation.population import Subject
from creditwatch.simulation.traffic import SECTOR_DEPARTMENT, department_for
from detectors.cross_sector import linkage_group
from detectors.policy import CrossSectorPolicy
from streams.settings import pseudonym_secret
from topics.vocabulary import (
    CommitmentKind,
    EnforcementKind,
    Sector,
    Severity,
    SpotCheckResult,
)

SUBJECT = IncidentKind.CROSS_SECTOR_SUBJECT
LEGAL_REP = IncidentKind.CROSS_SECTOR_LEGAL_REP
_K = EnforcementKind
#: Adverse records a subject's own supervising department makes, with their required fields.
OWN_DEPARTMENT: tuple[tuple[EnforcementKind, dict[str, Any]], ...] = (
    (_K.PENALTY, {"severity": Severity.GENERAL.value, "amount": 20_000.0}),
    (_K.PENALTY, {"severity": Severity.MINOR.value, "amount": 2_000.0}),
    (_K.SPOT_CHECK, {"result": SpotCheckResult.PROBLEMS_FOUND.value}),
    (_K.INTERVIEW, {}),
)
#: Adverse records from departments with a fixed role (see traffic.KIND_DEPARTMENT).
OTHER_DEPARTMENT: tuple[tuple[EnforcementKind, dict[str, Any]], ...] = (
    (_K.TAX_VIOLATION, {"amount": 48_000.0}),
    (_K.COURT_DISHONEST_DEBTOR, {"amount": 350_000.0}),
    (_K.ABNORMAL_OPERATION_LISTED, {}),
)
GAP_DAYS = (0, 10)  # between the two records: the same day up to ten days
OTHER_FIRST_SHARE = 0.3  # the other department's record comes first


def cross_sector_key(subject: str, legal_rep_id: str | None) -> str:
    """The dedup key of the alert, through the detector's own (pseudonymising) grouping,
    keyed as the workers this run starts are (:func:`embedded_pseudonym_key`)."""
    key = pseudonym_secret(embedded_pseudonym_key())
    return f"cross_sector:{linkage_group(subject, legal_rep_id, key)}"


def _keys(subject: Subject) -> tuple[str, ...]:
    """Both groupings a control subject could wrongly be alerted under."""
    return (
        cross_sector_key(subject.uscc, subject.legal_rep_id),
        cross_sector_key(subject.uscc, None),
    )


def _window(cast: Cast, timeline: Timeline) -> tuple[datetime, datetime]:
    """Two office-hour moments 0–10 days apart, in order, both inside the scenario."""
    rng = cast.rng
    gap = rng.randint(GAP_DAYS[0], min(GAP_DAYS[1], timeline.days - 2))
    first = rng.randint(1, max(1, timeline.days - 1 - gap))
    moments = sorted((timeline.office_hours(rng, first), timeline.office_hours(rng, first + gap)))
    return moments[0], moments[1]


def _adverse(
    cast: Cast,
    subject: Subject,
    at: datetime,
    options: tuple[tuple[EnforcementKind, dict[str, Any]], ...],
    *,
    label: str | None,
    with_rep: bool = True,
    exclude: str | None = None,
) -> ScenarioRecord:
    """One adverse record of a kind in ``options`` whose department is not ``exclude``."""
    usable = [o for o in options if department_for(o[0], subject).value != exclude]
    kind, fields = cast.rng.choice(usable)
    return cast.enforcement(subject, kind, at, label=label, with_rep=with_rep, **fields)


def _hours(gap: timedelta) -> str:
    return f"{gap / timedelta(hours=1):.0f} h"


def _department(record: ScenarioRecord) -> str:
    return str(orjson.loads(record.value)["department"])


def _subject_incident(
    cast: Cast, timeline: Timeline, policy: CrossSectorPolicy, label: str, with_rep: bool
) -> Injection:
    sector = cast.rng.choice(list(Sector))
    subject = cast.subject(sector, cast.county(sector))
    first, second = _window(cast, timeline)
    if cast.rng.random() < OTHER_FIRST_SHARE:
        first, second = second, first
    own = _adverse(cast, subject, first, OWN_DEPARTMENT, label=label, with_rep=with_rep)
    other = _adverse(
        cast, subject, second, OTHER_DEPARTMENT, label=label, with_rep=with_rep,
        exclude=_department(own),
    )  # fmt: skip
    start = min(own.at, other.at)
    earlier, later = sorted((own, other), key=lambda r: r.at)
    incident = Incident(
        label=label,
        kind=SUBJECT,
        dedup_key=cross_sector_key(subject.uscc, subject.legal_rep_id if with_rep else None),
        start=start,
        end=start + timedelta(seconds=policy.window_s),
        subjects=(subject.uscc,),
        detail=(
            f"{_department(earlier)} then {_department(later)} "
            f"{_hours(later.at - earlier.at)} later"
            + ("" if with_rep else "; no legal representative in the records")
        ),
    )
    records = cast.ambient(subject, timeline, with_rep=with_rep) + [own, other]
    return Injection(records, [incident], [])


def _sector_pair(cast: Cast) -> tuple[Sector, Sector]:
    """Two sectors supervised by different departments."""
    pairs = [
        (a, b) for a in Sector for b in Sector if SECTOR_DEPARTMENT[a] is not SECTOR_DEPARTMENT[b]
    ]
    return cast.rng.choice(pairs)


def _rep_incident(
    cast: Cast, timeline: Timeline, policy: CrossSectorPolicy, label: str
) -> Injection:
    first_sector, second_sector = _sector_pair(cast)
    rep = cast.new_rep()
    one = cast.subject(first_sector, cast.county(first_sector), rep=rep)
    two = cast.subject(second_sector, cast.county(second_sector), rep=rep)
    first, second = _window(cast, timeline)
    a = _adverse(cast, one, first, OWN_DEPARTMENT, label=label)
    b = _adverse(cast, two, second, OWN_DEPARTMENT, label=label)
    incident = Incident(
        label=label,
        kind=LEGAL_REP,
        dedup_key=cross_sector_key(one.uscc, rep),
        start=a.at,
        end=a.at + timedelta(seconds=policy.window_s),
        subjects=(one.uscc, two.uscc),
        detail=(
            f"representative {rep}: {first_sector.value} ({_department(a)}) and "
            f"{second_sector.value} ({_department(b)}) {_hours(second - first)} apart"
        ),
    )
    records = cast.ambient(one, timeline) + cast.ambient(two, timeline) + [a, b]
    return Injection(records, [incident], [])


# --------------------------------------------------------------------------- controls


def _one_department(cast: Cast, timeline: Timeline, label: str) -> Injection:
    sector = cast.rng.choice(list(Sector))
    subject = cast.subject(sector, cast.county(sector))
    first, second = _window(cast, timeline)
    records = cast.ambient(subject, timeline) + [
        cast.enforcement(subject, kind, at, **fields)
        for (kind, fields), at in zip(
            OWN_DEPARTMENT[1:], (first, first + timedelta(hours=2), second), strict=True
        )
    ]
    detail = f"three adverse records, all from {SECTOR_DEPARTMENT[sector].value}"
    return _control(SUBJECT, label, (subject,), detail, records, near_miss=True)


def _positive_elsewhere(cast: Cast, timeline: Timeline, label: str) -> Injection:
    sector = cast.rng.choice(list(Sector))
    subject = cast.subject(sector, cast.county(sector))
    first, second = _window(cast, timeline)
    records = cast.ambient(subject, timeline) + [
        _adverse(cast, subject, first, OWN_DEPARTMENT, label=None),
        cast.enforcement(subject, _K.VOLUNTARY_REGISTRATION, second),
    ]
    detail = "one adverse record, then a positive one from government services"
    return _control(SUBJECT, label, (subject,), detail, records, near_miss=True)


def _positive_only(cast: Cast, timeline: Timeline, label: str) -> Injection:
    sector = cast.rng.choice(list(Sector))
    subject = cast.subject(sector, cast.county(sector))
    first, second = _window(cast, timeline)
    kept = CommitmentKind.APPROVAL_SUBSTITUTION.value
    records = cast.ambient(subject, timeline) + [
        cast.enforcement(subject, _K.HONOUR, first),
        cast.enforcement(subject, _K.VOLUNTARY_REGISTRATION, first + timedelta(hours=1)),
        cast.enforcement(subject, _K.COMMITMENT_FULFILLED, second, commitment_kind=kept),
    ]
    detail = "positive records only, from three departments"
    return _control(SUBJECT, label, (subject,), detail, records)


def _rep_same_sector(cast: Cast, timeline: Timeline, label: str) -> Injection:
    sector = cast.rng.choice(list(Sector))
    rep = cast.new_rep()
    subjects = [cast.subject(sector, cast.county(sector), rep=rep) for _ in range(2)]
    first, second = _window(cast, timeline)
    records = [r for s in subjects for r in cast.ambient(s, timeline)] + [
        _adverse(cast, s, at, OWN_DEPARTMENT[:2], label=None)
        for s, at in zip(subjects, (first, second), strict=True)
    ]
    detail = f"one representative, two {sector.value} subjects penalised by one department"
    return _control(LEGAL_REP, label, subjects, detail, records, near_miss=True)


def _rep_one_adverse(cast: Cast, timeline: Timeline, label: str) -> Injection:
    first_sector, second_sector = _sector_pair(cast)
    rep = cast.new_rep()
    one = cast.subject(first_sector, cast.county(first_sector), rep=rep)
    two = cast.subject(second_sector, cast.county(second_sector), rep=rep)
    first, second = _window(cast, timeline)
    records = (
        cast.ambient(one, timeline)
        + cast.ambient(two, timeline)
        + [
            _adverse(cast, one, first, OWN_DEPARTMENT, label=None),
            cast.enforcement(two, _K.HONOUR, second),
        ]
    )
    detail = "one representative, two sectors, but only one adverse record"
    return _control(LEGAL_REP, label, [one, two], detail, records, near_miss=True)


def _control(
    kind: IncidentKind,
    label: str,
    subjects: tuple[Subject, ...] | list[Subject],
    detail: str,
    records: list[ScenarioRecord],
    *,
    near_miss: bool = False,
) -> Injection:
    keys = tuple(dict.fromkeys(k for s in subjects for k in _keys(s)))
    control = Control(label, kind, keys, tuple(s.uscc for s in subjects), detail, near_miss)
    return Injection(records, [], [control])


ControlMaker = Callable[[Cast, Timeline, str], Injection]
CONTROLS: dict[IncidentKind, tuple[ControlMaker, ...]] = {
    SUBJECT: (_one_department, _positive_elsewhere, _positive_only),
    LEGAL_REP: (_rep_same_sector, _rep_one_adverse),
}


def inject_cross_sector(
    cast: Cast,
    timeline: Timeline,
    policy: CrossSectorPolicy,
    kind: IncidentKind,
    incidents: int,
    controls: int,
) -> Injection:
    """``incidents`` incidents of ``kind`` and ``controls`` controls, cycling through variants."""
    injection = Injection()
    for n in range(1, incidents + 1):
        label = f"{kind.value}-{n:02d}"
        if kind is SUBJECT:
            injection.extend(_subject_incident(cast, timeline, policy, label, n % 2 == 0))
        else:
            injection.extend(_rep_incident(cast, timeline, policy, label))
    makers = CONTROLS[kind]
    for n in range(controls):
        injection.extend(
            makers[n % len(makers)](cast, timeline, f"{kind.value}-control-{n + 1:02d}")
        )
    return injection
