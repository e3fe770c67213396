"""Alert routing to inspectors (seed 十六: push warnings to those who act on them).

Routes come from a TOML file (``pipeline/routing.toml`` by default; the
worker's ``CREDITWATCH_ROUTING`` names another, read in ``streams/settings.py``)
and are matched against each opened or escalated alert on the board; every
matching inspector gets the alert in their inbox, a Redis stream they read
live or after reconnecting (``streams/http/web.py``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topics.risk import alert_counties, on_board
from topics.vocabulary import (
    SEVERITY_RANK,
    SHIJIAZHUANG_COUNTIES,
    AlertKind,
    AlertSeverity,
    Sector,
)

DEFAULT_ROUTING_PATH = Path(__file__).with_name("routing.toml")
ROUTED_EVENTS = frozenset({"opened", "escalated"})
#: The case queue of a route that names none, and of a case no route matches.
GENERAL_QUEUE = "general"
#: A case queue's SLA when the routing file gives it none (working days to close).
DEFAULT_SLA_WORKING_DAYS = 5


class RoutingError(ValueError):
    """The routing file is missing, malformed or names unknown values."""


@dataclass(frozen=True, slots=True)
class Route:
    inspector: str
    counties: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    min_severity: str = AlertSeverity.LOW.value
    queue: str = GENERAL_QUEUE  # the case queue (docs/cases.md) of the cases it owns

    def matches(self, alert: Mapping[str, Any]) -> bool:
        return (
            self._in_counties(alert)
            and (not self.sectors or alert["sector"] in self.sectors)
            and (not self.kinds or alert["kind"] in self.kinds)
            and SEVERITY_RANK[alert["severity"]] >= SEVERITY_RANK[self.min_severity]
        )

    def _in_counties(self, alert: Mapping[str, Any]) -> bool:
        return not self.counties or bool(alert_counties(alert) & self.counties)


@dataclass(frozen=True, slots=True)
class Routing:
    routes: tuple[Route, ...]
    inbox_max_entries: int
    #: Working days a case of each queue may stay open before it is escalated.
    sla_working_days: Mapping[str, int] = field(
        default_factory=lambda: {GENERAL_QUEUE: DEFAULT_SLA_WORKING_DAYS}
    )

    def case_owner(self, alert: Mapping[str, Any]) -> tuple[str | None, str]:
        """Who owns the case an alert opens, and its queue: the first route that matches
        the alert (file order is priority), whatever its event or disposition; no
        owner and the general queue when none does (the centre assigns it)."""
        route = next((r for r in self.routes if r.matches(alert)), None)
        return (None, GENERAL_QUEUE) if route is None else (route.inspector, route.queue)

    def sla_of(self, queue: str) -> int:
        return self.sla_working_days.get(queue, DEFAULT_SLA_WORKING_DAYS)

    def inspectors_for(self, alert: Mapping[str, Any]) -> list[str]:
        """Who receives this snapshot: nobody unless it was just opened or escalated, and
        is on the board (unmuted, and not kept in a subject's case or counted in a digest)."""
        if alert.get("event", "opened") not in ROUTED_EVENTS or not on_board(alert):
            return []
        return sorted({r.inspector for r in self.routes if r.matches(alert)})


def _values(table: Mapping[str, Any], key: str, allowed: set[str], where: str) -> frozenset[str]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RoutingError(f"routing: '{where}{key}' must be a list of strings")
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise RoutingError(f"routing: '{where}{key}' has unknown values {unknown}")
    return frozenset(values)


def parse_routing(document: Mapping[str, Any]) -> Routing:
    routes = []
    for i, table in enumerate(document.get("route", [])):
        where = f"route[{i}]."
        inspector = table.get("inspector")
        if not isinstance(inspector, str) or not inspector.strip():
            raise RoutingError(f"routing: '{where}inspector' must be a non-empty name")
        severity = table.get("min_severity", AlertSeverity.LOW.value)
        if severity not in SEVERITY_RANK:
            raise RoutingError(
                f"routing: '{where}min_severity' must be one of {list(SEVERITY_RANK)}"
            )
        routes.append(
            Route(
                inspector=inspector.strip(),
                counties=_values(table, "counties", set(SHIJIAZHUANG_COUNTIES), where),
                sectors=_values(table, "sectors", {s.value for s in Sector}, where),
                kinds=_values(table, "kinds", {k.value for k in AlertKind}, where),
                min_severity=severity,
                queue=_name(table.get("queue", GENERAL_QUEUE), f"{where}queue"),
            )
        )
    maximum = document.get("inbox_max_entries", 10_000)
    if not isinstance(maximum, int) or maximum < 1:
        raise RoutingError("routing: 'inbox_max_entries' must be a positive integer")
    return Routing(tuple(routes), maximum, _queues(document.get("queues", {}), routes))


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RoutingError(f"routing: '{where}' must be a non-empty name")
    return value.strip()


def _queues(table: Any, routes: list[Route]) -> dict[str, int]:
    """``[queues.NAME] sla_working_days = N``: every queue a route names must be there
    (a typo would otherwise fall back to the default SLA unnoticed)."""
    if not isinstance(table, Mapping):
        raise RoutingError("routing: 'queues' must be a table of queues")
    slas = {GENERAL_QUEUE: DEFAULT_SLA_WORKING_DAYS}
    for name, queue in table.items():
        days = queue.get("sla_working_days") if isinstance(queue, Mapping) else None
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 250:
            raise RoutingError(f"routing: 'queues.{name}.sla_working_days' must be 1..250")
        slas[name] = days
    unknown = sorted({r.queue for r in routes} - set(slas))
    if unknown:
        raise RoutingError(f"routing: routes name queues without [queues.NAME]: {unknown}")
    return slas


def load_routing(path: str | os.PathLike[str] | None = None) -> Routing:
    """The routing file at ``path``, or the bundled one."""
    resolved = Path(path or DEFAULT_ROUTING_PATH)
    try:
        return parse_routing(tomllib.loads(resolved.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise RoutingError(f"routing file not found: {resolved}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RoutingError(f"routing file {resolved} is not valid TOML: {exc}") from None
