"""Routing rules: which inspectors an alert snapshot reaches."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipeline.routing import RoutingError, load_routing, parse_routing

ROUTING = parse_routing(
    {
        "route": [
            {"inspector": "li", "counties": ["130102"], "sectors": ["food_drug"]},
            {"inspector": "wang", "counties": ["130104"], "min_severity": "high"},
            {"inspector": "env", "kinds": ["iot"]},
        ]
    }
)


def alert(**fields: Any) -> dict[str, Any]:
    base = {
        "subject": "91130102MA0EXAMPL1",
        "region": "130102",
        "sector": "food_drug",
        "kind": "rule",
        "severity": "medium",
        "event": "opened",
        "muted_by": None,
        "evidence": [],
    }
    return {**base, **fields}


def test_alerts_reach_the_inspectors_of_their_county_sector_and_severity() -> None:
    assert ROUTING.inspectors_for(alert()) == ["li"]
    assert ROUTING.inspectors_for(alert(region="130104")) == []  # below wang's severity
    assert ROUTING.inspectors_for(alert(region="130104", severity="critical")) == ["wang"]
    assert ROUTING.inspectors_for(alert(kind="iot")) == ["env", "li"]


def test_only_new_or_escalated_unmuted_alerts_are_pushed() -> None:
    assert ROUTING.inspectors_for(alert(event="escalated")) == ["li"]
    assert ROUTING.inspectors_for(alert(event="repeated")) == []
    assert ROUTING.inspectors_for(alert(event="acknowledged")) == []
    assert ROUTING.inspectors_for(alert(muted_by="silence:s1")) == []


def test_only_alerts_on_the_board_are_pushed_and_a_digest_goes_to_its_county() -> None:
    assert ROUTING.inspectors_for(alert(disposition="board")) == ["li"]
    assert ROUTING.inspectors_for(alert(disposition="case")) == []
    assert ROUTING.inspectors_for(alert(disposition="digest")) == []
    digest = alert(subject=None, dedup_key="digest:complaint_surge:130102:food_drug:2026-03-02",
                   evidence=[{"fact": "subject 91130102MA0EXAMPL1"}])  # fmt: skip
    assert ROUTING.inspectors_for(digest) == ["li"]


def test_an_area_wide_alert_reaches_the_inspectors_of_the_counties_it_names() -> None:
    area = alert(subject=None, region="130100", evidence=[{"fact": "county 130102"}])
    assert ROUTING.inspectors_for(area) == ["li"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"route": [{"counties": ["130102"]}]}, "inspector"),
        ({"route": [{"inspector": "x", "counties": ["999999"]}]}, "unknown values"),
        ({"route": [{"inspector": "x", "min_severity": "urgent"}]}, "min_severity"),
        ({"inbox_max_entries": 0}, "inbox_max_entries"),
    ],
)
def test_bad_routing_is_refused_with_the_offending_key(document: Any, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        parse_routing(document)


def test_the_bundled_routing_file_loads() -> None:
    assert load_routing().routes


def test_a_case_is_owned_by_the_first_matching_route_whatever_its_event_or_disposition():
    routing = parse_routing(
        {
            "route": [
                {"inspector": "li", "counties": ["130102"], "queue": "food"},
                {"inspector": "env", "kinds": ["iot"]},
            ],
            "queues": {"food": {"sla_working_days": 2}},
        }
    )
    kept_in_case = alert(kind="iot", disposition="case", event="repeated")
    assert routing.case_owner(kept_in_case) == ("li", "food")
    assert routing.case_owner(alert(region="130104", kind="iot")) == ("env", "general")
    assert routing.case_owner(alert(region="130104")) == (None, "general")
    assert (routing.sla_of("food"), routing.sla_of("general")) == (2, 5)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"route": [{"inspector": "li", "queue": "food"}]}, "without [queues.NAME]: ['food']"),
        ({"queues": {"food": {"sla_working_days": 0}}}, "queues.food.sla_working_days"),
        ({"queues": {"food": {"sla_working_days": True}}}, "queues.food.sla_working_days"),
        ({"route": [{"inspector": "li", "queue": " "}]}, "route[0].queue"),
    ],
)
def test_bad_case_queues_are_refused(document: Any, message: str) -> None:
    with pytest.raises(RoutingError, match=re.escape(message)):
        parse_routing(document)
