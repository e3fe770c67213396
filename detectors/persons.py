"""A responsible person's credit record (seed 十一): the state of the person-record agent.

Keyed by the person's pseudonym, one :class:`PersonFile` per person, apart
from any subject: a person can hold roles in several subjects, which live on
different partitions of the subject state. Each subject's step tells the
person what it knows (``topics.internal.RoleFact``, ``ListingFact``); the file
keeps the person's roles and the listings that reached them, the latest
version of each, so a redelivered or replayed fact changes nothing.

Bounded: at most :data:`MAX_ROLES` roles and :data:`MAX_ENTRIES` entries;
past either, ended roles and inactive entries go first, oldest first.
Stored as JSON of plain values (never pickle: it crosses processes).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import orjson

from topics.internal import BasisFact, ListingFact, RoleFact

FILE_FORMAT = 1
MAX_ROLES = 64
MAX_ENTRIES = 64


@dataclass(slots=True)
class HeldRole:
    subject: str
    role: str
    from_s: float
    until_s: float | None
    subject_type: str
    region: str
    sector: str


@dataclass(slots=True)
class Entry:
    """A listing of a subject that reached the person through ``role``, as it stands."""

    subject: str
    role: str
    list: str
    version: int
    active: bool
    entered_at_s: float
    expires_at_s: float | None
    exited_at_s: float | None
    exit_reason: str | None
    basis: builtins.list[BasisFact]  # worded per language where the record is built
    region: str
    sector: str


@dataclass(slots=True)
class PersonFile:
    person_id: str | None = None
    person_name: str | None = None
    roles: dict[str, HeldRole] = field(default_factory=dict)  # "subject|role|from"
    entries: dict[str, Entry] = field(default_factory=dict)  # "subject|list|role"
    version: int = 0  # of the last record published
    changed_at_s: float = 0.0  # event time of the last change

    def learn_role(self, fact: RoleFact) -> bool:
        """Take a role record; True if the file changed."""
        held = HeldRole(
            fact.subject,
            fact.role,
            fact.held_from_s,
            fact.held_until_s,
            fact.subject_type,
            fact.region,
            fact.sector,
        )
        key = f"{fact.subject}|{fact.role}|{fact.held_from_s!r}"
        who = (fact.person_id, fact.person_name or self.person_name)
        if self.roles.get(key) == held and who == (self.person_id, self.person_name):
            return False
        self.person_id, self.person_name = who
        self.roles.pop(key, None)
        self.roles[key] = held
        _bound(self.roles, MAX_ROLES, lambda r: r.until_s is not None)
        return True

    def learn_listing(self, fact: ListingFact) -> bool:
        """Take a listing that reaches the person (or, ``held`` False, no longer does);
        True if the file changed. An older version of a listing changes nothing."""
        key = f"{fact.subject}|{fact.list}|{fact.role}"
        known = self.entries.get(key)
        if not fact.held:
            return self.entries.pop(key, None) is not None
        if known is not None and known.version >= fact.version:
            return False
        self.entries.pop(key, None)
        self.entries[key] = Entry(
            fact.subject,
            fact.role,
            fact.list,
            fact.version,
            fact.active,
            fact.entered_at_s,
            fact.expires_at_s,
            fact.exited_at_s,
            fact.exit_reason,
            list(fact.basis),
            fact.region,
            fact.sector,
        )
        _bound(self.entries, MAX_ENTRIES, lambda e: not e.active)
        return True

    def to_bytes(self) -> bytes:
        return orjson.dumps({"format": FILE_FORMAT, "file": asdict(self)})

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonFile:
        document = orjson.loads(data)
        if document.get("format") != FILE_FORMAT:
            raise ValueError(f"unknown person file format {document.get('format')!r}")
        raw = document["file"]
        return cls(
            person_id=raw["person_id"],
            person_name=raw["person_name"],
            roles={k: HeldRole(**v) for k, v in raw["roles"].items()},
            entries={k: _entry(v) for k, v in raw["entries"].items()},
            version=int(raw["version"]),
            changed_at_s=float(raw["changed_at_s"]),
        )


def _entry(raw: dict[str, Any]) -> Entry:
    return Entry(**{**raw, "basis": [BasisFact.from_json(fact) for fact in raw["basis"]]})


T = TypeVar("T")


def _bound(items: dict[str, T], limit: int, closed: Callable[[T], bool]) -> None:
    """Drop the oldest closed items (insertion order), then the oldest of any, to ``limit``."""
    for key in [k for k, v in items.items() if closed(v)]:
        if len(items) <= limit:
            return
        del items[key]
    while len(items) > limit:
        del items[next(iter(items))]
