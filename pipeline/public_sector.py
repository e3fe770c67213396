"""Seed 十一: a public-sector subject's violations go to its superior unit and the audit body.

机关事业单位、国有企业出现违法失信行为的，要通报上级主管单位和审计部门；工作人员
出现违法失信行为的，要通报所在单位及相关纪检监察、组织人事部门. The subject's type
comes on its records (``subject_type``, kept in the case file); the policy's
``[public_sector]`` says which types count, which events are violations to
report (an adverse record published under a class, an entry onto a list) and
who hears of them. A listing that reaches the subject's responsible people
(seed 十一, the list's ``person_roles``) is also reported about each of them,
by pseudonym, to discipline inspection and personnel (``staff_report``).
"""

from __future__ import annotations

from detectors.casefile import CaseFile
from detectors.repair import reason
from detectors.supervision_policy import SupervisionPolicy
from detectors.workflow import Effects, Notice
from topics.vocabulary import NoticeKind, PublicationReason

#: A record entering publication is a violation to report; its later changes are not.
NEW_RECORD = frozenset({PublicationReason.FILED, PublicationReason.DEADLINE_MISSED})


def public_sector_reports(
    case: CaseFile, effects: Effects, rules: SupervisionPolicy
) -> list[Notice]:
    """The reports ``effects`` call for, if the subject is of a public-sector type."""
    policy = rules.public_sector
    if case.subject_type not in policy.types:
        return []
    notices: list[Notice] = []
    report = NoticeKind.PUBLIC_SECTOR_REPORT
    for move in effects.publications:
        record = move.record
        if (
            move.reason not in NEW_RECORD
            or rules.class_of[record.signal] not in policy.record_classes
        ):
            continue
        about = {
            "subject_type": case.subject_type,
            "signal": record.signal,
            "event": record.event_id,
            "day": rules.calendar.iso_date(record.at_s),
            "department": record.department,
        }
        why = reason(record.signal, "public_sector_record", about)
        notices += [
            Notice(
                f"{record.event_id}:{report.value}:{to}",
                report,
                to,
                move.at_s,
                record.event_id,
                reasons=(why,),
            )
            for to in policy.notify
        ]
    for list_move in effects.list_moves:
        listing = list_move.listing
        if not list_move.fresh or listing.kind not in policy.lists:
            continue
        basis = [r for r in case.records if r.event_id in listing.basis]
        cause = max(basis, key=lambda r: (r.at_s, r.event_id)).event_id if basis else listing.kind
        at_s = listing.entered_at_s
        tag = f"{cause}:{listing.kind}:v{listing.version}"
        listed = {
            "subject_type": case.subject_type,
            "list": listing.kind,
            "day": rules.calendar.iso_date(at_s),
        }
        notices += [
            Notice(
                f"{tag}:{report.value}:{to}",
                report,
                to,
                at_s,
                cause,
                reasons=(reason(listing.kind, "public_sector_listing", listed),),
            )
            for to in policy.notify
        ]
        spec = rules.list_policy(listing.kind)
        staff = NoticeKind.STAFF_REPORT
        for span in case.holders(at_s, spec.person_roles):
            why = reason(span.role, "staff_listing", {**listed, "role": span.role})
            notices += [
                Notice(
                    f"{tag}:{staff.value}:{span.person}:{span.role}:{to}",
                    staff,
                    to,
                    at_s,
                    cause,
                    reasons=(why,),
                    person=span.person,
                )
                for to in policy.staff_notify
            ]
    return notices
