"""``risk.policy-versions``: policy versions proposed, approved and put in force (issue 17).

Seed 八 asks that lists are kept "按程序" and seed 十七 that nothing changes
unseen: a new policy (weights, thresholds, periods, list rules) is proposed by
one official and put in force only when a second one approves it. Each step
is one record, keyed by ``proposal_id`` on a compacted topic with one
partition, so the latest record per proposal is its standing and the topic's
order is the order of approvals: the newest approved record is the policy in
force, and every worker follows the topic to load it without a restart
(streams/agents/policy_follow.py).

``text`` is the whole policy file (TOML), ``diff`` the unified diff from the
policy in force when it was proposed (``based_on``), ``backtest`` the side-by-
side tables of ``creditwatch policy backtest`` when the proposer attached them
(docs/backtest.md), worded in Chinese and English, or null.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from enum import StrEnum
from typing import Any

import faust


class PolicyVersionStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for a second official
    APPROVED = "approved"  # in force from ``approved_at`` (until a later approval)


class PolicyVersion(faust.Record, serializer="json", include_metadata=False, coerce=True):
    """One proposal of a policy version and its standing."""

    proposal_id: str
    status: PolicyVersionStatus
    version: str  # the policy file's own ``version``
    sha256: str  # of ``text``
    text: str
    diff: builtins.list[str]
    based_on_version: str
    based_on_sha256: str
    proposed_by: str  # a token name, the audit actor
    proposed_at: datetime
    note: str
    backtest: dict[str, Any] | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None

    def __post_init__(self) -> None:
        # Read back from the topic or Redis the status is a plain string.
        self.status = PolicyVersionStatus(self.status)
