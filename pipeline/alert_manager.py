"""The alert manager's decisions: what one subject's alerts become, message by message.

The step of the alert manager (streams/agents/alert_manager.py). A candidate
alert from a detector, or a person's command, meets the subject's
:class:`~detectors.alert_book.AlertBook`; the result is the lifecycle
snapshots to publish on ``risk.alerts``. Silences are judged at wall time, so
the context carries the clock as well as the silences in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detectors.alert_book import AlertBook, Snapshot
from detectors.policy import AlertPolicy
from topics.internal import Action, AlertMessage, Command
from topics.silences import Silence


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What the manager reads besides the book and the message."""

    policy: AlertPolicy
    silences: Sequence[Silence]  # in force, as last read
    now_s: float  # wall time


def step(
    book: AlertBook | None, message: AlertMessage, context: AlertContext
) -> tuple[AlertBook, list[Snapshot]]:
    """Apply a command, or receive a candidate: the snapshots to publish."""
    book = book if book is not None else AlertBook()
    if isinstance(message, Command):
        return book, book.command(message)
    return book, book.receive(message, context.silences, context.policy, context.now_s)


def in_force(silences: Iterable[Silence], now_s: float) -> list[Silence]:
    """The silences that can still mute something: not yet ended at ``now_s``."""
    return [s for s in silences if s.ends_at.timestamp() > now_s]


def escalation(alert: Mapping[str, Any], policy: AlertPolicy, now_s: float) -> Command:
    """The system's escalation of a critical alert nobody acknowledged within the SLA."""
    note = f"not acknowledged within {policy.critical_ack_sla_s / 60:g} minutes"
    return Command(Action.ESCALATE, alert["alert_id"], "system", note, now_s)
