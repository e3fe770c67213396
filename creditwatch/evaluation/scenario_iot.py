"""IoT incidents: a spike, a level shift or a drift on one device; clean devices as controls.

Every labelled device reads every 30 minutes for the whole scenario, as an AR(1)
process around its normal level with the simulator's noise and persistence, so
the stream detector sees a realistic series and warms up (120 readings) days
before any fault. Faults push readings up, towards and past the regulatory
limit, as a failing fridge, a bypassed scrubber or a gas leak would:

* spike: one reading 6–10 noise standard deviations high (a door left open);
* level shift: from one reading on, 6–10 deviations higher for good;
* drift: rising linearly over 12–36 hours to 8–12 deviations, then staying.

Camera AI counts are left out: they are Poisson counts, not levels.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from creditwatch.evaluation.scenario_cast import Cast, Injection, Timeline
from creditwatch.evaluation.scenario_labels import (
    Control,
    Incident,
    IncidentKind,
    ScenarioRecord,
    iot_anomaly_key,
)
from creditwatch.simulation.population import (
    CHILLED,
    COD,
    FROZEN,
    GAS,
    NOX,
    PM25,
    DeviceSpec,
    Subject,
)
from creditwatch.simulation.traffic import NON_NEGATIVE, PERSISTENCE, iot_draft
from topics.vocabulary import Sector

IOT_KINDS = (IncidentKind.IOT_SPIKE, IncidentKind.IOT_LEVEL_SHIFT, IncidentKind.IOT_DRIFT)
#: The sector whose subjects carry each kind of sensor (see population.SECTOR_DEVICES).
SPEC_SECTOR: dict[DeviceSpec, Sector] = {
    CHILLED: Sector.FOOD_DRUG,
    FROZEN: Sector.FOOD_DRUG,
    COD: Sector.ENVIRONMENT,
    NOX: Sector.ENVIRONMENT,
    GAS: Sector.PRODUCTION_SAFETY,
    PM25: Sector.CONSTRUCTION,
}
READING_EVERY = timedelta(minutes=30)
#: 120 warm-up readings take 2.5 days; faults start later, on a detector that has settled.
FIRST_FAULT_DAY = 4
#: An alert more than this after a fault (after the end of a drift's ramp) did not detect it.
DETECTION_WINDOW = timedelta(days=1)
MAGNITUDE: dict[IncidentKind, tuple[float, float]] = {  # noise standard deviations
    IncidentKind.IOT_SPIKE: (6.0, 10.0),
    IncidentKind.IOT_LEVEL_SHIFT: (6.0, 10.0),
    IncidentKind.IOT_DRIFT: (8.0, 12.0),
}
DRIFT_HOURS = (12, 36)


@dataclass(frozen=True, slots=True)
class Fault:
    """Where a device's readings leave normal, by how much and how fast."""

    kind: IncidentKind
    index: int  # first faulty reading
    magnitude: float  # in noise standard deviations, upwards
    ramp: int = 0  # readings to reach the full magnitude (drift); 0: at once

    def offset(self, i: int) -> float:
        """The fault's contribution to reading ``i``, in noise standard deviations.

        >>> Fault(IncidentKind.IOT_DRIFT, 10, 8.0, ramp=4).offset(11)
        4.0
        >>> Fault(IncidentKind.IOT_SPIKE, 10, 8.0).offset(11)
        0.0
        """
        if i < self.index or (self.kind is IncidentKind.IOT_SPIKE and i > self.index):
            return 0.0
        if self.ramp:
            return self.magnitude * min(1.0, (i - self.index + 1) / self.ramp)
        return self.magnitude

    @property
    def last(self) -> int:
        """The reading at which the fault is fully developed."""
        return self.index + max(self.ramp - 1, 0)

    def describe(self, spec: DeviceSpec) -> str:
        size = f"{self.magnitude:.1f} sd (+{self.magnitude * spec.noise:.2f})"
        if self.kind is IncidentKind.IOT_SPIKE:
            return f"one reading {size} above normal {spec.normal:g}, limit {spec.limit:g}"
        if self.kind is IncidentKind.IOT_LEVEL_SHIFT:
            return f"level up {size} from normal {spec.normal:g} for good, limit {spec.limit:g}"
        hours = self.ramp * READING_EVERY / timedelta(hours=1)
        return (
            f"drift up {size} over {hours:.1f} h from normal {spec.normal:g}, limit {spec.limit:g}"
        )


