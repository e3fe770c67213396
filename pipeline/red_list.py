"""The red list (诚信红名单, seed 九 守信激励) joined to a subject's step.

:func:`red_list_step` runs at the end of each of a subject's steps (a record,
or its case file falling due), reviews its membership as its risk state then
stands (:func:`detectors.red_list.review_red_list`) and turns each entry,
extension or exit into a ``risk.list-changes`` record, as the other lists'.
:func:`red_list_view` is the membership as the subject's profile shows it, with
the incentives that ``/api/subjects/{uscc}/measures`` answers.
"""

from __future__ import annotations

from typing import Any

from detectors.policy import Policy
from detectors.red_list import review_red_list
from detectors.state import SubjectState
from pipeline.context import StepContext
from pipeline.measures import measure_view
from pipeline.supervision import SupervisionOutputs, list_change
from topics.wire_time import iso


def red_list_step(
    subject: str, state: SubjectState, now_s: float, context: StepContext
) -> SupervisionOutputs | None:
    """The subject's red-list changes at event time ``now_s``, or None if nothing changed."""
    policy = context.policy
    moves = review_red_list(state, now_s, policy.red_list, policy.supervision.calendar)
    if not moves:
        return None
    return SupervisionOutputs(
        list_changes=[list_change(subject, state, move, policy) for move in moves]
    )


def red_list_view(state: SubjectState, policy: Policy) -> dict[str, Any] | None:
    """The subject's red-list membership for its profile, None unless it is listed now.

    >>> from detectors.casefile import Listing
    >>> from detectors.policy import default_policy
    >>> state = SubjectState(red_list=Listing("red_list", 1, True, 0.0, 86_400.0, ["h1"]))
    >>> view = red_list_view(state, default_policy())
    >>> view["list"], view["expires_at"]
    ('red_list', '1970-01-02T00:00:00+00:00')
    >>> [m["code"] for m in view["measures"]]
    ['fast_track', 'accept_with_gaps', 'fewer_spot_checks']
    """
    listing = state.red_list
    if listing is None or not listing.active:
        return None
    return {
        "list": listing.kind,
        "entered_at": iso(listing.entered_at_s),
        "expires_at": None if listing.expires_at_s is None else iso(listing.expires_at_s),
        "basis": list(listing.basis),
        "version": listing.version,
        "measures": [measure_view(m) for m in policy.red_list.measures],
    }
