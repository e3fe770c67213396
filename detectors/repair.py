"""Credit repair eligibility (seed 十三, NDRC Order 36): the exact reasons and the earliest date.

A record may be repaired once its class's minimum publication period has
passed, the subject has made a credit-repair commitment (信用修复型承诺) and
not broken it, every rectification order is complete, and no new record of
the same class or worse was made shortly before applying. Each unmet
condition is reported as a :class:`~detectors.scoring.Fact`: its code, and its
explanation as a wording (``says``) over what it names (``about``), worded in
Chinese and English by pipeline/alert_titles.py; when the unmet conditions are
only a matter of time, ``earliest_s`` says when they will hold.
"""

from __future__ import annotations

from collections.abc import Mapping

from detectors.casefile import CaseFile, Commitment, CreditRecord, ItemStatus
from detectors.scoring import Fact, TitleValue
from detectors.supervision_policy import SupervisionPolicy
from topics.vocabulary import CommitmentKind

CLASS_RANK = {"minor": 0, "general": 1, "serious": 2}


def reason(code: str, says: str, about: Mapping[str, TitleValue] | None = None) -> Fact:
    """An unmet condition (or any notice's reason): its code and what explains it."""
    return Fact(code, 1.0, says=says, about=about or {})


def assess_repair(
    case: CaseFile, record_id: str, applied_at_s: float, rules: SupervisionPolicy
) -> tuple[list[Fact], float | None]:
    """Why the record cannot be repaired at ``applied_at_s`` (empty: it can), and the
    earliest time the time-bound conditions (minimum period, clean period) hold; the
    others need the subject to act. None when no time-bound condition is unmet, or
    the record cannot be repaired at all."""
    record = case.record(record_id)
    if record is None:
        return [reason("no_published_record", "record_not_on_file", {"record": record_id})], None
    if not record.published:
        about: dict[str, TitleValue] = {"record": record_id, "publication": record.status.value}
        return [reason("no_published_record", "record_not_published", about)], None
    calendar = rules.calendar
    reasons: list[Fact] = []
    earliest: list[float] = []
    if record.signal in rules.repair.not_repairable:
        return [reason("not_repairable", "not_repairable", {"signal": record.signal})], None
    period = rules.publication_of(record.signal)
    assert period is not None, "records on file have a publication class"
    if applied_at_s < record.repairable_from_s:
        day = calendar.iso_date(record.repairable_from_s)
        about = {"penalty_severity": period.name, "days": period.min_days, "day": day}
        reasons.append(reason("minimum_period", "minimum_period", about))
        earliest.append(record.repairable_from_s)
    if rules.repair.needs_commitment and repair_commitment(case, applied_at_s, rules) is None:
        reasons.append(reason("no_repair_commitment", "no_repair_commitment"))
    if rules.repair.needs_rectification_done:
        outstanding = [
            r.event_id
            for r in case.rectifications
            if r.status in (ItemStatus.OPEN, ItemStatus.OVERDUE)
        ]
        if outstanding:
            about = {"orders": tuple(outstanding)}
            reasons.append(reason("rectification_outstanding", "rectification_outstanding", about))
    newer = _newer_as_bad(case, record, applied_at_s, rules)
    if newer is not None:
        clean_from = calendar.days_after_s(newer.at_s, rules.repair.clean_days)
        about = {
            "event": newer.event_id,
            "signal": newer.signal,
            "day": calendar.iso_date(newer.at_s),
            "days": rules.repair.clean_days,
            "clean_from": calendar.iso_date(clean_from),
        }
        reasons.append(reason("recent_record", "recent_record", about))
        earliest.append(clean_from)
    return reasons, max(earliest, default=None)


def repair_commitment(
    case: CaseFile, applied_at_s: float, rules: SupervisionPolicy
) -> Commitment | None:
    """The newest credit-repair commitment made within the lookback and not broken: what
    a repair applied at ``applied_at_s`` rests on (breaking it later voids the repair)."""
    lookback = rules.repair.commitment_lookback_s
    found = [
        c
        for c in case.commitments
        if c.kind == CommitmentKind.CREDIT_REPAIR.value
        and c.status is not ItemStatus.BREACHED
        and 0 <= applied_at_s - c.made_at_s <= lookback
    ]
    return max(found, key=lambda c: c.made_at_s, default=None)


def _newer_as_bad(
    case: CaseFile, record: CreditRecord, applied_at_s: float, rules: SupervisionPolicy
) -> CreditRecord | None:
    """The newest counting record of the same class or worse made after ``record`` and
    within the clean period before applying."""
    rank = CLASS_RANK[rules.class_of[record.signal]]
    newer = [
        r
        for r in case.records
        if r.event_id != record.event_id
        and r.published
        and record.at_s < r.at_s <= applied_at_s
        and applied_at_s < rules.calendar.days_after_s(r.at_s, rules.repair.clean_days)
        and CLASS_RANK[rules.class_of[r.signal]] >= rank
    ]
    return max(newer, key=lambda r: r.at_s, default=None)
