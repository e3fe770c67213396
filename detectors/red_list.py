"""The red list (诚信红名单, seed 九 守信激励): entry while every rule holds, exit when one stops.

A subject enters when, at a step of its own (a record, or a deadline its case
file reached), it has been in the policy's tier long enough, has enough recent
honours and no recent adverse record (:class:`~detectors.red_list_policy.RedListPolicy`).
Its entry lasts until its honours grow too old (``expires_at``); a new honour
while listed extends it. It leaves at once when its tier moves or an adverse
record arrives (``no_longer_eligible``), and when the entry's end passes
(``expired``). Each change is a :class:`~detectors.listing.ListMove`, as the
other lists', so it goes out on ``risk.list-changes`` the same way.
"""

from __future__ import annotations

from dataclasses import replace

from detectors.calendar import WorkingCalendar
from detectors.casefile import Listing
from detectors.listing import ListMove
from detectors.red_list_policy import RedListPolicy
from detectors.scoring import Fact, TitleValue
from detectors.state import CreditMark, SubjectState

KIND = "red_list"
SECONDS_PER_DAY = 86_400.0


def _days(seconds: float) -> float:
    return round(seconds / SECONDS_PER_DAY, 1)


def honours_until(honours: list[CreditMark], now_s: float, rules: RedListPolicy) -> float | None:
    """When the honour rule stops holding (the ``honours``-th newest honour grows older
    than the window), or None if it does not hold at ``now_s``.

    >>> from detectors.policy import default_policy
    >>> rules = default_policy().red_list  # 1 honour within 730 days
    >>> honour = CreditMark("h1", "honour", 0.0, "market_regulation")
    >>> honours_until([honour], 86_400.0, rules) / 86_400.0, honours_until([], 0.0, rules)
    (730.0, None)
    """
    recent = [m for m in honours if 0 <= now_s - m.at_s <= rules.honours_within_s]
    if len(recent) < rules.honours:
        return None
    return recent[-rules.honours].at_s + rules.honours_within_s


def _broken(
    state: SubjectState, now_s: float, rules: RedListPolicy, calendar: WorkingCalendar
) -> Fact | None:
    """The first rule a subject fails at ``now_s`` besides the honours, as the fact that
    says so; None if all hold."""
    if state.tier != rules.tier.value:
        now = {"grade": state.tier or "-", "required": rules.tier.value}
        return Fact("red_list_tier", 0.0, says="tier_not", about=now)
    held = now_s - state.tier_since_s
    if held < rules.tier_s:
        about: dict[str, TitleValue] = {
            "grade": rules.tier.value,
            "days": _days(held),
            "required_days": _days(rules.tier_s),
        }
        return Fact(
            "red_list_tier", _days(held), _days(rules.tier_s), says="tier_held", about=about
        )
    adverse = state.last_adverse
    if adverse is not None and now_s - adverse.at_s < rules.clean_s:
        return _mark_fact(adverse, calendar)
    return None


def _mark_fact(mark: CreditMark, calendar: WorkingCalendar) -> Fact:
    about = {"event": mark.event_id, "day": calendar.iso_date(mark.at_s)}
    return Fact(
        mark.signal,
        1.0,
        says="event_day_department",
        about={**about, "department": mark.department},
    )


def _entry_basis(
    state: SubjectState,
    honours: list[CreditMark],
    now_s: float,
    rules: RedListPolicy,
    calendar: WorkingCalendar,
) -> tuple[Fact, ...]:
    """Why the subject is on the list: how long in its tier, its honours, its clean record."""
    held = Fact(
        "red_list_tier",
        _days(now_s - state.tier_since_s),
        _days(rules.tier_s),
        says="tier_since",
        about={"grade": rules.tier.value, "day": calendar.iso_date(state.tier_since_s)},
    )
    clean = Fact(
        "red_list_clean",
        _days(rules.clean_s),
        says="no_adverse_within",
        about={"days": _days(rules.clean_s)},
    )
    return (held, *(_mark_fact(h, calendar) for h in honours), clean)


def review_red_list(
    state: SubjectState, now_s: float, rules: RedListPolicy, calendar: WorkingCalendar
) -> list[ListMove]:
    """Enter, extend or end the subject's red-list membership as its state stands at ``now_s``
    (the membership in ``state.red_list`` is updated)."""
    moves: list[ListMove] = []
    current = state.red_list
    if current is not None and current.active:
        broken = _broken(state, now_s, rules, calendar)
        until = current.expires_at_s
        if until is not None and until <= now_s:
            # the honours lapsed before this step (whatever else it brings): it ended then
            lapsed = Fact(
                "red_list_honours",
                0.0,
                says="honours_lapsed",
                about={"day": calendar.iso_date(until)},
            )
            moves.append(_exit(current, until, "expired", lapsed, rules))
        elif broken is not None:
            moves.append(_exit(current, now_s, "no_longer_eligible", broken, rules))
        else:
            later = honours_until(state.honours, now_s, rules)
            if later is not None and until is not None and later > until:
                current.version += 1
                current.expires_at_s = later
                current.basis = _basis_ids(state.honours, now_s, rules)
                basis = _entry_basis(
                    state, _recent(state.honours, now_s, rules), now_s, rules, calendar
                )
                moves.append(ListMove(_snapshot(current), basis, rules.measures))
            return moves
    # Honours first: most subjects have none, and the rules' check builds the fact it fails on.
    until = honours_until(state.honours, now_s, rules)
    if until is None or _broken(state, now_s, rules, calendar) is not None:
        return moves
    recent = _recent(state.honours, now_s, rules)
    listing = Listing(
        kind=KIND,
        version=(current.version if current is not None else 0) + 1,
        active=True,
        entered_at_s=now_s,
        expires_at_s=until,
        basis=[h.event_id for h in recent],
    )
    state.red_list = listing
    basis = _entry_basis(state, recent, now_s, rules, calendar)
    moves.append(ListMove(_snapshot(listing), basis, rules.measures, fresh=True))
    return moves


def _recent(honours: list[CreditMark], now_s: float, rules: RedListPolicy) -> list[CreditMark]:
    return [m for m in honours if 0 <= now_s - m.at_s <= rules.honours_within_s]


def _basis_ids(honours: list[CreditMark], now_s: float, rules: RedListPolicy) -> list[str]:
    return [m.event_id for m in _recent(honours, now_s, rules)]


def _exit(listing: Listing, at_s: float, reason: str, why: Fact, rules: RedListPolicy) -> ListMove:
    listing.version += 1
    listing.active = False
    listing.exited_at_s = at_s
    listing.exit_reason = reason
    return ListMove(_snapshot(listing), (why,), rules.measures)


def _snapshot(listing: Listing) -> Listing:
    return replace(listing, basis=list(listing.basis))
