"""The scripted part of a scenario: its own subjects, its time line, and what injecting returns.

Incidents and controls happen to *cast* subjects, created here next to the
simulated city rather than picked from it. The city's subjects have hidden risk
profiles that make bad things happen to them at random (complaint bursts,
excursions, penalties); a label on one of them could be contradicted by the
background traffic, and the score would then measure the simulator, not the
detectors. Cast subjects get only what the scenario writes for them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from creditwatch.evaluation.scenario_labels import Control, Incident, ScenarioRecord
from creditwatch.simulation.population import Device, DeviceSpec, RiskProfile, Subject, make_uscc
from creditwatch.simulation.traffic import (
    SHANGHAI,
    Draft,
    complaint_draft,
    department_for,
    document_reference,
    enforcement_draft,
)
from topics.vocabulary import (
    SHIJIAZHUANG_COUNTIES,
    ComplaintCategory,
    ComplaintKind,
    Department,
    EnforcementKind,
    Sector,
    SpotCheckResult,
)

COUNTIES = tuple(SHIJIAZHUANG_COUNTIES)
#: Legal representatives of cast subjects: a prefix the city's ids ("LR" + 9 digits) never have.
REP_PREFIX = "LRSCN"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Simulated days from ``start`` (midnight, Asia/Shanghai), in event time."""

    start: datetime
    days: int

    def at(self, day: float, hour: float = 0.0) -> datetime:
        return self.start + timedelta(days=day, hours=hour)

    @property
    def end(self) -> datetime:
        return self.at(self.days)

    def office_hours(self, rng: random.Random, day: int) -> datetime:
        """A whole second of a working day, when departments record and consumers call 12315.

        Whole seconds: records carry milliseconds, and a label's start must be
        exactly the event time the pipeline reads back.
        """
        return self.at(day, rng.uniform(8.5, 17.5)).replace(microsecond=0)

    @staticmethod
    def day_label(moment: datetime) -> str:
        """The Asia/Shanghai calendar day, as cross-region dedup keys spell it."""
        return moment.astimezone(SHANGHAI).date().isoformat()


@dataclass(slots=True)
class Injection:
    """Records plus the ground truth they carry."""

    records: list[ScenarioRecord] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)

    def extend(self, other: Injection) -> None:
        self.records.extend(other.records)
        self.incidents.extend(other.incidents)
        self.controls.extend(other.controls)


class Cast:
    """Creates scripted subjects that collide with nothing in the city, and their records.

    :meth:`empty_group` reserves a (sector, county) peer group for one incident,
    so no other scripted subject joins it and changes the peers' statistics.
    """

    def __init__(self, rng: random.Random, city: Sequence[Subject]) -> None:
        self.rng = rng
        self.subjects: list[Subject] = []
        self._usccs = {s.uscc for s in city}
        self._city_groups = {(s.sector, s.region) for s in city}
        self._reserved: set[tuple[Sector, str]] = set()
        self._reps = 0
        self._events = 0
        self._documents = 0

    def new_rep(self) -> str:
        self._reps += 1
        return f"{REP_PREFIX}{self._reps:06d}"

    def subject(
        self,
        sector: Sector,
        region: str,
        *,
        rep: str | None = None,
        specs: Iterable[DeviceSpec] = (),
    ) -> Subject:
        """A new clean subject; ``rep`` shares a representative, else it gets its own."""
        uscc = make_uscc(self.rng, "91", region)
        while uscc in self._usccs:
            uscc = make_uscc(self.rng, "91", region)
        self._usccs.add(uscc)
        devices = tuple(
            Device(f"{spec.prefix}-{uscc}-{n:02d}", spec) for n, spec in enumerate(specs, 1)
        )
        subject = Subject(uscc, sector, region, rep or self.new_rep(), RiskProfile.CLEAN, devices)
        self.subjects.append(subject)
        return subject

    def county(self, sector: Sector) -> str:
        """A county where ``sector`` has no reserved peer group."""
        free = [c for c in COUNTIES if (sector, c) not in self._reserved]
        return self.rng.choice(free)

    def sector_in(self, county: str, sectors: Sequence[Sector]) -> Sector:
        """One of ``sectors`` whose peer group in ``county`` is not reserved."""
        free = [s for s in sectors if (s, county) not in self._reserved]
        return self.rng.choice(free or [s for s in Sector if (s, county) not in self._reserved])

    def empty_group(self, sectors: Sequence[Sector]) -> tuple[Sector, str]:
        """Reserve a (sector, county) that no city subject belongs to.

        A labelled peer group must hold only scripted peers: the city's risky
        subjects get complaint bursts that would widen the peers' spread.
        """
        options = [
            (sector, county)
            for sector in sectors
            for county in COUNTIES
            if (sector, county) not in self._city_groups | self._reserved
        ]
        if not options:
            raise ValueError("no empty peer group left: use fewer subjects or incidents")
        group = self.rng.choice(options)
        self._reserved.add(group)
        return group

    def event_id(self, label: str) -> str:
        self._events += 1
        return f"scenario-{label}-{self._events:05d}"

    # -- records, built with the simulator's own payload code

    def record(self, draft: Draft, at: datetime, label: str | None = None) -> ScenarioRecord:
        if at.microsecond % 1000:
            raise ValueError(f"{at} has sub-millisecond digits that its record would lose")
        return ScenarioRecord(at, draft.topic, draft.key, draft.encode(), label)

    def enforcement(
        self,
        subject: Subject,
        kind: EnforcementKind,
        at: datetime,
        *,
        label: str | None = None,
        with_rep: bool = True,
        department: Department | None = None,
        **fields: object,
    ) -> ScenarioRecord:
        """A department record; ``with_rep=False`` leaves the representative out, as
        departments that do not collect it do (the subject is then its own group)."""
        department = department or department_for(kind, subject)
        self._documents += 1
        reference = document_reference(department, kind, at, self._documents)
        event_id = self.event_id(label or "ambient")
        draft = enforcement_draft(subject, kind, department, at, event_id, reference)
        draft.payload.update(fields)
        if not with_rep:
            draft.payload.pop("legal_rep_id", None)
        return self.record(draft, at, label)

    def complaint(
        self,
        subject: Subject,
        category: ComplaintCategory,
        at: datetime,
        *,
        kind: ComplaintKind = ComplaintKind.COMPLAINT,
        label: str | None = None,
    ) -> ScenarioRecord:
        event_id = self.event_id(label or "ambient")
        draft = complaint_draft(self.rng, subject, category, at, event_id, kind=kind)
        return self.record(draft, at, label)

    def ambient(
        self, subject: Subject, timeline: Timeline, *, first_day: int = 0, with_rep: bool = True
    ) -> list[ScenarioRecord]:
        """Unremarkable traffic that makes ``subject`` known to the pipeline early.

        A passed spot check on one of the first days (so peer groups count the
        subject before any incident), and sometimes an enquiry to 12315, which
        does not count as a complaint.
        """
        rng = self.rng
        day = min(first_day + rng.randint(0, 1), timeline.days - 1)
        records = [
            self.enforcement(
                subject,
                EnforcementKind.SPOT_CHECK,
                timeline.office_hours(rng, day),
                with_rep=with_rep,
                result=SpotCheckResult.PASSED.value,
            )
        ]
        if rng.random() < 0.5:
            category = rng.choice(list(ComplaintCategory))
            at = timeline.office_hours(rng, rng.randrange(timeline.days))
            records.append(self.complaint(subject, category, at, kind=ComplaintKind.ENQUIRY))
        return records
