"""Just enough PromQL reading to list the series and labels an expression uses.

Not a parser: it strips what cannot be a series name (strings, Grafana
variables, range and subquery selectors, label matchers, grouping clauses,
numbers), then takes the identifiers left that are neither functions nor
keywords. That is exact for the expressions dashboards and rules are made of;
``tests/dashboards/test_dashboards.py`` checks it on examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
# $var, ${var}, ${var:format}, [[var]]: Grafana substitutes them before Prometheus sees them.
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]")
_RANGE = re.compile(r"\[[^\[\]]*\]")  # [5m], [15m:1m]
_MATCHERS = re.compile(r"\{([^{}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)", re.IGNORECASE
)
_MODIFIER = re.compile(r"\b(?:offset\s+-?\w+|@\s*[\w.]+(?:\(\))?)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w:])(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w:])")
# A whole identifier (no backtracking into a shorter one) not followed by "(".
_IDENTIFIER = re.compile(r"(?<![\w:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "inf",
    "nan",
}
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.*?)\s*,\s*)?([A-Za-z_]\w*)\s*\)\s*$")


@dataclass(frozen=True)
class Usage:
    """Series names and label names an expression refers to."""

    series: frozenset[str]
    labels: frozenset[str]


def usage(expr: str) -> Usage:
    """The series and labels used by a PromQL expression (Grafana variables allowed)."""
    text = _STRING.sub(" ", expr)
    text = _GRAFANA_VARIABLE.sub(" ", text)
    text = _RANGE.sub(" ", text)
    labels: set[str] = set()
    for block in _MATCHERS.findall(text):
        labels.update(_MATCHER_LABEL.findall(block))
    text = _MATCHERS.sub(" ", text)
    for group in _GROUPING.findall(text):
        labels.update(name.strip() for name in group.split(",") if name.strip())
    text = _GROUPING.sub(" ", text)
    text = _MODIFIER.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}
    return Usage(frozenset(names), frozenset(labels))


def variable_usage(query: str) -> Usage:
    """Like :func:`usage`, for a Grafana variable query: ``label_values(metric, label)``
    or a plain expression."""
    match = _LABEL_VALUES.match(query)
    if match is None:
        return usage(query)
    selector, label = match.groups()
    found = usage(selector) if selector else Usage(frozenset(), frozenset())
    return Usage(found.series, found.labels | {label})
