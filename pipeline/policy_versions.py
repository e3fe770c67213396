"""Policy versions by maker-checker (issue 17, item 4): proposed, approved by a second
official, then in force.

Pure decisions on :class:`topics.policy_versions.PolicyVersion` records: the
HTTP handlers (streams/http/policy_versions.py) call :func:`propose` and
:func:`approve` and publish what they return; every worker follows the topic
and puts in force what :func:`to_put_in_force` says (streams/agents/policy_follow.py).
A proposal is checked like a policy file at start-up (the same parser), so a
version that would not load is refused when it is proposed, not when it is
approved.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from detectors.policy import Policy, policy_from_text
from topics.policy_versions import PolicyVersion, PolicyVersionStatus

#: The largest backtest attachment (JSON, bytes): the side-by-side tables, not the subjects.
MAX_BACKTEST_BYTES = 256_000
MAX_NOTE = 2_000


class ProcedureRefused(Exception):
    """A step the procedure does not allow; ``status`` is the HTTP answer."""

    status = 409


class SelfApproval(ProcedureRefused):
    """The proposer tried to approve their own proposal (seed 十七: a second pair of eyes)."""

    status = 403


class BadProposal(ProcedureRefused):
    status = 400


def proposal_id(policy: Policy, at: datetime) -> str:
    """A proposal's id: when, and which text (the same text proposed again is another
    proposal).

    >>> from datetime import UTC
    >>> from detectors.policy import default_policy
    >>> proposal_id(default_policy(), datetime(2026, 12, 7, 16, 5, tzinfo=UTC))[:16]
    '20261207T160500-'
    """
    return f"{at:%Y%m%dT%H%M%S}-{policy.digest[:12]}"


def text_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """The unified diff from ``old`` to ``new``, one line per item, three lines of context.

    >>> text_diff("a = 1\\nb = 2\\n", "a = 1\\nb = 3\\n", "in force", "proposed")[2:]
    ['@@ -1,2 +1,2 @@', ' a = 1', '-b = 2', '+b = 3']
    """
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""
    )
    return list(lines)


def _backtest(attached: Any, proposed: Policy) -> dict[str, Any] | None:
    """The backtest attachment, checked: the worded tables of ``policy backtest --json``
    for this very text."""
    if attached is None:
        return None
    if not isinstance(attached, dict) or not isinstance(attached.get("worded"), dict):
        raise BadProposal("backtest: attach the JSON of `creditwatch policy backtest --json`")
    try:
        tested = attached["policies"]["new"]["sha256"]
    except (KeyError, TypeError):
        raise BadProposal("backtest: it names no new policy (policies.new.sha256)") from None
    if tested != proposed.digest:
        raise BadProposal(
            f"backtest: it replayed another file (sha256 {str(tested)[:12]}), "
            f"not the one proposed ({proposed.digest[:12]})"
        )
    return {key: value for key, value in attached.items() if key != "moves"}


def propose(
    text: str,
    in_force: Policy,
    in_force_text: str,
    by: str,
    at: datetime,
    note: str = "",
    backtest: Any = None,
) -> PolicyVersion:
    """A new policy version proposed by ``by``: parsed and checked as at start-up
    (``PolicyError`` if it would not load), with its diff from the policy in force.

    Raises :class:`ProcedureRefused` when it is the policy in force already, and
    :class:`BadProposal` when an attached backtest is not of this text.
    """
    proposed = policy_from_text(text, "the proposed policy")
    if proposed.digest == in_force.digest:
        raise ProcedureRefused(f"policy {in_force.version} is in force already")
    if len(note) > MAX_NOTE:
        raise BadProposal(f"note: at most {MAX_NOTE} characters")
    old = f"in force: {in_force.version}"
    return PolicyVersion(
        proposal_id=proposal_id(proposed, at),
        status=PolicyVersionStatus.PROPOSED,
        version=proposed.version,
        sha256=proposed.digest,
        text=text,
        diff=text_diff(in_force_text, text, old, f"proposed: {proposed.version}"),
        based_on_version=in_force.version,
        based_on_sha256=in_force.digest,
        proposed_by=by,
        proposed_at=at,
        note=note,
        backtest=_backtest(backtest, proposed),
    )


def approve(proposal: PolicyVersion, in_force: Policy, by: str, at: datetime) -> PolicyVersion:
    """The proposal approved by ``by``, a second official.

    Refused (:class:`SelfApproval`) if ``by`` proposed it, and
    (:class:`ProcedureRefused`) if it is not waiting for approval or another
    version came into force since it was proposed: its diff, and any backtest,
    were made against a policy no longer in force, so it is proposed again.
    """
    if proposal.status is not PolicyVersionStatus.PROPOSED:
        raise ProcedureRefused(f"proposal {proposal.proposal_id} is {proposal.status.value}")
    if by == proposal.proposed_by:
        raise SelfApproval(f"{by} proposed {proposal.proposal_id}: a second official approves it")
    if proposal.based_on_sha256 != in_force.digest:
        raise ProcedureRefused(
            f"proposal {proposal.proposal_id} was made against policy "
            f"{proposal.based_on_version}; policy {in_force.version} is in force now: "
            "propose it again"
        )
    return PolicyVersion(
        **{
            **proposal.asdict(),
            "status": PolicyVersionStatus.APPROVED,
            "approved_by": by,
            "approved_at": at,
        }
    )


def to_put_in_force(record: PolicyVersion, in_force: Policy) -> Policy | None:
    """The policy an approved record puts in force, or None: a proposal still waiting,
    or the policy in force already (a record read again after a restart)."""
    if record.status is not PolicyVersionStatus.APPROVED or record.sha256 == in_force.digest:
        return None
    return policy_from_text(record.text, f"approved proposal {record.proposal_id}")
