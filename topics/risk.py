"""Output contracts: ``risk.alerts``, ``risk.tier-changes``, ``risk.dlq``.

These are the public interface for supervision centres and department systems.
Values are plain JSON (no Faust metadata), keyed by the subject USCC (the DLQ is
keyed by the original key, when it is small enough to copy), so any Kafka client
can read them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from topics.vocabulary import AlertKind, AlertSeverity, AlertStatus, Disposition, Sector, Tier


class Evidence(faust.Record, serializer="json", include_metadata=False):
    """One contributing fact behind an alert or tier change, with its number.

    ``fact`` is a code; ``label`` says what it is in English and ``label_zh`` in
    Chinese; ``detail`` explains it in English and ``detail_zh`` in Chinese. All
    four come from one table (pipeline/alert_titles.py); records written before
    them lack them, and a fact not yet worded there has ``detail`` only.
    """

    fact: str
    value: float
    threshold: float | None = None
    detail: str | None = None
    detail_zh: str | None = None
    label: str | None = None
    label_zh: str | None = None


class Alert(faust.Record, serializer="json", include_metadata=False):
    """A warning for the board and inspectors: one snapshot of it per lifecycle event.

    ``subject`` and ``tier`` are null for area-wide alerts (cross-region), which
    concern a complaint category across counties rather than one subject; their
    ``score`` is 0 and their ``region`` the city's code.

    The alert manager (detectors/alert_book.py) publishes a snapshot on every
    change: ``event`` says what happened, ``revision`` rises by one per alert
    (apply the highest, ignore redeliveries), ``count`` and ``last_seen_at``
    grow when the condition repeats, ``muted_by`` names the silence or the
    inhibiting alert, ``actor``/``note`` who acted and why.

    ``title`` is in English, ``title_zh`` the same in Chinese; both come from one
    table by rule (pipeline/alert_titles.py). ``rule`` is the id of the rule that
    fired (``detectors.alert_rules.AlertRule``).

    ``disposition`` says where the alert is shown, as the policy's
    ``[alerts.disposition]`` decides for its rule: ``board`` (the live board and
    inspectors' inboxes), ``case`` (the subject's alert history only) or
    ``digest`` (the subject's history, and counted in the daily digest whose
    dedup key is ``digest_key``). A digest is itself an alert on the board: see
    :func:`is_digest`.
    """

    alert_id: str
    dedup_key: str
    subject: str | None
    kind: AlertKind
    severity: AlertSeverity
    score: float
    tier: Tier | None
    region: str
    sector: Sector
    title: str
    evidence: list[Evidence]
    source_event_ids: list[str]
    created_at: datetime
    status: AlertStatus
    policy_version: str
    event: str = "opened"  # opened, repeated, acknowledged, resolved, escalated
    revision: int = 1
    count: int = 1
    last_seen_at: datetime | None = None
    updated_at: datetime | None = None
    muted_by: str | None = None
    escalated: bool = False
    actor: str | None = None
    note: str | None = None
    title_zh: str | None = None  # ``title`` in Chinese (null in alerts from before it)
    rule: str | None = None  # the rule that fired (null in alerts from before it)
    disposition: Disposition = Disposition.BOARD
    digest_key: str | None = None  # the digest a ``digest`` alert is counted in


class TierChange(faust.Record, serializer="json", include_metadata=False):
    """A subject's credit tier moved; ``version`` rises by one per subject."""

    subject: str
    previous_tier: Tier | None
    tier: Tier
    score: float
    reasons: list[Evidence]
    effective_at: datetime
    version: int
    policy_version: str
    region: str
    sector: Sector


#: A dead letter copies a message's key or value whole up to this many bytes. The
#: largest valid input record is far smaller (``topics.decode.MAX_RECORD_BYTES``), and
#: a letter with both copied whole (base64: 4/3 the size) stays well inside the
#: 1,000,000 bytes the worker's producer sends at most.
DEAD_LETTER_COPY_MAX = 64 * 1024
#: Of a larger key or value, a dead letter keeps the first this many bytes.
DEAD_LETTER_EXCERPT = 4 * 1024
#: The reason of a dead letter for a record the worker made (an output, a table's
#: changelog record) that is larger than its producer sends; not an input :class:`Reason`.
OUTPUT_TOO_LARGE = "output_too_large"
#: A rejection's ``detail`` is cut to this many characters (it may quote the input).
DEAD_LETTER_DETAIL_MAX = 1024


class DeadLetter(faust.Record, serializer="json", include_metadata=False):
    """A message nobody can process, with the reason, and where the original is.

    ``key_b64``/``value_b64`` copy the message byte for byte (base64) up to
    :data:`DEAD_LETTER_COPY_MAX` bytes each. A larger part is not copied: its
    ``*_excerpt_b64`` holds its first :data:`DEAD_LETTER_EXCERPT` bytes,
    ``truncated`` is true, and the original stays on ``source_topic`` at
    ``partition``/``offset`` (for the topic's retention). ``*_size`` and
    ``*_sha256`` describe the original, whole, either way.

    ``partition`` and ``offset`` are null for a record the worker made and could
    not send (reason ``output_too_large``): it exists nowhere else.
    """

    source_topic: str
    partition: int | None
    offset: int | None
    key_b64: str | None
    value_b64: str | None
    reason: str
    detail: str
    field: str | None
    received_at: datetime
    truncated: bool = False
    key_size: int | None = None
    value_size: int | None = None
    key_sha256: str | None = None
    value_sha256: str | None = None
    key_excerpt_b64: str | None = None
    value_excerpt_b64: str | None = None


