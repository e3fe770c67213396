"""Cross-sector warning: adverse records about one subject, or one person's subjects,
from two or more departments or sectors within a policy window.

Seed 十一 links a legal representative or actual controller to every subject
they run; seed 十六 asks for 跨行业 risks to be found early. A market-regulation
penalty alone is routine; the same company also fined by the tax office, or a
sister company under the same representative listed by a court, is a pattern
no single department sees. The state is one :class:`LinkedSignals` per linkage
group: the representative when known, else the subject itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import astuple, dataclass, field

import orjson

from detectors.policy import CrossSectorPolicy
from topics.internal import AdverseSignal, Member
from topics.internal import LinkedListing as LinkedListing  # where pipeline/supervision.py finds it

STATE_FORMAT = 2
#: Older formats this code still reads (format 1 has no members).
READABLE_FORMATS = (1, 2)
#: Subjects remembered per linkage group (a representative rarely runs more).
MAX_MEMBERS = 64


#: Hex digits of a person's pseudonym: 128 bits, no collision among a city's people.
PSEUDONYM_HEX_DIGITS = 32


def person_pseudonym(person_id: str, key: bytes) -> str:
    """A stable pseudonym of a person's id, keyed: HMAC-SHA256 with a secret ``key``.

    It must be keyed. Ids of people are short and structured (``LR`` and nine
    digits in the simulator, 18 characters with a check digit on an identity
    card), and a masked id shows a few of their characters: with a plain hash,
    anyone who sees the pseudonym hashes the candidates the mask leaves and
    finds the one that matches (issue 20: six seconds for an inspector).
    Without the key a candidate cannot be checked. Every worker of a
    deployment uses the same key, so the pseudonym is the same in each.

    >>> key = b"a secret of at least 32 characters"
    >>> person_pseudonym("LR004271358", key) == person_pseudonym("LR004271358", key)
    True
    >>> person_pseudonym("LR004271358", key) == person_pseudonym("LR004271358", b"another " + key)
    False
    """
    if not key:
        raise ValueError("a person's pseudonym needs a secret key")
    digest = hmac.new(key, person_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]


def linkage_group(subject: str, legal_rep_id: str | None, key: bytes) -> str:
    """Adverse records are pooled per representative, else per subject.

    A representative's id is personal data and the group name travels in keys,
    topics and alerts that inspectors read, so it is a keyed pseudonym
    (:func:`person_pseudonym`); ``key`` is the deployment's secret.
    """
    if not legal_rep_id:
        return f"subject:{subject}"
    return "rep:" + person_pseudonym(legal_rep_id, key)


@dataclass(frozen=True, slots=True)
class CrossSectorFinding:
    """Why a group was flagged: every contributing record, oldest first."""

    signals: tuple[AdverseSignal, ...]
    departments: tuple[str, ...]
    sectors: tuple[str, ...]

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.subject for s in self.signals))


@dataclass(slots=True)
class LinkedSignals:
    """Recent adverse records of one linkage group, bounded by time and count.

    ``alerted_sources`` is how many distinct departments/sectors the last alert
    named: a group alerts again only when the pattern widens (a third
    department), not on every further record from the same ones, and alerts
    afresh once its window has emptied below the threshold.
    """

    signals: list[AdverseSignal] = field(default_factory=list)
    alerted_sources: int = 0
    members: dict[str, Member] = field(default_factory=dict)  # by subject, oldest first

    def join(self, member: Member) -> None:
        """Remember (or refresh) a subject of this group; bounded, the longest unseen go."""
        self.members.pop(member.subject, None)
        self.members[member.subject] = member
        while len(self.members) > MAX_MEMBERS:
            del self.members[next(iter(self.members))]

    def others(self, subject: str) -> list[Member]:
        """Seed 十一: the group's other subjects, who share the representative's record."""
        return [m for s, m in self.members.items() if s != subject]

    def add(self, signal: AdverseSignal, policy: CrossSectorPolicy) -> CrossSectorFinding | None:
        """Record ``signal``; return a finding if it completes or widens a pattern."""
        if any(s.event_id == signal.event_id for s in self.signals):
            return None  # redelivered
        self.signals.append(signal)
        self.signals.sort(key=lambda s: s.at_s)
        newest = self.signals[-1].at_s
        self.signals = [s for s in self.signals if newest - s.at_s <= policy.window_s]
        del self.signals[: -policy.max_signals]
        if signal not in self.signals:
            return None  # older than the window: nothing to say about it
        departments = tuple(dict.fromkeys(s.department for s in self.signals))
        sectors = tuple(dict.fromkeys(s.sector for s in self.signals))
        sources = max(len(departments), len(sectors))
        if sources < policy.min_sources:
            self.alerted_sources = 0
            return None
        if sources <= self.alerted_sources:
            return None
        self.alerted_sources = sources
        return CrossSectorFinding(tuple(self.signals), departments, sectors)

    # --- encoding: JSON of plain values, never pickle (it crosses processes).
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": STATE_FORMAT,
                "alerted_sources": self.alerted_sources,
                "signals": [astuple(s) for s in self.signals],
                "members": [astuple(m) for m in self.members.values()],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LinkedSignals:
        document = orjson.loads(data)
        if document.get("format") not in READABLE_FORMATS:
            raise ValueError(f"unknown linked-signals format {document.get('format')!r}")
        members = (Member(*row) for row in document.get("members", []))
        return cls(
            signals=[AdverseSignal(*row) for row in document["signals"]],
            alerted_sources=int(document["alerted_sources"]),
            members={m.subject: m for m in members},
        )
