"""Which joint-punishment measures apply to a subject for an approval action.

Seed 九 embeds rewards and punishments in approval workflows: before a
department approves a bid, a subsidy or a licence, its system asks whether a
measure of the subject's lists restricts that action. The answer comes from
the subject's profile in the serving view, whose ``supervision`` field
(:func:`pipeline.supervision.case_view`) lists the active list memberships with
their measures. Pure functions: the web view (``GET
/api/subjects/{uscc}/measures``) loads the profile and checks access.

Seed 十/十一 puts measures on people too (the responsible people of a listed or
banned subject): ``GET /api/persons/{pseudonym}/measures`` answers from the
person's record (``risk.person-records``) with :func:`person_measures_answer`,
e.g. before a department appoints someone legal representative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from detectors.policy import Policy
from detectors.supervision_policy import MeasureSpec
from topics.lists import Measure, MeasureCategory


def measure_record(spec: MeasureSpec) -> Measure:
    """A policy measure as ``risk.list-changes`` and ``risk.person-records`` carry it."""
    return Measure(
        code=spec.code,
        category=MeasureCategory(spec.category),
        description=spec.description,
        actions=sorted(spec.actions),
    )


def measure_view(spec: MeasureSpec) -> dict[str, Any]:
    """A policy measure as a subject's profile shows it (its lists, its red list)."""
    return {
        "code": spec.code,
        "category": spec.category,
        "description": spec.description,
        "actions": sorted(spec.actions),
    }


class UnknownAction(ValueError):
    """An approval action no measure of the policy names: answer 400 with this message."""


def known_actions(policy: Policy) -> frozenset[str]:
    """Every approval action a measure of some list restricts, or the red list eases."""
    return frozenset(
        action
        for spec in policy.supervision.lists
        for measure in (*spec.measures, *spec.person_measures)
        for action in measure.actions
    ) | {action for measure in policy.red_list.measures for action in measure.actions}


def requested_action(value: str | None, known: Iterable[str]) -> str | None:
    """The ``action`` query parameter, checked; None asks for every measure in force."""
    if value is None:
        return None
    names = sorted(known)
    if value not in names:
        raise UnknownAction(f"action must be one of {', '.join(names)}; got {value!r}")
    return value


def _in_force(membership: Mapping[str, Any], now: datetime) -> bool:
    """A membership the profile shows as active, unless its period already ended.

    The worker closes an expired membership when event time on the subject's
    partition passes its end; on a quiet partition that can come later than the
    wall clock, and a department must not be refused after the period ended.
    """
    until = membership.get("expires_at")
    return until is None or datetime.fromisoformat(until) > now


def measures_in_force(
    supervision: Mapping[str, Any] | None, action: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The measures of the subject's lists in force at ``now`` that restrict ``action``
    (every measure in force when ``action`` is None), each with its list and end."""
    if supervision is None:
        return []
    return [
        {
            "list": membership["list"],
            "code": measure["code"],
            "category": measure["category"],
            "description": measure["description"],
            "actions": list(measure["actions"]),
            "listed_until": membership.get("expires_at"),
        }
        for membership in supervision.get("lists", ())
        if _in_force(membership, now)
        for measure in membership["measures"]
        if action is None or action in measure["actions"]
    ]


def measures_answer(
    profile: Mapping[str, Any], action: str | None, now: datetime
) -> dict[str, Any]:
    """The endpoint's answer for one subject's profile."""
    found = measures_in_force(profile.get("supervision"), action, now)
    red_list = profile.get("red_list")
    # Seed 九 守信激励: the red list's incentives ease the action instead of restricting it.
    incentives = measures_in_force({"lists": [red_list]} if red_list else None, action, now)
    return {
        "subject": profile["subject"],
        "action": action,
        "restricted": bool(found),
        "measures": found,
        "incentives": incentives,
        "policy_version": profile.get("policy_version"),
    }


def person_measures_answer(
    record: Mapping[str, Any], action: str | None, now: datetime
) -> dict[str, Any]:
    """The measures on a person in force at ``now`` (restricting ``action``, if given),
    each with the subject whose listing put it there and the roles it came through.

    ``record`` is the person's record as ``risk.person-records`` carries it; an
    entry counts while it is active and its period (if any) has not ended.
    """
    found = [
        {"subject": entry["subject"], "roles": list(entry["roles"]), **measure}
        for entry in record.get("entries", ())
        if entry["active"]
        for measure in measures_in_force({"lists": [entry]}, action, now)
    ]
    return {
        "person": record["person"],
        "action": action,
        "restricted": bool(found),
        "measures": found,
        "policy_version": record.get("policy_version"),
    }
