"""The alert lifecycle of one subject: dedup, counts, inhibition, silences, ack, resolve, escalate.

Detectors raise *candidate* alerts; the book decides what supervisors see, as
Prometheus Alertmanager and the case managers of risk engines do:

- **dedup**: a candidate with the dedup key of an alert still open, seen again
  within the cooldown, raises that alert's ``count`` and ``last_seen_at``
  instead of opening a new one;
- **grouping**: one book per subject (area-wide alerts and daily digests: per
  dedup key), so a subject's alerts are listed and handled together; a digest
  counts the alerts it stands for and lists their subjects;
- **inhibition**: while a subject has an open critical or list alert on the
  board, its lower alerts are recorded but muted (``muted_by`` names the
  inhibiting alert); so are the other alerts one record raises (of the
  subject's own kinds, :data:`RECORD_KINDS`, and no higher severity) once the
  first is on the board: one record, one item;
- **silences**: a candidate matching an active silence is recorded but muted
  (``muted_by`` names the silence); an expired silence mutes nothing new, and a
  muted alert seen again once nothing mutes it any more is unmuted;
- **lifecycle**: open → acknowledged → resolved, by a person (who, when, why)
  or automatically when the condition has not been seen for
  ``auto_resolve_days``; a critical alert not acknowledged within its SLA is
  escalated once.

Every change is a *snapshot* of the alert with the ``event`` that caused it and
a ``revision`` that rises by one per alert, so consumers apply the newest and
ignore redeliveries. Snapshots are plain JSON dicts (the ``risk.alerts``
contract); this module does not import Faust.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from detectors.policy import AlertPolicy
from topics.internal import Action, Command
from topics.risk import is_digest, on_board
from topics.silences import Silence
from topics.vocabulary import SEVERITY_RANK, AlertKind, AlertSeverity, AlertStatus
from topics.wire_time import epoch, iso

STATE_FORMAT = 1
#: Source event ids kept on a repeated alert (the newest).
MAX_SOURCE_IDS = 20
#: Subjects a daily digest lists in its evidence (the latest); its ``count`` has them all.
MAX_DIGEST_SUBJECTS = 50
#: Kinds of alert a subject's own records raise: one record that raises several of
#: them (a court ruling: the ruling, the drop to tier D, the joint-punishment list)
#: is one item on the board, the others folded into it.
RECORD_KINDS = frozenset({AlertKind.RULE.value, AlertKind.LIST.value, AlertKind.DEADLINE.value})

Snapshot = dict[str, Any]


class AlertEvent(StrEnum):
    OPENED = "opened"
    REPEATED = "repeated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


def _tallied(listed: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A digest's evidence with ``new`` counted in: one fact per subject, its value the
    subject's alerts in the digest, its detail the latest; the latest subjects last."""
    by_fact = {fact["fact"]: fact for fact in listed}
    for fact in new:
        known = by_fact.pop(fact["fact"], None)
        value = fact["value"] + (known["value"] if known is not None else 0.0)
        by_fact[fact["fact"]] = {**fact, "value": value}
    return list(by_fact.values())[-MAX_DIGEST_SUBJECTS:]


