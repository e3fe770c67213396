"""Seed 一: the four kinds of credit commitment, and what a broken one sets off, by policy.

A commitment is broken when its subject is reported to have broken it
(``commitment_breached``) or when its deadline passes unfulfilled. Either
way the breach goes on the record under its kind's own credit signal, so each
kind has its own score effect (``[signals.commitment_breached_<kind>]``), and
the kind's consequences follow (``[commitments.<kind>]`` in the policy):

* ``revoke_approval`` (审批替代型): the approval granted on the strength of the
  commitment is to be revoked: a notice to the department that accepted it;
  the strict-licensing measure follows from the breach record itself (the
  ``approval_commitment_breach`` list, ``[lists.approval_commitment_breach]``);
* ``notify_association`` (行业自律型): the industry association that runs the
  self-discipline scheme is told (seed 十八);
* ``void_repair`` (信用修复型): the credit repairs approved on the commitment
  are void: the repaired records are published again, count again, and the
  lists are re-evaluated (seed 十三).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from detectors.policy_values import PolicyError
from detectors.policy_values import require as _get
from topics.vocabulary import CommitmentKind


class Consequence(StrEnum):
    REVOKE_APPROVAL = "revoke_approval"
    NOTIFY_ASSOCIATION = "notify_association"
    VOID_REPAIR = "void_repair"


def breach_signal(kind: str) -> str:
    """The credit signal a breach of a ``kind`` commitment records.

    >>> breach_signal("credit_repair")
    'commitment_breached_credit_repair'
    """
    return f"commitment_breached_{kind}"


BREACH_SIGNALS = frozenset(breach_signal(kind) for kind in CommitmentKind)


@dataclass(frozen=True, slots=True)
class CommitmentRules:
    """What a breach of each kind sets off, besides its signal."""

    consequences: Mapping[str, frozenset[Consequence]]  # by CommitmentKind value

    def of(self, kind: str) -> frozenset[Consequence]:
        return self.consequences.get(kind, frozenset())


def parse_commitments(
    table: dict[str, Any], signals: set[str], class_of: Mapping[str, str]
) -> CommitmentRules:
    """``[commitments.<kind>]`` for every kind; each kind's breach signal must be a
    signal with a publication class (a breach is published, seed 一/十五)."""
    consequences: dict[str, frozenset[Consequence]] = {}
    for kind in CommitmentKind:
        where = f"commitments.{kind.value}."
        section = _get(table, kind.value, dict, "commitments.")
        names = _get(section, "consequences", list, where)
        try:
            consequences[kind.value] = frozenset(Consequence(name) for name in names)
        except ValueError:
            known = ", ".join(c.value for c in Consequence)
            raise PolicyError(f"policy: '{where}consequences' may name only {known}") from None
        signal = breach_signal(kind.value)
        if signal not in signals or signal not in class_of:
            raise PolicyError(
                f"policy: a {kind.value} breach records 'signals.{signal}', "
                f"which needs its points and a 'publication.class_of.{signal}'"
            )
    unknown = sorted(set(table) - {kind.value for kind in CommitmentKind})
    if unknown:
        raise PolicyError(f"policy: unknown commitment kind 'commitments.{unknown[0]}'")
    return CommitmentRules(consequences)