@dataclass(frozen=True, slots=True)
class _Kept:
    """What a dead letter keeps of a key or a value."""

    whole_b64: str | None = None
    excerpt_b64: str | None = None
    size: int | None = None
    sha256: str | None = None

    @classmethod
    def of(cls, data: bytes | None) -> _Kept:
        if data is None:
            return cls()
        digest = hashlib.sha256(data).hexdigest()
        if len(data) <= DEAD_LETTER_COPY_MAX:
            return cls(whole_b64=_b64(data), size=len(data), sha256=digest)
        return cls(excerpt_b64=_b64(data[:DEAD_LETTER_EXCERPT]), size=len(data), sha256=digest)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dead_letter(
    source_topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    detail: str,
    field: str | None = None,
) -> DeadLetter:
    """The dead letter of one message, bounded in size whatever the message's size.

    >>> letter = dead_letter("iot.readings", 0, 7, b"k", b"x" * 100_000, "too_large", "big")
    >>> letter.truncated, letter.value_b64, letter.value_size
    (True, None, 100000)
    >>> len(base64.b64decode(letter.value_excerpt_b64)) == DEAD_LETTER_EXCERPT
    True
    """
    kept_key, kept_value = _Kept.of(key), _Kept.of(value)
    if len(detail) > DEAD_LETTER_DETAIL_MAX:
        detail = detail[: DEAD_LETTER_DETAIL_MAX - 1] + "…"
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key_b64=kept_key.whole_b64,
        value_b64=kept_value.whole_b64,
        reason=reason,
        detail=detail,
        field=field,
        received_at=datetime.now(UTC),
        truncated=kept_key.excerpt_b64 is not None or kept_value.excerpt_b64 is not None,
        key_size=kept_key.size,
        value_size=kept_value.size,
        key_sha256=kept_key.sha256,
        value_sha256=kept_value.sha256,
        key_excerpt_b64=kept_key.excerpt_b64,
        value_excerpt_b64=kept_value.excerpt_b64,
    )


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The dead letter's own Kafka key: the original key, unless too large to copy."""
    return key if key is None or len(key) <= DEAD_LETTER_COPY_MAX else None


#: An area-wide alert names each county it concerns in an evidence fact "county 130102".
COUNTY_FACT_PREFIX = "county "


def county_fact(county: str) -> str:
    return COUNTY_FACT_PREFIX + county


#: The dedup key of a daily digest: ``digest:{rule}:{county}:{sector}:{day}``.
DIGEST_PREFIX = "digest:"
#: A digest names each alert it counts by its subject, in an evidence fact "subject {uscc}".
SUBJECT_FACT_PREFIX = "subject "


def digest_key(rule: str, county: str, sector: str, day: str) -> str:
    """The digest of ``rule``'s alerts in ``county`` and ``sector`` on ``day``
    (``YYYY-MM-DD`` in the policy's time zone)."""
    return f"{DIGEST_PREFIX}{rule}:{county}:{sector}:{day}"


def subject_fact(subject: str) -> str:
    return SUBJECT_FACT_PREFIX + subject


def is_digest(alert: Mapping[str, Any]) -> bool:
    """Whether an alert (wire dict) is a daily digest: one board item for a day's
    alerts of one rule in one county, each of which has disposition ``digest``."""
    return str(alert.get("dedup_key", "")).startswith(DIGEST_PREFIX)


def on_board(alert: Mapping[str, Any]) -> bool:
    """Whether an alert snapshot (wire dict) is an item of the live board: not
    resolved, not muted, and shown there by its disposition (alerts written
    before dispositions existed are)."""
    return (
        alert.get("status") != AlertStatus.RESOLVED.value
        and alert.get("muted_by") is None
        and alert.get("disposition", Disposition.BOARD.value) == Disposition.BOARD.value
    )


def alert_counties(alert: Mapping[str, Any]) -> set[str]:
    """The counties an alert (wire dict) concerns: its region, or for an area-wide
    alert (no subject) the counties its evidence names; a digest's is its county."""
    if alert.get("subject") is not None or is_digest(alert):
        return {str(alert.get("region"))}
    facts = (str(item.get("fact", "")) for item in alert.get("evidence") or ())
    return {f.removeprefix(COUNTY_FACT_PREFIX) for f in facts if f.startswith(COUNTY_FACT_PREFIX)}


def to_json_dict(record: faust.Record) -> dict[str, Any]:
    """The record as it appears on the wire (enums as strings, times as ISO 8601)."""
    import orjson

    return dict(orjson.loads(record.dumps()))
