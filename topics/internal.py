"""``risk.internal.*``: the messages workers send each other, not public contracts.

The ingest agent's partitions are keyed by subject; the detectors that look
across subjects need their whole group in one place, so an ingest batch sends
them their inputs re-keyed (streams/agents/fanout.py). These are the typed
records of those messages. They are plain frozen dataclasses, not
``faust.Record``: they go out by the hundred per batch, and orjson writes a
dataclass as the JSON object of its fields, which is their wire format.

Only workers of one deployment read them, so they carry no format version; a
message a worker cannot read goes to the dead-letter topic (streams/agents/keyed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

#: A subject's peer features, in the order of ``detectors.peers.FEATURES``.
Features = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PeerUpdate:
    """``risk.internal.peer-features``: a subject's features changed, so its peer
    group retracts ``old`` and adds ``new``.

    ``old is None``: the subject joins the group; ``new is None``: it leaves it.
    """

    group: str
    subject: str
    old: Features | None
    new: Features | None
    at_s: float
    event_id: str
    tier: str
    score: float
    region: str
    sector: str


@dataclass(frozen=True, slots=True)
class AdverseSignal:
    """One adverse credit record, as the linkage detector sees it."""

    event_id: str
    at_s: float  # event time, epoch seconds
    subject: str
    signal: str  # policy signal name, e.g. "tax_violation"
    department: str
    sector: str
    region: str


@dataclass(frozen=True, slots=True)
class AdverseReport:
    """``risk.internal.adverse-signals``: an adverse record for the cross-sector
    detector of its linkage group."""

    group: str
    signal: AdverseSignal
    tier: str  # of the subject, after the record
    score: float
