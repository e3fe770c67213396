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

STATE_FORMAT = 6
#: The formats this code reads (format 2 lacks the peer features, 3 the subject type, 4
#: what the red list needs: since when the tier, the last adverse record, honours; 5 has
#: it all but spells out every name and writes every number as a double).
READABLE_FORMATS = (2, 3, 4, 5, 6)
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
        """Forget rule cooldowns older than ``horizon_s`` (most subjects have none)."""
        if not self.alerted:
            return
        for key in [k for k, t in self.alerted.items() if t < self.clock - horizon_s]:
            del self.alerted[key]

    # --- encoding: compact binary of plain values, never pickle (the changelog
    # crosses process boundaries). Format 6 (docs/performance.md, "Subject state size"):
    # names as places in STATE_WORDS, times as whole milliseconds relative to the
    # clock, UUID event ids as 16 bytes; every one of them lossless, with a fallback.
    def to_bytes(self) -> bytes:
        out = Writer()
        signals, last_seen, alerted = self.signals, self.last_seen, self.alerted
        complaints, iot = self.complaints.counts, self.iot_exceedances.counts
        features = self.peer_features or ()
        # Every count first, in one go: most are below 128, a byte each.
        out.uints(
            STATE_FORMAT,
            self.version,
            self.events,
            len(signals),
            len(last_seen),
            len(alerted),
            len(complaints),
            len(iot),
            self.remembered,
            len(features),
            self.last_adverse is not None,
            len(self.honours),
            self.legal_rep_id is not None,
            self.tier is not None,
            self.red_list is not None,
        )
        out.double(self.clock)
        base = _clock_millis(self.clock)
        out.text(self.region)
        out.word(self.sector, _WORD_PLACES)
        if self.legal_rep_id is not None:
            out.text(self.legal_rep_id)
        if self.tier is not None:
            out.word(self.tier, _WORD_PLACES)
        out.scaled(self.score, 100)
        out.word(self.subject_type, _WORD_PLACES)
        out.scaled(self.tier_since_s, 1000, base)
        for name, value in signals.items():
            out.word(name, _WORD_PLACES)
            out.double(value)  # decayed counts: every bit of them is used
        for times in (last_seen, alerted):
            for name, at_s in times.items():
                out.word(name, _WORD_PLACES)
                out.scaled(at_s, 1000, base)
        for counts in (complaints, iot):
            if counts:
                _write_window_6(out, counts)
        out.raw(self.recent_ids)
        out.doubles(features)
        if self.last_adverse is not None:
            _write_mark_6(out, self.last_adverse, base)
        for mark in self.honours:
            _write_mark_6(out, mark, base)
        if self.red_list is not None:
            _write_listing_6(out, self.red_list, base)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SubjectState:
        source = Reader(data)
        version = source.uint()
        if version not in READABLE_FORMATS:
            raise ValueError(f"unknown subject state format {version!r}")
        state = _read_format_6(source) if version == 6 else _read_format_2_to_5(source, version)
        if not source.at_end():
            raise ValueError("subject state has trailing bytes")
        return state


#: Format 6 writes these strings (the vocabulary of topics/ and detectors/policy.toml as
#: of format 6) as their place here, one byte; any other string is spelled out. Append
#: only: a place never changes meaning, and a state naming a place this code lacks is
#: refused, never misread.
STATE_WORDS: tuple[str, ...] = (
    "", "A", "B", "C", "D",
    # subject types
    "enterprise", "individual_business", "state_owned", "public_institution",
    "social_organisation",
    # sectors
    "finance", "food_drug", "education", "environment", "construction",
    "production_safety", "elderly_childcare", "urban_operations", "other",
    # departments
    "market_regulation", "ecology_environment", "taxation", "court", "government_services",
    "housing_construction", "emergency_management", "health", "financial_regulation",
    "industry_association", "superior_unit", "audit", "discipline_inspection",
    "organisation_personnel",
    # complaint categories ("other" is above)
    "food_safety", "drug_safety", "product_quality", "price", "contract", "advertising",
    "prepaid_card", "service_quality", "counterfeit", "weights_measures",
    # policy signals (also the rule keys of their alerts)
    "penalty_minor", "penalty_general", "penalty_serious", "licence_suspended",
    "licence_revoked", "court_dishonest_debtor", "tax_violation", "abnormal_operation",
    "spot_check_problems", "commitment_breached_approval_substitution",
    "commitment_breached_voluntary", "commitment_breached_industry_self_discipline",
    "commitment_breached_credit_repair", "decision_refused", "interview", "honour",
    "voluntary_registration", "commitment_fulfilled", "spot_check_passed",
    "repair_completed", "sector_evaluation_a", "sector_evaluation_b",
    "sector_evaluation_c", "sector_evaluation_d",
    # the other rule keys of a subject's alerts
    "tier_d", "iot_exceedances",
    "complaint_surge:food_safety",
    "complaint_surge:drug_safety",
    "complaint_surge:product_quality",
    "complaint_surge:price",
    "complaint_surge:contract",
    "complaint_surge:advertising",
    "complaint_surge:prepaid_card",
    "complaint_surge:service_quality",
    "complaint_surge:counterfeit",
    "complaint_surge:weights_measures",
    "complaint_surge:other",
    # list exit reasons
    "expired", "repaired", "objection_upheld", "corrected", "no_longer_eligible",
)  # fmt: skip
_WORD_PLACES = {word: place for place, word in enumerate(STATE_WORDS)}


def _clock_millis(clock: float) -> int:
    """The whole milliseconds format 6 counts a state's other times from."""
    return round(clock * 1000) if abs(clock) < 1e12 else 0


