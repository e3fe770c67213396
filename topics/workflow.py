"""Output contract ``risk.workflow``: tasks and decisions for departments.

Seed 一: a commitment not fulfilled by its deadline is reported to the
department that accepted it. Seed 十二: a missed rectification deadline gives
the department that ordered it (谁认定、谁约谈) an interview task with a due
date. Seed 十七: an objection left undecided past its time limit is escalated
to the deciding department. Seed 十三: every repair application gets a
decision; a rejection lists each unmet condition and, where waiting is enough,
the earliest date an application can succeed. A broken commitment has its
kind's consequence (seed 一): an approval to revoke, the industry association
told, a repair voided. A public-sector subject's violations are reported to its
superior unit and the audit body, its responsible people's to discipline
inspection and personnel (seed 十一).

Keyed by subject USCC. ``notice_id`` is deterministic: a consumer that sees a
notice twice (a worker restarted mid-batch) drops the second by its id.
"""

from __future__ import annotations

import builtins
from datetime import datetime

import faust

from topics.vocabulary import Department, NoticeKind, Sector


class NoticeReason(faust.Record, serializer="json", include_metadata=False):
    """Why a notice was given: an unmet condition of a repair application, a broken
    commitment, a public-sector violation, ...

    ``detail`` explains it in English and ``detail_zh`` in Chinese, both from one
    table of words (pipeline/alert_titles.py); ``detail_zh`` is null on a notice
    written before it existed.
    """

    code: str  # no_published_record, not_repairable, minimum_period, ...
    detail: str
    detail_zh: str | None = None


class WorkflowNotice(faust.Record, serializer="json", include_metadata=False):
    """A task or decision for ``department`` about an item of ``subject``'s case.

    ``concerns_event_id`` is the commitment, rectification order, objection or
    repair application the notice is about. ``due_at`` is when the department's
    task (an interview) must be done. ``earliest_eligible_at`` is set on a
    rejected repair whose time-bound conditions are unmet. ``person`` is the
    pseudonym of the person a ``staff_report`` is about.
    """

    notice_id: str
    subject: str
    kind: NoticeKind
    department: Department
    issued_at: datetime
    concerns_event_id: str
    due_at: datetime | None
    reasons: builtins.list[NoticeReason]
    earliest_eligible_at: datetime | None
    policy_version: str
    region: str
    sector: Sector
    # Added with issue 18: the pseudonym of the person a notice is about (a
    # responsible person of a public-sector subject: ``staff_report``), else None.
    person: str | None = None
