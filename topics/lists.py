"""Output contract ``risk.list-changes``: entries into and exits from the credit lists.

Seed 八 has departments designate subjects for joint punishment (失信联合惩戒
对象名单) on the basis of court rulings, administrative penalties and
enforcement, and lets them keep a key-attention list (重点关注对象名单) for
subjects below that bar. Seed 九 and 十 name the measures that follow a
listing: administrative (bidding, fiscal funds, tax incentives), market
(credit, flights, high-speed rail) and industry (criticism, censure, market
and industry bans). Seed 十一 extends punishment to the legal representative,
and seed 十三 ends the measures once the subject has repaired its credit.

Departments apply the measures in their own workflows, so every change is a
self-contained record: a consumer that sees only the latest record per key
(the topic is compacted) knows the current membership and measures.

The enumerations live here rather than in ``topics/vocabulary.py`` while the
list producer (issue 5) is unwritten; move them there if ``detectors/`` needs
them without importing Faust.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from enum import StrEnum

import faust

from topics.risk import Evidence
from topics.vocabulary import Sector

#: Separates subject and list in the Kafka key: ``"{subject}|{list}"``.
KEY_SEPARATOR = "|"


class ListKind(StrEnum):
    """The two lists of seed 八, the market bans of seed 十, and the strict licensing
    that follows a broken approval-substitution commitment (seed 一)."""

    JOINT_PUNISHMENT = "joint_punishment"  # 失信联合惩戒对象名单
    KEY_ATTENTION = "key_attention"  # 重点关注对象名单
    # 市场和行业禁入: only on seed 十's grounds; ``expires_at`` null is a permanent ban
    MARKET_BAN = "market_ban"
    # 审批替代型承诺失信: approvals no longer on a written commitment (告知承诺)
    APPROVAL_COMMITMENT_BREACH = "approval_commitment_breach"
    # 诚信红名单 (seed 九 守信激励): its measures are incentives, not punishments
    RED_LIST = "red_list"


class ListAction(StrEnum):
    """A list's steps (seed 八, 按程序): where the list's policy has a procedure, an entry
    is ``proposed`` by the entry rules, ``decided`` by the identifying department
    (which gives the subject its notice and statement window), and ``entered``
    (published, with its measures) when the window ends; a decision against it
    ``dismissed`` it. Without a procedure an entry is ``entered`` at once."""

    PROPOSED = "proposed"
    DECIDED = "decided"
    DISMISSED = "dismissed"
    ENTERED = "entered"
    EXITED = "exited"


class ExitReason(StrEnum):
    """Why a subject left a list (seed 八's exit mechanism, seed 十三's repair)."""

    EXPIRED = "expired"  # the listing period ended
    REPAIRED = "repaired"  # credit repair completed
    OBJECTION_UPHELD = "objection_upheld"  # the subject's objection succeeded
    CORRECTED = "corrected"  # the listing was an error in the underlying records
    # an entry rule no longer holds (the red list: the tier moved, an adverse record came)
    NO_LONGER_ELIGIBLE = "no_longer_eligible"


class MeasureCategory(StrEnum):
    """Seed 九's three kinds of punishment measure, and its rewards (守信激励)."""

    ADMINISTRATIVE = "administrative"  # 行政性: bidding, fiscal funds, tax incentives
    MARKET = "market"  # 市场性: credit, flights, high-speed rail seats
    INDUSTRY = "industry"  # 行业性: criticism, censure, market and industry bans
    INCENTIVE = "incentive"  # 守信激励: fast track, 容缺受理, fewer spot checks (red list)


class Measure(faust.Record, serializer="json", include_metadata=False):
    """One measure a department must apply while the listing stands: a punishment that
    restricts ``actions``, or on the red list an incentive that eases them."""

    code: str
    category: MeasureCategory
    description: str
    actions: builtins.list[str]  # approval actions it restricts (or eases): bidding, licensing …


class ListChange(faust.Record, serializer="json", include_metadata=False):
    """A subject entered or left a credit list; ``version`` rises by one per subject and list.

    ``basis`` cites the facts behind the change (the ruling or penalty for an
    entry, the repair or objection decision for an exit). ``exited_at`` and
    ``exit_reason`` are set exactly when ``action`` is ``exited``; an exit
    carries the measures that end with it. ``expires_at`` null: the listing has
    no end (a permanent market ban, seed 十). ``legal_rep_id`` is personal data
    (seed 十一): store and show it only where the law provides for it.
    """

    subject: str
    list: ListKind
    action: ListAction
    basis: builtins.list[Evidence]
    entered_at: datetime
    expires_at: datetime | None
    exited_at: datetime | None
    exit_reason: ExitReason | None
    measures: builtins.list[Measure]
    legal_rep_id: str | None
    version: int
    policy_version: str
    region: str
    sector: Sector
    # Added with issue 17 (older records lack them): the procedure's steps. ``proposal``
    # names it (a decision's ``concerns_event_id``); ``decide_by`` is when the
    # identifying department ``decided_by`` must decide; ``statement_until`` the
    # end of the subject's statement window, after which the entry is published.
    proposal: str | None = None
    decide_by: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    statement_until: datetime | None = None


def list_change_key(subject: str, kind: ListKind) -> str:
    """The Kafka key of a list change: one compacted entry per subject and list.

    >>> list_change_key("91130102MA0EXAMPL1", ListKind.KEY_ATTENTION)
    '91130102MA0EXAMPL1|key_attention'
    """
    return f"{subject}{KEY_SEPARATOR}{kind.value}"