@dataclass(slots=True)
class AlertBook:
    """The open (and acknowledged) alerts of one subject, by dedup key."""

    open: dict[str, Snapshot] = field(default_factory=dict)

    def receive(
        self,
        candidate: Mapping[str, Any],
        silences: Iterable[Silence],
        policy: AlertPolicy,
        now_s: float,
    ) -> list[Snapshot]:
        """A detector raised ``candidate``: the snapshots to publish (none if redelivered).

        Dedup, counts and auto-resolution follow event time; silences are an
        operational, wall-clock matter and are judged at ``now_s``.
        """
        at_s = epoch(candidate["created_at"])
        changes = self._auto_resolve(at_s, policy)
        existing = self.open.get(candidate["dedup_key"])
        if existing is not None and at_s - epoch(existing["last_seen_at"]) <= policy.cooldown_s:
            repeated = self._repeat(existing, candidate, at_s)
            if repeated is not None and existing["muted_by"] is not None:
                if self._muted_by(candidate, silences, now_s) is None:
                    # Its silence has ended or its inhibitor closed: back on the board.
                    existing["muted_by"] = repeated["muted_by"] = None
            return changes + ([repeated] if repeated is not None else [])
        if existing is not None:  # seen again only after the cooldown: a new occurrence
            changes.append(self._close(existing, "system", "superseded by a new occurrence", at_s))
        snapshot: Snapshot = {
            **candidate,
            "event": AlertEvent.OPENED.value,
            "revision": 1,
            "count": 1,
            "last_seen_at": candidate["created_at"],
            "updated_at": candidate["created_at"],
            "status": AlertStatus.OPEN.value,
            "muted_by": self._muted_by(candidate, silences, now_s),
            "escalated": False,
            "actor": None,
            "note": None,
        }
        self.open[candidate["dedup_key"]] = snapshot
        changes.append(dict(snapshot))
        changes += self._bound(policy, at_s)
        return changes

    def command(self, command: Command) -> list[Snapshot]:
        """Apply a person's action; nothing if the alert is not open here (or already so)."""
        found = next((s for s in self.open.values() if s["alert_id"] == command.alert_id), None)
        if found is None:
            return []
        if command.action is Action.RESOLVE:
            return [self._close(found, command.actor, command.note, command.at_s)]
        if command.action is Action.ACK:
            if found["status"] == AlertStatus.ACKNOWLEDGED.value:
                return []
            found["status"] = AlertStatus.ACKNOWLEDGED.value
            return [self._event(found, AlertEvent.ACKNOWLEDGED, command)]
        if found["status"] != AlertStatus.OPEN.value or found["escalated"]:
            return []  # escalation is for critical alerts nobody has acknowledged
        found["escalated"] = True
        return [self._event(found, AlertEvent.ESCALATED, command)]

    def _repeat(
        self, existing: Snapshot, candidate: Mapping[str, Any], at_s: float
    ) -> Snapshot | None:
        new_ids = [
            i for i in candidate["source_event_ids"] if i not in existing["source_event_ids"]
        ]
        if not new_ids:
            return None  # a redelivered candidate
        existing["count"] += 1
        existing["source_event_ids"] = (existing["source_event_ids"] + new_ids)[-MAX_SOURCE_IDS:]
        if is_digest(existing):  # it lists what it counts
            existing["evidence"] = _tallied(existing["evidence"], candidate["evidence"])
        if at_s >= epoch(existing["last_seen_at"]):
            existing["last_seen_at"] = candidate["created_at"]
            if not is_digest(existing):
                existing["evidence"] = candidate["evidence"]  # the latest facts
            existing["score"], existing["tier"] = candidate["score"], candidate["tier"]
        if SEVERITY_RANK[candidate["severity"]] > SEVERITY_RANK[existing["severity"]]:
            existing["severity"] = candidate["severity"]
        existing["revision"] += 1
        existing["event"] = AlertEvent.REPEATED.value
        existing["updated_at"] = candidate["created_at"]
        existing["actor"] = existing["note"] = None
        return dict(existing)

    def _muted_by(
        self, candidate: Mapping[str, Any], silences: Iterable[Silence], now_s: float
    ) -> str | None:
        for silence in silences:
            if silence.mutes(candidate, now_s):
                return f"silence:{silence.silence_id}"
        rank = SEVERITY_RANK[candidate["severity"]]
        trigger = candidate["source_event_ids"][-1:]  # the record that raised it, last
        for other in self.open.values():
            if other["dedup_key"] == candidate["dedup_key"] or not on_board(other):
                continue  # an alert nobody sees on the board stands in for none
            inhibits = (
                other["severity"] == AlertSeverity.CRITICAL.value
                or other["kind"] == AlertKind.LIST.value
            ) and SEVERITY_RANK[other["severity"]] > rank
            same_record = (
                candidate["kind"] in RECORD_KINDS
                and other["source_event_ids"][-1:] == trigger
                and SEVERITY_RANK[other["severity"]] >= rank
            )
            if inhibits or same_record:
                return f"alert:{other['alert_id']}"
        return None

    def _auto_resolve(self, at_s: float, policy: AlertPolicy) -> list[Snapshot]:
        stale = [
            s for s in self.open.values() if at_s - epoch(s["last_seen_at"]) > policy.auto_resolve_s
        ]
        days = policy.auto_resolve_s / 86_400
        note = f"condition not seen for {days:g} days"
        return [self._close(s, "system", note, at_s) for s in stale]

    def _bound(self, policy: AlertPolicy, at_s: float) -> list[Snapshot]:
        """Resolve the least recently seen alerts beyond ``max_open_per_subject``."""
        excess = len(self.open) - policy.max_open_per_subject
        if excess <= 0:
            return []
        oldest = sorted(self.open.values(), key=lambda s: epoch(s["last_seen_at"]))[:excess]
        return [
            self._close(s, "system", "too many open alerts for the subject", at_s) for s in oldest
        ]

    def _close(self, snapshot: Snapshot, actor: str, note: str, at_s: float) -> Snapshot:
        del self.open[snapshot["dedup_key"]]
        snapshot["status"] = AlertStatus.RESOLVED.value
        return self._event(
            snapshot, AlertEvent.RESOLVED, Command(Action.RESOLVE, "", actor, note, at_s)
        )

    @staticmethod
    def _event(snapshot: Snapshot, event: AlertEvent, command: Command) -> Snapshot:
        snapshot["revision"] += 1
        snapshot["event"] = event.value
        snapshot["actor"], snapshot["note"] = command.actor, command.note
        snapshot["updated_at"] = iso(command.at_s)
        return dict(snapshot)

    # --- encoding: JSON of plain values, never pickle (it crosses processes).
    def to_bytes(self) -> bytes:
        return orjson.dumps({"format": STATE_FORMAT, "open": self.open})

    @classmethod
    def from_bytes(cls, data: bytes) -> AlertBook:
        document = orjson.loads(data)
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown alert-book format {document.get('format')!r}")
        return cls(open=dict(document["open"]))
