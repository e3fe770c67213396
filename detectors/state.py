"""Per-subject risk state: the value of the subject table, bounded and self-encoding.

Everything is measured in event time. ``clock`` is the newest event time seen
for the subject; decayed signal values are kept "as of" that clock, so an
event arriving late adds a faded contribution instead of rewinding time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from detectors.casefile import Listing
from detectors.codec import Reader, Writer
from detectors.policy import Policy
from detectors.red_list_policy import MAX_HONOURS
from detectors.windows import DAY_S, HOUR_S, BucketCounts
from topics.vocabulary import DEFAULT_SUBJECT_TYPE

STATE_FORMAT = 5
#: Older formats this code still reads (format 2 lacks the peer features, 3 the subject
#: type, 4 what the red list needs: since when the tier, the last adverse record, honours).
READABLE_FORMATS = (2, 3, 4, 5)
#: 48 bits: with a few dozen ids remembered per subject, the chance that a new
#: event is mistaken for a duplicate is ~1e-13, at 6 bytes an id.
FINGERPRINT_BYTES = 6


def event_fingerprint(event_id: str) -> bytes:
    """A stable 48-bit fingerprint (Python's ``hash`` differs between processes)."""
    return hashlib.blake2b(event_id.encode(), digest_size=FINGERPRINT_BYTES).digest()


@dataclass(frozen=True, slots=True)
class Observation:
    """What one input record means for a subject's risk, independent of its topic.

    Plain strings only (not enum members): the state is encoded and served as JSON.
    """

    event_id: str
    at_s: float  # event time, epoch seconds
    region: str
    sector: str
    signal: str | None = None  # a policy signal name, e.g. "penalty_serious"
    clears: str | None = None  # a signal this record ends, e.g. abnormal-operation removal
    complaint_category: str | None = None
    iot_exceedance: bool = False
    legal_rep_id: str | None = None
    department: str | None = None  # that issued an enforcement record
    subject_type: str | None = None  # SubjectType value, if the record says


@dataclass(frozen=True, slots=True)
class CreditMark:
    """One credit record as the red list remembers it (seed 九): which, when, by whom."""

    event_id: str
    signal: str
    at_s: float
    department: str


def _complaint_window() -> BucketCounts:
    return BucketCounts(bucket_s=DAY_S, horizon=30)


def _iot_window() -> BucketCounts:
    return BucketCounts(bucket_s=HOUR_S, horizon=24)


@dataclass(slots=True)
class SubjectState:
    """Rolling risk state of one subject (keyed by USCC in the table)."""

    clock: float = 0.0
    region: str = ""
    sector: str = ""
    legal_rep_id: str | None = None
    subject_type: str = DEFAULT_SUBJECT_TYPE.value  # as the latest record that said it
    signals: dict[str, float] = field(default_factory=dict)  # decayed counts as of clock
    last_seen: dict[str, float] = field(default_factory=dict)  # for tier floors
    complaints: BucketCounts = field(default_factory=_complaint_window)
    iot_exceedances: BucketCounts = field(default_factory=_iot_window)
    tier: str | None = None
    score: float = 0.0
    version: int = 0  # of the last tier change emitted
    events: int = 0  # distinct events applied (duplicates excluded)
    # Fingerprints of the last events applied, oldest first, back to back: one
    # bytes object, so loading a state does not build an object per id.
    recent_ids: bytearray = field(default_factory=bytearray)
    alerted: dict[str, float] = field(default_factory=dict)  # rule key -> event time
    # The features last reported to the subject's peer group (detectors.peers),
    # so the group can retract them when they change.
    peer_features: tuple[float, ...] | None = None
    # Seed 九, the red list (detectors/red_list.py): since when the subject is in its
    # tier (event time of the change), its newest adverse record, its newest honours
    # (oldest first, at most MAX_HONOURS) and its red-list membership, if it ever had one.
    tier_since_s: float = 0.0
    last_adverse: CreditMark | None = None
    honours: list[CreditMark] = field(default_factory=list)
    red_list: Listing | None = None

    def seen(self, event_id: str) -> bool:
        fingerprint = event_fingerprint(event_id)
        found = self.recent_ids.find(fingerprint)
        while found >= 0:
            if found % FINGERPRINT_BYTES == 0:  # a whole entry, not across two
                return True
            found = self.recent_ids.find(fingerprint, found + 1)
        return False

    def remember(self, event_id: str, memory: int) -> None:
        self.recent_ids += event_fingerprint(event_id)
        excess = len(self.recent_ids) - memory * FINGERPRINT_BYTES
        if excess > 0:
            del self.recent_ids[:excess]

    @property
    def remembered(self) -> int:
        """How many event ids are remembered."""
        return len(self.recent_ids) // FINGERPRINT_BYTES

    def advance(self, at_s: float, policy: Policy) -> None:
        """Move the clock forward to ``at_s``, fading every decayed signal."""
        if at_s <= self.clock:
            return
        elapsed = at_s - self.clock
        for name, value in list(self.signals.items()):
            faded = value * policy.signals[name].decay(elapsed) if name in policy.signals else 0.0
            if abs(faded) < 1e-3:
                del self.signals[name]  # bounded: faded records stop taking space
            else:
                self.signals[name] = faded
        self.clock = at_s

    def apply(self, obs: Observation, policy: Policy) -> None:
        """Fold one observation into the state (the caller has checked for duplicates)."""
        self.advance(obs.at_s, policy)
        self.region, self.sector = obs.region, obs.sector
        if obs.legal_rep_id:
            self.legal_rep_id = obs.legal_rep_id
        if obs.subject_type:
            self.subject_type = obs.subject_type
        if obs.signal is not None:
            spec = policy.signals[obs.signal]
            self.signals[obs.signal] = self.signals.get(obs.signal, 0.0) + spec.decay(
                self.clock - obs.at_s
            )
            if spec.floor is not None:
                self.last_seen[obs.signal] = max(self.last_seen.get(obs.signal, 0.0), obs.at_s)
            self._mark(obs, policy)
        if obs.clears is not None:
            self.signals.pop(obs.clears, None)
            self.last_seen.pop(obs.clears, None)
        if obs.complaint_category is not None:
            self.complaints.add(obs.at_s, obs.complaint_category)
        if obs.iot_exceedance:
            self.iot_exceedances.add(obs.at_s)
        self.remember(obs.event_id, policy.dedup_memory)
        self.events += 1

    def _mark(self, obs: Observation, policy: Policy) -> None:
        """Remember what the red list needs of a credit record: the newest adverse one,
        the newest honours."""
        assert obs.signal is not None
        mark = CreditMark(obs.event_id, obs.signal, obs.at_s, obs.department or "")
        if policy.adverse(obs.signal):
            if self.last_adverse is None or obs.at_s >= self.last_adverse.at_s:
                self.last_adverse = mark
        elif obs.signal in policy.red_list.honour_signals:
            self.honours.append(mark)
            self.honours.sort(key=lambda m: (m.at_s, m.event_id))
            del self.honours[:-MAX_HONOURS]

    def withdraw(
        self, signal: str, at_s: float, policy: Policy, latest_remaining_s: float | None
    ) -> None:
        """Take one record's contribution back out (repaired, or corrected on objection).

        ``latest_remaining_s`` is the newest record of ``signal`` that still counts,
        which now decides the signal's tier floor.
        """
        spec = policy.signals.get(signal)
        if spec is None:
            return
        left = self.signals.get(signal, 0.0) - spec.decay(self.clock - at_s)
        if left < 1e-3:  # counts are decayed occurrences, never negative
            self.signals.pop(signal, None)
        else:
            self.signals[signal] = left
        if spec.floor is not None:
            if latest_remaining_s is None:
                self.last_seen.pop(signal, None)
            else:
                self.last_seen[signal] = latest_remaining_s

    def restore(self, signal: str, at_s: float, policy: Policy) -> None:
        """Put a withdrawn record's contribution back (an objection was rejected)."""
        spec = policy.signals.get(signal)
        if spec is None:
            return
        self.signals[signal] = self.signals.get(signal, 0.0) + spec.decay(self.clock - at_s)
        if spec.floor is not None:
            self.last_seen[signal] = max(self.last_seen.get(signal, 0.0), at_s)

    def prune_alerted(self, horizon_s: float) -> None:
        for key in [k for k, t in self.alerted.items() if t < self.clock - horizon_s]:
            del self.alerted[key]

    # --- encoding: compact binary of plain values, never pickle (the changelog
    # crosses process boundaries); ~300 bytes for a typical subject.
    def to_bytes(self) -> bytes:
        out = Writer()
        out.uint(STATE_FORMAT)
        out.double(self.clock)
        out.text(self.region)
        out.text(self.sector)
        out.optional_text(self.legal_rep_id)
        out.optional_text(self.tier)
        out.double(self.score)
        out.uint(self.version)
        out.uint(self.events)
        for numbers in (self.signals, self.last_seen, self.alerted):
            _write_numbers(out, numbers)
        for window in (self.complaints, self.iot_exceedances):
            _write_window(out, window)
        out.uint(self.remembered)
        out.raw(bytes(self.recent_ids))
        features = self.peer_features or ()
        out.uint(len(features))
        for value in features:
            out.double(value)
        out.text(self.subject_type)
        out.double(self.tier_since_s)
        _write_marks(out, [self.last_adverse] if self.last_adverse is not None else [])
        _write_marks(out, self.honours)
        _write_listing(out, self.red_list)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SubjectState:
        source = Reader(data)
        version = source.uint()
        if version not in READABLE_FORMATS:
            raise ValueError(f"unknown subject state format {version!r}")
        state = cls(
            clock=source.double(),
            region=source.text(),
            sector=source.text(),
            legal_rep_id=source.optional_text(),
            tier=source.optional_text(),
            score=source.double(),
            version=source.uint(),
            events=source.uint(),
            signals=_read_numbers(source),
            last_seen=_read_numbers(source),
            alerted=_read_numbers(source),
        )
        _read_window(source, state.complaints)
        _read_window(source, state.iot_exceedances)
        state.recent_ids = bytearray(source.raw(source.uint() * FINGERPRINT_BYTES))
        if version >= 3:
            features = tuple(source.double() for _ in range(source.uint()))
            state.peer_features = features or None
        if version >= 4:
            state.subject_type = source.text()
        if version >= 5:
            state.tier_since_s = source.double()
            state.last_adverse = next(iter(_read_marks(source)), None)
            state.honours = _read_marks(source)
            state.red_list = _read_listing(source)
        else:  # since when is unknown: count the tier from the last event, not from 1970
            state.tier_since_s = state.clock
        if not source.at_end():
            raise ValueError("subject state has trailing bytes")
        return state


def _write_numbers(out: Writer, numbers: dict[str, float]) -> None:
    out.uint(len(numbers))
    for name, value in numbers.items():
        out.text(name)
        out.double(value)


def _read_numbers(source: Reader) -> dict[str, float]:
    return {source.text(): source.double() for _ in range(source.uint())}


def _write_marks(out: Writer, marks: list[CreditMark]) -> None:
    out.uint(len(marks))
    for mark in marks:
        out.text(mark.event_id)
        out.text(mark.signal)
        out.double(mark.at_s)
        out.text(mark.department)


def _read_marks(source: Reader) -> list[CreditMark]:
    return [
        CreditMark(source.text(), source.text(), source.double(), source.text())
        for _ in range(source.uint())
    ]


def _write_listing(out: Writer, listing: Listing | None) -> None:
    """A red-list membership; version 0 stands for none."""
    if listing is None:
        out.uint(0)
        return
    out.uint(listing.version)
    out.uint(int(listing.active))
    out.double(listing.entered_at_s)
    _write_optional_double(out, listing.expires_at_s)
    out.uint(len(listing.basis))
    for event_id in listing.basis:
        out.text(event_id)
    _write_optional_double(out, listing.exited_at_s)
    out.optional_text(listing.exit_reason)


def _read_listing(source: Reader) -> Listing | None:
    version = source.uint()
    if version == 0:
        return None
    active, entered = bool(source.uint()), source.double()
    expires = _read_optional_double(source)
    basis = [source.text() for _ in range(source.uint())]
    return Listing(
        kind="red_list",
        version=version,
        active=active,
        entered_at_s=entered,
        expires_at_s=expires,
        basis=basis,
        exited_at_s=_read_optional_double(source),
        exit_reason=source.optional_text(),
    )


def _write_optional_double(out: Writer, value: float | None) -> None:
    out.uint(value is not None)
    if value is not None:
        out.double(value)


def _read_optional_double(source: Reader) -> float | None:
    return source.double() if source.uint() else None


def _write_window(out: Writer, window: BucketCounts) -> None:
    out.uint(len(window.counts))
    for (bucket, label), count in sorted(window.counts.items()):
        out.sint(bucket)
        out.text(label)
        out.uint(count)


def _read_window(source: Reader, window: BucketCounts) -> None:
    window.load_list([[source.sint(), source.text(), source.uint()] for _ in range(source.uint())])