def draw_fault(rng: random.Random, kind: IncidentKind, timeline: Timeline) -> Fault:
    per_day = timedelta(days=1) // READING_EVERY
    ramp = 0
    if kind is IncidentKind.IOT_DRIFT:
        ramp = rng.randint(*DRIFT_HOURS) * timedelta(hours=1) // READING_EVERY
    # Leave a day after the fault (after a drift's ramp) for the detection window.
    latest = (timeline.days - 1) * per_day - ramp
    index = rng.randint(FIRST_FAULT_DAY * per_day, max(latest, FIRST_FAULT_DAY * per_day))
    return Fault(kind, index, rng.uniform(*MAGNITUDE[kind]), ramp)


def readings(rng: random.Random, spec: DeviceSpec, count: int, fault: Fault | None) -> list[float]:
    """An AR(1) series around ``spec.normal`` (the simulator's persistence), plus the fault."""
    values, deviation = [], 0.0
    scale = spec.noise * math.sqrt(1 - PERSISTENCE**2)
    for i in range(count):
        deviation = PERSISTENCE * deviation + scale * rng.gauss(0.0, 1.0)
        offset = fault.offset(i) if fault is not None else 0.0
        value = spec.normal + deviation + offset * spec.noise
        if spec.metric in NON_NEGATIVE:
            value = max(value, 0.0)
        values.append(round(value, 2))
    return values


def _device_records(
    cast: Cast, subject: Subject, timeline: Timeline, fault: Fault | None, label: str
) -> list[ScenarioRecord]:
    """The device's whole series; readings carrying the fault are labelled."""
    device = subject.devices[0]
    count = timeline.days * (timedelta(days=1) // READING_EVERY)
    phase = timedelta(minutes=cast.rng.randrange(30))  # devices do not report in lockstep
    records = []
    for i, value in enumerate(readings(cast.rng, device.spec, count, fault)):
        at = timeline.start + phase + i * READING_EVERY
        faulty = fault is not None and fault.offset(i) != 0.0
        event_id = cast.event_id(label)
        draft = iot_draft(subject, device, value, at, event_id)
        records.append(cast.record(draft, at, label if faulty else None))
    return records


def _device_subject(cast: Cast, spec: DeviceSpec) -> Subject:
    sector = SPEC_SECTOR[spec]
    return cast.subject(sector, cast.county(sector), specs=(spec,))


def _incident(cast: Cast, timeline: Timeline, kind: IncidentKind, label: str) -> Injection:
    spec = cast.rng.choice(list(SPEC_SECTOR))
    subject = _device_subject(cast, spec)
    device = subject.devices[0]
    fault = draw_fault(cast.rng, kind, timeline)
    records = _device_records(cast, subject, timeline, fault, label)
    faulty = [r.at for r in records if r.label == label]
    incident = Incident(
        label=label,
        kind=kind,
        dedup_key=iot_anomaly_key(subject.uscc, device.device_id, spec.metric.value),
        start=faulty[0],
        end=faulty[0] + (fault.last - fault.index) * READING_EVERY + DETECTION_WINDOW,
        subjects=(subject.uscc,),
        detail=fault.describe(spec),
        device_id=device.device_id,
    )
    return Injection(records, [incident], [])


def _control(cast: Cast, timeline: Timeline, kind: IncidentKind, label: str) -> Injection:
    spec = cast.rng.choice(list(SPEC_SECTOR))
    subject = _device_subject(cast, spec)
    device = subject.devices[0]
    control = Control(
        label=label,
        kind=kind,
        dedup_keys=(iot_anomaly_key(subject.uscc, device.device_id, spec.metric.value),),
        subjects=(subject.uscc,),
        detail=f"normal {spec.metric.value} readings, no fault",
    )
    return Injection(_device_records(cast, subject, timeline, None, label), [], [control])


def inject_iot(
    cast: Cast, timeline: Timeline, kind: IncidentKind, incidents: int, controls: int
) -> Injection:
    """``incidents`` faulty devices of ``kind`` and ``controls`` clean devices."""
    injection = Injection()
    for n in range(1, incidents + 1):
        injection.extend(_incident(cast, timeline, kind, f"{kind.value}-{n:02d}"))
    for n in range(1, controls + 1):
        injection.extend(_control(cast, timeline, kind, f"{kind.value}-control-{n:02d}"))
    return injection
