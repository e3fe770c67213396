"""``risk.internal.*``: the messages workers send each other, not public contracts.

The ingest agent's partitions are keyed by subject; the detectors that look
across subjects need their whole group in one place, so an ingest batch sends
them their inputs re-keyed (streams/agents/fanout.py), and detectors, people
and the escalation timer send the alert manager its candidates and commands;
a subject's step tells the person-record agent about people's roles and the
listings that reach them.
These are the typed records of those messages, with the one encoder and
decoder of each topic.

They are plain dataclasses, not ``faust.Record``: they go out by the hundred
per batch, and orjson writes a dataclass as the JSON object of its fields.
Only workers of one deployment read them, so they carry no format version; a
message a worker cannot read raises ``ValueError``, ``TypeError`` or
``KeyError`` here and goes to the dead-letter topic (streams/agents/keyed.py).

| topic | key | value |
|---|---|---|
| ``risk.internal.peer-features`` | peer group | a list of :class:`PeerUpdate` |
| ``risk.internal.adverse-signals`` | linkage group | an :class:`AdverseReport`, a :class:`Member` or a :class:`LinkedListing` |
| ``risk.internal.complaint-counts`` | complaint category | a list of :class:`ComplaintCount` |
| ``risk.internal.department-mix`` | sector | a :class:`CrossSectorCandidate` |
| ``risk.internal.person-facts`` | person pseudonym | a :class:`RoleFact` or a :class:`ListingFact` |
| ``risk.internal.alert-candidates`` | like ``risk.alerts`` | an alert (the ``risk.alerts`` record, ``topics.risk.Alert``) or a :class:`Command` |
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass, field
from enum import StrEnum
from typing import Any

import orjson

#: A subject's peer features, in the order of ``detectors.peers.FEATURES``.
Features = tuple[float, ...]


# ------------------------------------------------------- risk.internal.peer-features


@dataclass(frozen=True, slots=True)
class PeerUpdate:
    """A subject's features changed, so its peer group retracts ``old`` and adds ``new``.

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


def encode_peer_updates(updates: Sequence[PeerUpdate]) -> bytes:
    return orjson.dumps(updates)


def decode_peer_updates(value: bytes) -> list[PeerUpdate]:
    def features(values: list[float] | None) -> Features | None:
        return None if values is None else tuple(values)

    return [
        PeerUpdate(**{**row, "old": features(row["old"]), "new": features(row["new"])})
        for row in _array(orjson.loads(value), "a peer-features message")
    ]


# ------------------------------------------------------ risk.internal.adverse-signals


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
    """An adverse record for the cross-sector detector of its linkage group."""

    group: str
    signal: AdverseSignal
    tier: str  # of the subject, after the record
    score: float


@dataclass(frozen=True, slots=True)
class Member:
    """A subject of a linkage group, with its place and risk as last reported."""

    subject: str
    region: str
    sector: str
    tier: str
    score: float


#: What a fact's explanation names: codes and numbers (``detectors.scoring.TitleValue``).
Named = str | int | float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BasisFact:
    """One record a listing rests on, as its fact (``detectors.scoring.Fact``): the
    alerts that pass the listing on word it in each language from ``says`` and
    ``about`` (pipeline/alert_titles.py), as the subject's own listing does."""

    fact: str
    value: float
    says: str | None = None
    about: dict[str, Named] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: Any) -> BasisFact:
        if isinstance(document, str):  # a line of the previous version: "code: English"
            return cls(document.split(":", 1)[0], 1.0)
        row = _object(document, "a basis fact")
        about = _object(row.get("about", {}), "a basis fact's about")
        return cls(
            fact=str(row["fact"]),
            value=float(row["value"]),
            says=row.get("says"),
            about={k: tuple(v) if isinstance(v, list) else v for k, v in about.items()},
        )


@dataclass(frozen=True, slots=True)
class LinkedListing:
    """A subject of the group entered a credit list (seed 十一: its representative's
    other subjects are told)."""

    subject: str
    list: str
    version: int
    at_s: float
    event_id: str  # the record that caused the entry
    basis: tuple[BasisFact, ...]  # what it rests on, one fact per record


LinkageMessage = AdverseReport | Member | LinkedListing

# The topic carries three kinds of message; an adverse report has no "type"
# (it came first).
MEMBER = "member"  # a subject newly reported its legal representative
LISTED = "listed"  # a subject entered a credit list


def encode_linkage_message(message: LinkageMessage) -> bytes:
    if isinstance(message, Member):
        return orjson.dumps({"type": MEMBER, "member": astuple(message)})
    if isinstance(message, LinkedListing):
        return orjson.dumps({"type": LISTED, "listing": asdict(message)})
    return orjson.dumps(message)


def decode_linkage_message(value: bytes) -> LinkageMessage:
    document = _object(orjson.loads(value), "a linkage message")
    kind = document.get("type")
    if kind == MEMBER:
        return Member(*document["member"])
    if kind == LISTED:
        listing = document["listing"]
        basis = tuple(BasisFact.from_json(f) for f in _array(listing["basis"], "a basis"))
        return LinkedListing(**{**listing, "basis": basis})
    return _adverse_report(document)


def _adverse_report(document: dict[str, Any]) -> AdverseReport:
    return AdverseReport(
        group=document["group"],
        signal=AdverseSignal(**document["signal"]),
        tier=document["tier"],
        score=float(document["score"]),
    )


