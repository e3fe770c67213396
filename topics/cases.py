"""``risk.cases`` and ``risk.internal.case-commands``: a subject's case and what people do to it.

A case gathers what one subject (or, for an alert about an area rather than
a subject, one cross-subject incident) needs an official to handle: its
alerts, the workflow notices about it, an owner, a status, notes, and a
verdict per alert (docs/cases.md). The case agent
(streams/agents/cases.py) keeps one :class:`~pipeline.cases.CaseBook` per
case key and reads three topics keyed alike: ``risk.alerts`` (keyed by
subject, an area-wide alert by its dedup key), ``risk.workflow`` (by subject)
and ``risk.internal.case-commands`` (by case key, from the API and the SLA
timer). It publishes each changed case on ``risk.cases`` (compacted, keyed by
case key): the latest case of a key, as a JSON object (:mod:`pipeline.cases`
builds it).

A *verdict* is the issue's "disposition per alert": was the alert right?
It is not the alert's ``disposition`` (where the alert is shown: board,
digest or case), hence the other word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import orjson


class CaseStatus(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    MEASURES_TAKEN = "measures_taken"
    CLOSED = "closed"


class Verdict(StrEnum):
    """What an official found an alert to be; precision per rule counts these."""

    RISK_CONFIRMED = "risk_confirmed"
    FALSE_POSITIVE = "false_positive"
    NOT_ACTIONABLE = "not_actionable"


class CaseAction(StrEnum):
    ASSIGN = "assign"  # a new owner (centres)
    STATUS = "status"  # move along new → investigating → measures_taken → closed
    NOTE = "note"
    VERDICT = "verdict"  # on one alert of the case
    ATTACH = "attach"  # a file, already in the record store
    ESCALATE = "escalate"  # the SLA timer: the case is past its due time


@dataclass(frozen=True, slots=True)
class CaseCommand:
    """An action on the case ``case_id`` (the key's current case), by ``actor`` at ``at_s``.

    ``value`` is the new owner, the new status or the note's text; ``alert_id``
    and ``value`` (a :class:`Verdict`) for a verdict; ``attachment`` (its id, name,
    media type, size and SHA-256) for a file; nothing for an escalation.
    """

    action: CaseAction
    case_id: str
    actor: str
    at_s: float
    value: str = ""
    alert_id: str | None = None
    attachment: dict[str, Any] | None = None


#: The field that marks a message of ``risk.internal.case-commands`` among the three topics.
COMMAND_FIELD = "case_command"


def encode_case_command(command: CaseCommand) -> bytes:
    return orjson.dumps({COMMAND_FIELD: asdict(command)})


#: What the case agent reads: an alert snapshot or a workflow notice (JSON objects, as on
#: their topics), or a command.
CaseMessage = dict[str, Any] | CaseCommand


def decode_case_message(value: bytes) -> CaseMessage:
    """A command, or the alert snapshot or workflow notice as the JSON object it is.
    ``ValueError``/``KeyError``/``TypeError`` for anything else (to the dead-letter topic)."""
    document = orjson.loads(value)
    if not isinstance(document, dict):
        raise ValueError("a case message must be a JSON object")
    command = document.get(COMMAND_FIELD)
    if command is not None:
        return CaseCommand(
            action=CaseAction(command["action"]),
            case_id=str(command["case_id"]),
            actor=str(command["actor"]),
            at_s=float(command["at_s"]),
            value=str(command.get("value", "")),
            alert_id=command.get("alert_id"),
            attachment=command.get("attachment"),
        )
    if "alert_id" in document or "notice_id" in document:
        return document
    raise ValueError("neither an alert, a workflow notice nor a case command")


def case_id_of(key: str, number: int) -> str:
    """A case's id: its key (subject or incident) and its number for that key.

    >>> case_id_of("91130100MA0ABCDE1X", 2)
    '91130100MA0ABCDE1X~2'
    """
    return f"{key}~{number}"


def case_key_of(case_id: str) -> str:
    """The key (subject or incident) of a case id: the partition key of its commands.

    >>> case_key_of("91130100MA0ABCDE1X~2")
    '91130100MA0ABCDE1X'
    """
    key, sep, number = case_id.rpartition("~")
    if not sep or not key or not number.isascii() or not number.isdigit():
        raise ValueError(f"not a case id: {case_id!r}")
    return key
