"""``risk.silences``: who muted which alerts, from when to when, and why.

A silence mutes new alerts whose fields equal every matcher (Alertmanager's
equality matchers). Keyed by ``silence_id`` on a compacted topic; ending a
silence early republishes it with an earlier ``ends_at``, so its history is
never deleted. The one :class:`Silence` type: the API validates it, the topic
carries it, Redis mirrors it and the alert manager applies it
(:meth:`Silence.mutes`, in detectors/alert_book.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import faust

from topics import validation as v
from topics.vocabulary import AlertKind, AlertSeverity, Sector

#: A silence longer than this is a policy change, not a silence.
MAX_SILENCE = timedelta(days=90)
MATCHER_CHECKS = {
    "subject": lambda data: v.uscc(data, "subject"),
    "region": lambda data: v.region_code(data, "region"),
    "sector": lambda data: str(v.choice(data, "sector", Sector)),
    "kind": lambda data: str(v.choice(data, "kind", AlertKind)),
    "severity": lambda data: str(v.choice(data, "severity", AlertSeverity)),
}


#: The alert fields a silence can match.
MATCHABLE = tuple(MATCHER_CHECKS)


class Silence(faust.Record, serializer="json", include_metadata=False, isodates=True):
    """Mutes new alerts whose fields equal every matcher, from ``starts_at`` to ``ends_at``."""

    silence_id: str
    matchers: dict[str, str]  # field in MATCHABLE -> required value
    starts_at: datetime
    ends_at: datetime
    reason: str
    author: str
    created_at: datetime

    def mutes(self, alert: Mapping[str, Any], at_s: float) -> bool:
        """Whether it mutes ``alert`` (a wire dict) raised at wall time ``at_s``."""
        return self.starts_at.timestamp() <= at_s < self.ends_at.timestamp() and all(
            str(alert.get(name)) == value for name, value in self.matchers.items()
        )


def silence_from_request(body: Mapping[str, Any], author: str, now: datetime) -> Silence:
    """Validate a request to create a silence; :class:`~topics.validation.InvalidRecord` if bad.

    ``starts_at`` defaults to now; the end is ``ends_at`` or ``duration_minutes``.
    """
    raw_matchers = v.require(body, "matchers")
    if not isinstance(raw_matchers, dict) or not raw_matchers:
        raise v.InvalidRecord(
            v.Reason.WRONG_TYPE, "'matchers' must be a non-empty object", "matchers"
        )
    unknown = set(raw_matchers) - set(MATCHER_CHECKS)
    if unknown:
        allowed = ", ".join(MATCHER_CHECKS)
        raise v.InvalidRecord(
            v.Reason.BAD_ENUM, f"unknown matcher {sorted(unknown)}; use {allowed}", "matchers"
        )
    matchers = {name: MATCHER_CHECKS[name](raw_matchers) for name in raw_matchers}
    starts = v.timestamp(body, "starts_at", required=False, future_ok=True, now=now) or now
    # A start further ahead than the longest silence is a typo, and near the
    # calendar's end adding the duration would overflow.
    if starts > now + MAX_SILENCE:
        raise v.InvalidRecord(
            v.Reason.OUT_OF_RANGE, "a silence must start within 90 days from now", "starts_at"
        )
    if "duration_minutes" in body:
        longest = MAX_SILENCE.total_seconds() / 60
        minutes = v.number(body, "duration_minutes", minimum=1, maximum=longest)
        assert minutes is not None
        ends = starts + timedelta(minutes=minutes)
    else:
        end = v.timestamp(body, "ends_at", future_ok=True, now=now)
        assert end is not None  # required
        ends = end
    if not starts < ends <= starts + MAX_SILENCE:
        raise v.InvalidRecord(
            v.Reason.OUT_OF_RANGE, "a silence must end after it starts, within 90 days", "ends_at"
        )
    reason = v.text(body, "reason", max_length=v.MAX_TEXT_LENGTH)
    assert reason is not None
    return Silence(
        silence_id=uuid.uuid4().hex,
        matchers=matchers,
        starts_at=starts,
        ends_at=ends,
        reason=reason,
        author=author,
        created_at=now,
    )