# ------------------------------------------------------ risk.internal.department-mix


@dataclass(frozen=True, slots=True)
class CrossSectorCandidate:
    """A linkage group's cross-sector pattern, for the department-mix model of the sector of
    the record that completed it (``detectors.department_mix``), which judges how usual the
    combination of departments is there and raises the alert."""

    group: str
    report: AdverseReport  # the record that completed or widened the pattern
    signals: tuple[AdverseSignal, ...]  # every contributing record, oldest first
    departments: tuple[str, ...]
    sectors: tuple[str, ...]

    @property
    def sector(self) -> str:
        """The key of its department-mix model."""
        return self.report.signal.sector


def encode_cross_sector_candidate(candidate: CrossSectorCandidate) -> bytes:
    return orjson.dumps(candidate)


def decode_cross_sector_candidate(value: bytes) -> CrossSectorCandidate:
    document = _object(orjson.loads(value), "a cross-sector candidate")
    return CrossSectorCandidate(
        group=document["group"],
        report=_adverse_report(_object(document["report"], "a cross-sector candidate's report")),
        signals=tuple(AdverseSignal(**row) for row in _array(document["signals"], "signals")),
        departments=tuple(_array(document["departments"], "departments")),
        sectors=tuple(_array(document["sectors"], "sectors")),
    )


# ----------------------------------------------------- risk.internal.complaint-counts


@dataclass(slots=True)
class ComplaintCount:
    """Complaints of one category from one county and sector on one day, in a batch.

    Mutable: the fan-out tallies a batch's complaints into it before sending it.
    """

    category: str
    county: str
    sector: str
    at_s: float  # the latest one's event time
    event_id: str  # the latest one's
    count: int = 0


def encode_complaint_counts(counts: Sequence[ComplaintCount]) -> bytes:
    return orjson.dumps(counts)


def decode_complaint_counts(value: bytes) -> list[ComplaintCount]:
    rows = _array(orjson.loads(value), "a complaint-counts message")
    return [ComplaintCount(**row) for row in rows]


# ---------------------------------------------------------- risk.internal.person-facts


@dataclass(frozen=True, slots=True)
class RoleFact:
    """A person's role in a subject, as a ``registry.roles`` record gave it.

    ``person_id`` and ``person_name`` are personal data; ``person`` is the keyed
    pseudonym of ``person_id`` (the message's key).
    """

    person: str
    subject: str
    role: str  # PersonRole value
    held_from_s: float
    held_until_s: float | None  # None: still held
    subject_type: str
    region: str
    sector: str
    person_id: str
    person_name: str | None
    at_s: float  # event time of the role record
    event_id: str


@dataclass(frozen=True, slots=True)
class ListingFact:
    """A listing of a subject, as it stands now, that reaches a person: the person
    held ``role`` in the subject when it was entered (``held`` False: a corrected
    role record shows the role did not cover the entry after all)."""

    person: str
    subject: str
    role: str
    list: str  # ListKind value
    version: int  # of the subject's listing
    active: bool
    entered_at_s: float
    expires_at_s: float | None  # None: no end (a permanent ban)
    exited_at_s: float | None
    exit_reason: str | None
    basis: tuple[BasisFact, ...]  # what it rests on, one fact per record
    region: str
    sector: str
    at_s: float  # event time of the change
    held: bool = True


PersonFact = RoleFact | ListingFact
ROLE = "role"
LISTING = "listing"


def encode_person_fact(fact: PersonFact) -> bytes:
    kind = ROLE if isinstance(fact, RoleFact) else LISTING
    return orjson.dumps({"type": kind, "fact": fact})


def decode_person_fact(value: bytes) -> PersonFact:
    document = _object(orjson.loads(value), "a person fact")
    fields = _object(document["fact"], "a person fact's fields")
    if document.get("type") == ROLE:
        return RoleFact(**fields)
    if document.get("type") == LISTING:
        basis = tuple(BasisFact.from_json(f) for f in _array(fields["basis"], "a basis"))
        return ListingFact(**{**fields, "basis": basis})
    raise ValueError(f"unknown person fact type {document.get('type')!r}")


# ----------------------------------------------------- risk.internal.alert-candidates


class Action(StrEnum):
    ACK = "ack"
    RESOLVE = "resolve"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class Command:
    """A person's (or the escalation timer's) action on one alert."""

    action: Action
    alert_id: str
    actor: str
    note: str
    at_s: float  # wall time of the action, epoch seconds


#: A candidate alert as the alert manager reads it: the wire form (JSON object)
#: of a ``topics.risk.Alert``, the one shape an alert has on every topic.
AlertDocument = dict[str, Any]
AlertMessage = AlertDocument | Command


def encode_command(command: Command) -> bytes:
    return orjson.dumps({"command": asdict(command)})


def decode_alert_message(value: bytes) -> AlertMessage:
    document = _object(orjson.loads(value), "an alert message")
    if "command" in document:
        fields = document["command"]
        return Command(**{**fields, "action": Action(fields["action"])})
    return document


def _object(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise TypeError(f"{what} is a JSON object, not {type(document).__name__}")
    return document


def _array(document: Any, what: str) -> list[Any]:
    if not isinstance(document, list):
        raise TypeError(f"{what} is a JSON array, not {type(document).__name__}")
    return document
