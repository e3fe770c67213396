"""The alert manager's decisions: what one subject's alerts become, message by message.

The step of the alert manager (streams/agents/alert_manager.py), and the one
place that decides what an alert becomes. A candidate alert from a detector,
or a person's command, meets the subject's
:class:`~detectors.alert_book.AlertBook`; the result is the lifecycle
snapshots to publish on ``risk.alerts`` and, for an alert counted in a daily
digest, the candidate to send that digest's manager (pipeline/digests.py).
Where an alert is shown (its ``disposition``: board, case or digest) is the
policy's ``[alerts.disposition]`` for its rule and severity, decided here when
it arrives. Silences are judged at wall time, so the context carries the
clock as well as the silences in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detectors.alert_book import AlertBook, Snapshot
from detectors.policy import AlertPolicy, Policy
from pipeline.digests import counts_in_digest, digest_candidate, digest_key_of
from topics.internal import Action, AlertMessage, Command
from topics.risk import Alert, is_digest
from topics.silences import Silence
from topics.vocabulary import Disposition

#: What the step asks the agent to send: a snapshot for ``risk.alerts``, or a
#: candidate for a digest's manager (``risk.internal.alert-candidates``).
Output = Snapshot | Alert


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What the manager reads besides the book and the message."""

    policy: Policy
    silences: Sequence[Silence]  # in force, as last read
    now_s: float  # wall time


def step(
    book: AlertBook | None, message: AlertMessage, context: AlertContext
) -> tuple[AlertBook, list[Output]]:
    """Apply a command, or receive a candidate: the snapshots to publish, and the
    candidates for the digests that count newly opened alerts."""
    book = book if book is not None else AlertBook()
    if isinstance(message, Command):
        return book, list(book.command(message))
    candidate = disposed(message, context.policy)
    snapshots = book.receive(candidate, context.silences, context.policy.alerts, context.now_s)
    digests = [digest_candidate(s, context.policy) for s in snapshots if counts_in_digest(s)]
    return book, [*snapshots, *digests]


def disposed(candidate: Mapping[str, Any], policy: Policy) -> dict[str, Any]:
    """The candidate with where it is to be shown, as the policy says for its rule and
    severity; a digest is itself a board item."""
    if is_digest(candidate):
        return dict(candidate)
    disposition = policy.alerts.disposition_of(candidate.get("rule"), candidate["severity"])
    counted = disposition is Disposition.DIGEST
    return {
        **candidate,
        "disposition": disposition.value,
        "digest_key": digest_key_of(candidate, policy.supervision.calendar) if counted else None,
    }


def in_force(silences: Iterable[Silence], now_s: float) -> list[Silence]:
    """The silences that can still mute something: not yet ended at ``now_s``."""
    return [s for s in silences if s.ends_at.timestamp() > now_s]


def escalation(alert: Mapping[str, Any], policy: AlertPolicy, now_s: float) -> Command:
    """The system's escalation of a critical alert nobody acknowledged within the SLA."""
    note = f"not acknowledged within {policy.critical_ack_sla_s / 60:g} minutes"
    return Command(Action.ESCALATE, alert["alert_id"], "system", note, now_s)