def _read_format_6(source: Reader) -> SubjectState:
    (
        version,
        events,
        signals,
        last_seen,
        alerted,
        complaints,
        iot,
        remembered,
        features,
        adverse,
        honours,
        has_legal_rep,
        has_tier,
        listed,
    ) = source.uints(14)
    clock = source.double()
    base = _clock_millis(clock)
    words = STATE_WORDS
    state = SubjectState(
        clock=clock,
        region=source.text(),
        sector=source.word(words),
        legal_rep_id=source.text() if has_legal_rep else None,
        tier=source.word(words) if has_tier else None,
        score=source.scaled(100),
        version=version,
        events=events,
        subject_type=source.word(words),
        tier_since_s=source.scaled(1000, base),
    )
    state.signals = {source.word(words): source.double() for _ in range(signals)}
    state.last_seen = {source.word(words): source.scaled(1000, base) for _ in range(last_seen)}
    state.alerted = {source.word(words): source.scaled(1000, base) for _ in range(alerted)}
    if complaints:
        _read_window_6(source, state.complaints, complaints)
    if iot:
        _read_window_6(source, state.iot_exceedances, iot)
    state.recent_ids = bytearray(source.raw(remembered * FINGERPRINT_BYTES))
    state.peer_features = source.doubles(features) or None
    if adverse:
        state.last_adverse = _read_mark_6(source, base)
    state.honours = [_read_mark_6(source, base) for _ in range(honours)]
    if listed:
        state.red_list = _read_listing_6(source, base)
    return state


def _read_format_2_to_5(source: Reader, version: int) -> SubjectState:
    state = SubjectState(
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
    return state


def _write_event_id(out: Writer, event_id: str) -> None:
    """A canonical (lower-case, hyphenated) UUID as a 0 and its 16 bytes; any other id as
    its text after its length + 1."""
    if len(event_id) == 36 and event_id[8] == event_id[13] == event_id[18] == event_id[23] == "-":
        try:
            packed = bytes.fromhex(event_id.replace("-", ""))
        except ValueError:
            packed = b""
        if len(packed) == 16 and _uuid_text(packed) == event_id:
            out.uint(0)
            out.raw(packed)
            return
    raw = event_id.encode("utf-8")
    out.uint(len(raw) + 1)
    out.raw(raw)


def _read_event_id(source: Reader) -> str:
    size = source.uint()
    if size == 0:
        return _uuid_text(source.raw(16))
    return source.raw(size - 1).decode("utf-8")


def _uuid_text(packed: bytes) -> str:
    digits = packed.hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _write_mark_6(out: Writer, mark: CreditMark, base: int) -> None:
    _write_event_id(out, mark.event_id)
    out.word(mark.signal, _WORD_PLACES)
    out.scaled(mark.at_s, 1000, base)
    out.word(mark.department, _WORD_PLACES)


def _read_mark_6(source: Reader, base: int) -> CreditMark:
    return CreditMark(
        _read_event_id(source),
        source.word(STATE_WORDS),
        source.scaled(1000, base),
        source.word(STATE_WORDS),
    )


def _write_listing_6(out: Writer, listing: Listing, base: int) -> None:
    """A red-list membership (its procedure fields are the defaults: the red list has none)."""
    out.uints(
        listing.version,
        listing.active,
        len(listing.basis),
        listing.expires_at_s is not None,
        listing.exited_at_s is not None,
        listing.exit_reason is not None,
    )
    out.scaled(listing.entered_at_s, 1000, base)
    if listing.expires_at_s is not None:
        out.scaled(listing.expires_at_s, 1000, base)
    if listing.exited_at_s is not None:
        out.scaled(listing.exited_at_s, 1000, base)
    if listing.exit_reason is not None:
        out.word(listing.exit_reason, _WORD_PLACES)
    for event_id in listing.basis:
        _write_event_id(out, event_id)


def _read_listing_6(source: Reader, base: int) -> Listing:
    version, active, basis, expires, exited, has_reason = source.uints(6)
    entered_at_s = source.scaled(1000, base)
    expires_at_s = source.scaled(1000, base) if expires else None
    exited_at_s = source.scaled(1000, base) if exited else None
    exit_reason = source.word(STATE_WORDS) if has_reason else None
    return Listing(
        kind="red_list",
        version=version,
        active=bool(active),
        entered_at_s=entered_at_s,
        expires_at_s=expires_at_s,
        basis=[_read_event_id(source) for _ in range(basis)],
        exited_at_s=exited_at_s,
        exit_reason=exit_reason,
    )


def _write_window_6(out: Writer, counts: dict[tuple[int, str], int]) -> None:
    """Buckets counted back from the newest, which comes first; labels as words."""
    newest = max(bucket for bucket, _ in counts)
    out.sint(newest)
    for (bucket, label), count in sorted(counts.items()):
        out.uint(newest - bucket)
        out.word(label, _WORD_PLACES)
        out.uint(count)


def _read_window_6(source: Reader, window: BucketCounts, size: int) -> None:
    window.newest = newest = source.sint()
    window.counts = {
        (newest - source.uint(), source.word(STATE_WORDS)): source.uint() for _ in range(size)
    }


# --- formats 2 to 5: doubles for every number, names spelled out


def _read_numbers(source: Reader) -> dict[str, float]:
    return {source.text(): source.double() for _ in range(source.uint())}


def _read_marks(source: Reader) -> list[CreditMark]:
    return [
        CreditMark(source.text(), source.text(), source.double(), source.text())
        for _ in range(source.uint())
    ]


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


def _read_optional_double(source: Reader) -> float | None:
    return source.double() if source.uint() else None


def _read_window(source: Reader, window: BucketCounts) -> None:
    window.load_list([[source.sint(), source.text(), source.uint()] for _ in range(source.uint())])
