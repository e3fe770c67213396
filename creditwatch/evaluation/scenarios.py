"""Labelled supervision scenarios: the simulated city plus injected incidents and controls.

``creditwatch eval scenarios`` asks whether the pipeline raises the alerts a
supervision centre needs, for every kind of incident, and nothing on subjects
that did nothing. :func:`build_scenario` produces, for a seed, the time-ordered
input records of a few simulated weeks:

* **background**: the simulator's city (:class:`~creditwatch.simulation.traffic.Simulator`)
  on a stepping clock, ``background_per_day`` records per simulated day;
* **incidents** of every :class:`IncidentKind` (see the ``scenario_*`` modules),
  each labelled with the alert that should detect it and when it began;
* **controls**: clean subjects and devices, and near misses just under a
  threshold, labelled with alerts that must not appear.

Incidents and controls happen to scripted subjects created next to the city
(:class:`~.scenario_cast.Cast`), so that the city's own random misbehaviour
cannot contradict a label. The same config and policy give byte-identical
records. Event times start in the past (the decoder rejects future ones).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from creditwatch.evaluation.scenario_cast import Cast, Injection, Timeline
from creditwatch.evaluation.scenario_cross_sector import inject_cross_sector
from creditwatch.evaluation.scenario_iot import IOT_KINDS, inject_iot
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
)
from creditwatch.evaluation.scenario_peers import inject_peer_outliers
from creditwatch.evaluation.scenario_region import inject_cross_region
from creditwatch.simulation.population import Subject, build_population
from creditwatch.simulation.traffic import DEFAULT_BAD_RATIO, SHANGHAI, Simulator, SteppingClock
from detectors.policy import Policy, default_policy

#: A Monday, in the past: the decoder rejects event times in the future.
DEFAULT_START = datetime(2026, 3, 2, tzinfo=SHANGHAI)
#: Cross-region surges need the policy's warm-up days plus a few to surge on.
MIN_DAYS = 10


@dataclass(frozen=True)
class ScenarioConfig:
    """What to simulate. Defaults send about 52,000 records over 14 simulated days.

    ``subjects`` is the size of the simulated city; the scenario's scripted
    subjects (about 170 with the defaults) come on top. The city's traffic
    keeps the simulator's share of malformed records and re-sent duplicates:
    detectors must not notice the first (they go to the dead-letter topic) nor
    count the second twice.
    """

    seed: int = 1
    days: int = 14
    subjects: int = 300
    background_per_day: int = 2_500
    incidents_per_kind: int = 5
    controls_per_kind: int = 3
    kinds: tuple[IncidentKind, ...] = tuple(IncidentKind)
    start: datetime = DEFAULT_START
    bad_ratio: float = DEFAULT_BAD_RATIO

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the scenario start must be timezone-aware")
        if self.days < MIN_DAYS:
            raise ValueError(f"a scenario needs at least {MIN_DAYS} simulated days")
        if self.subjects < 1 or self.background_per_day < 1 or self.incidents_per_kind < 1:
            raise ValueError("subjects, background_per_day and incidents_per_kind must be >= 1")
        if self.controls_per_kind < 0:
            raise ValueError("controls_per_kind must be >= 0")


@dataclass(frozen=True)
class Scenario:
    """The records to produce, in event-time order, and the ground truth they carry."""

    config: ScenarioConfig
    records: tuple[ScenarioRecord, ...]
    incidents: tuple[Incident, ...]
    controls: tuple[Control, ...]
    city_subjects: int
    cast_subjects: int
    background_records: int
    topics: dict[str, int] = field(default_factory=dict)

    @property
    def labelled_subjects(self) -> frozenset[str]:
        """Every subject an incident or control concerns (the scored population)."""
        labels: list[Incident | Control] = [*self.incidents, *self.controls]
        return frozenset(s for label in labels for s in label.subjects)


class _RecordingClock:
    """A stepping clock that remembers the last time it gave, to date each record."""

    def __init__(self, clock: SteppingClock) -> None:
        self._clock = clock
        self.last: datetime | None = None

    def __call__(self) -> datetime:
        self.last = self._clock()
        return self.last


def background(config: ScenarioConfig, city: Sequence[Subject]) -> list[ScenarioRecord]:
    """The simulated city's own traffic, ``background_per_day`` records per simulated day."""
    clock = _RecordingClock(
        SteppingClock(config.start, timedelta(days=1) / config.background_per_day)
    )
    simulator = Simulator(config.seed, city, clock=clock, bad_ratio=config.bad_ratio)
    records = []
    for _ in range(config.days * config.background_per_day):
        record = simulator.next_record()
        # A re-sent duplicate does not read the clock: it goes out "now", after its original.
        at = clock.last or config.start
        records.append(ScenarioRecord(at, record.topic, record.key, record.value))
    return records


Injector = Callable[[IncidentKind], Injection]


def _injectors(
    config: ScenarioConfig,
    cast: Cast,
    timeline: Timeline,
    policy: Policy,
    city_records: list[ScenarioRecord],
) -> dict[IncidentKind, Injector]:
    n, controls = config.incidents_per_kind, config.controls_per_kind

    def iot(kind: IncidentKind) -> Injection:
        return inject_iot(cast, timeline, kind, n, controls)

    def sector(kind: IncidentKind) -> Injection:
        return inject_cross_sector(cast, timeline, policy.cross_sector, kind, n, controls)

    return {
        IncidentKind.PEER_OUTLIER: lambda _: inject_peer_outliers(cast, timeline, policy.peers, n),
        **{kind: iot for kind in IOT_KINDS},
        IncidentKind.CROSS_SECTOR_SUBJECT: sector,
        IncidentKind.CROSS_SECTOR_LEGAL_REP: sector,
        IncidentKind.CROSS_REGION_SURGE: lambda _: inject_cross_region(
            cast, timeline, policy.cross_region, city_records, n, controls
        ),
    }


def _in_order(kinds: Sequence[IncidentKind]) -> list[IncidentKind]:
    """Each kind once, peer outliers first: their groups must be reserved before any other
    scripted subject is placed. A fixed order keeps the random draws reproducible."""
    wanted = set(kinds)
    order = [
        IncidentKind.PEER_OUTLIER,
        *(k for k in IncidentKind if k is not IncidentKind.PEER_OUTLIER),
    ]
    return [k for k in order if k in wanted]


def build_scenario(config: ScenarioConfig | None = None, policy: Policy | None = None) -> Scenario:
    """The records and labels of one scenario; deterministic for a config and policy.

    Thresholds (peer-group size, surge minimum, warm-up days …) come from
    ``policy`` (default: the policy the worker runs with), so the incidents
    stay meaningful when the policy file changes.
    """
    config = config or ScenarioConfig()
    policy = policy or default_policy()
    timeline = Timeline(config.start, config.days)
    city = build_population(config.seed, config.subjects)
    city_records = background(config, city)
    cast = Cast(random.Random(f"creditwatch-scenario-{config.seed}"), city)
    injectors = _injectors(config, cast, timeline, policy, city_records)
    injected = Injection()
    for kind in _in_order(config.kinds):
        injected.extend(injectors[kind](kind))
    records = sorted([*city_records, *injected.records], key=lambda r: r.at)
    return Scenario(
        config=config,
        records=tuple(records),
        incidents=tuple(injected.incidents),
        controls=tuple(injected.controls),
        city_subjects=config.subjects,
        cast_subjects=len(cast.subjects),
        background_records=len(city_records),
        topics=dict(Counter(r.topic for r in records)),
    )
