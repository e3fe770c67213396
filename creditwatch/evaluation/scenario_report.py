"""Scenario results as a terminal table, a JSON document and a self-contained HTML page.

The HTML page loads nothing from elsewhere (no CDN, no script): the plots are
SVG written here by hand, so the file can be mailed to a supervision centre or
archived next to a release and still open in ten years.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from creditwatch.evaluation.alert_budget import OUTCOMES, AlertBudget
from creditwatch.evaluation.page_parts import (
    PLOT_W,
    STYLE,
    rect,
    svg,
    table,
    text,
    vline,
)
from creditwatch.evaluation.scenario_scoring import (
    PRECISION_TARGET,
    RECALL_TARGET,
    Evaluation,
    KindScore,
)
from creditwatch.evaluation.scenarios import Scenario


@dataclass(frozen=True, slots=True)
class RunFacts:
    """How the run went, for the report's header."""

    produced: int
    seconds: float
    alerts: int
    budget: AlertBudget | None = None  # what a centre sees, per 1,000 subjects per day


def format_delay(delay: timedelta | None) -> str:
    """A delay in the unit a reader thinks in.

    >>> format_delay(timedelta(seconds=42)), format_delay(timedelta(hours=30))
    ('42 s', '1.2 d')
    """
    if delay is None:
        return "-"
    seconds = delay.total_seconds()
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _verdict(score: KindScore) -> str:
    return "met" if score.meets_targets else "MISSED"


# ------------------------------------------------------------------------- text

COLUMNS = (
    "kind", "incidents", "detected", "recall", "precision", "F1", "median delay", "alerts", "FP",
)  # fmt: skip


def _row(score: KindScore) -> tuple[str, ...]:
    return (
        score.kind.value,
        str(score.incidents),
        str(score.detected),
        _ratio(score.recall),
        _ratio(score.precision),
        _ratio(score.f1),
        format_delay(score.median_delay),
        str(score.alerts_in_scope),
        str(score.false_positives),
    )


def format_table(evaluation: Evaluation) -> str:
    """The per-kind table and the control and coverage notes, for the terminal."""
    rows = [(*COLUMNS, "targets"), *((*_row(s), _verdict(s)) for s in evaluation.kinds)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i in (0, len(row) - 1) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join([*lines, "", *_notes(evaluation)])


def _notes(evaluation: Evaluation) -> list[str]:
    budget = "within budget" if evaluation.within_budget else "OVER BUDGET"
    notes = [
        f"targets (printed, not asserted): recall >= {RECALL_TARGET:.2f} and precision >= "
        f"{PRECISION_TARGET:.2f} for every kind",
        f"control false positives: {evaluation.control_false_positives} "
        f"(budget {evaluation.fp_budget}): {budget}",
    ]
    for checked in evaluation.controls:
        for alert in checked.alerts:
            notes.append(
                f"  {checked.control.label}: {alert.kind} {alert.dedup_key} "
                f"at {alert.created_at.isoformat()}"
            )
    for result in evaluation.incidents:
        if result.detected_at is None:
            notes.append(
                f"missed {result.incident.label}: {result.incident.detail}; other alerts "
                f"about it in its window: {_counts(result.other_alerts)}"
            )
    notes.append(
        "precision counts only alerts about labelled subjects, devices and categories; "
        "alerts about the simulated city's own subjects are not scored: "
        + _counts(evaluation.unlabelled)
    )
    notes.append(
        "other alerts on labelled subjects (noted, not scored): "
        + _counts(evaluation.other_on_labelled)
    )
    return notes


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"


# ------------------------------------------------------------------------- JSON


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(delay: timedelta | None) -> float | None:
    return None if delay is None else delay.total_seconds()


def to_json(scenario: Scenario, evaluation: Evaluation, run: RunFacts) -> dict[str, Any]:
    """Everything in the report, as plain JSON values."""
    config = scenario.config
    return {
        "scenario": {
            "seed": config.seed,
            "days": config.days,
            "start": config.start.isoformat(),
            "city_subjects": scenario.city_subjects,
            "scripted_subjects": scenario.cast_subjects,
            "records": len(scenario.records),
            "background_records": scenario.background_records,
            "records_per_topic": scenario.topics,
            "incidents_per_kind": config.incidents_per_kind,
            "controls_per_kind": config.controls_per_kind,
        },
        "run": {"produced": run.produced, "seconds": round(run.seconds, 1), "alerts": run.alerts},
        "budget": run.budget.to_json() if run.budget is not None else None,
        "targets": {"recall": RECALL_TARGET, "precision": PRECISION_TARGET},
        "kinds": [
            {
                "kind": s.kind.value,
                "alert_kind": s.kind.alert_kind.value,
                "incidents": s.incidents,
                "detected": s.detected,
                "recall": s.recall,
                "precision": s.precision,
                "f1": s.f1,
                "median_delay_s": _seconds(s.median_delay),
                "alerts_in_scope": s.alerts_in_scope,
                "matching_alerts": s.matching_alerts,
                "false_positives": s.false_positives,
                "control_alerts": s.control_alerts,
                "meets_targets": s.meets_targets,
            }
            for s in evaluation.kinds
        ],
        "incidents": [
            {
                "label": r.incident.label,
                "kind": r.incident.kind.value,
                "dedup_key": r.incident.dedup_key,
                "start": _time(r.incident.start),
                "end": _time(r.incident.end),
                "detected_at": _time(r.detected_at),
                "delay_s": _seconds(r.delay),
                "matching_alerts": r.matching_alerts,
                "other_alerts_in_window": r.other_alerts,
                "detail": r.incident.detail,
            }
            for r in evaluation.incidents
        ],
        "controls": [
            {
                "label": c.control.label,
                "kind": c.control.kind.value,
                "near_miss": c.control.near_miss,
                "detail": c.control.detail,
                "alerts": [
                    {"dedup_key": a.dedup_key, "created_at": _time(a.created_at)} for a in c.alerts
                ],
            }
            for c in evaluation.controls
        ],
        "fp_budget": evaluation.fp_budget,
        "control_false_positives": evaluation.control_false_positives,
        "within_budget": evaluation.within_budget,
        "unlabelled_alerts": evaluation.unlabelled,
        "other_alerts_on_labelled_subjects": evaluation.other_on_labelled,
        "total_alerts": evaluation.total_alerts,
    }


# ------------------------------------------------------------------------- SVG

LABEL_W = 200  # left column of kind names
RECALL_COLOUR = "#2f6db5"
PRECISION_COLOUR = "#e08a1e"
MISS_COLOUR = "#b8322a"


def rates_chart(kinds: Sequence[KindScore]) -> str:
    """Recall and precision per kind as bars on [0, 1], with the targets as dashed lines."""
    row, top = 40, 30
    height = top + row * len(kinds) + 30
    width = LABEL_W + PLOT_W + 60
    x = lambda value: LABEL_W + value * PLOT_W  # noqa: E731
    body = [
        text(LABEL_W, 14, "recall", fill=RECALL_COLOUR),
        text(LABEL_W + 60, 14, "precision", fill=PRECISION_COLOUR),
        text(LABEL_W + 140, 14, f"dashed: targets {RECALL_TARGET:.2f} / {PRECISION_TARGET:.2f}"),
    ]
    for i, score in enumerate(kinds):
        y = top + i * row
        body.append(text(LABEL_W - 8, y + 19, score.kind.value, anchor="end"))
        for offset, value, colour in (
            (2, score.recall, RECALL_COLOUR),
            (18, score.precision, PRECISION_COLOUR),
        ):
            if value is None:
                body.append(text(x(0) + 4, y + offset + 11, "n/a (no alert in scope)"))
                continue
            body.append(rect(x(0), y + offset, value * PLOT_W, 14, colour))
            body.append(text(x(value) + 4, y + offset + 11, f"{value:.2f}"))
    bottom = top + row * len(kinds)
    body += [
        vline(x(RECALL_TARGET), top - 4, bottom, RECALL_COLOUR, "4 3"),
        vline(x(PRECISION_TARGET), top - 4, bottom, PRECISION_COLOUR, "4 3"),
        vline(x(0), top - 4, bottom, "#888"),
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(text(x(tick), bottom + 16, f"{tick:g}", anchor="middle", fill="#666"))
    return svg(width, height, body, "recall and precision per incident kind")


DELAY_TICKS = (
    (60, "1 min"),
    (600, "10 min"),
    (3600, "1 h"),
    (6 * 3600, "6 h"),
    (86_400, "1 d"),
    (7 * 86_400, "7 d"),
    (30 * 86_400, "30 d"),
)


def delay_chart(evaluation: Evaluation) -> str:
    """Each incident's detection delay on a log scale; medians as bars, misses counted."""
    kinds = evaluation.kinds
    row, top = 30, 24
    height = top + row * len(kinds) + 30
    width = LABEL_W + PLOT_W + 110
    low, high = math.log10(DELAY_TICKS[0][0]), math.log10(DELAY_TICKS[-1][0])

    def x(seconds: float) -> float:
        clamped = min(max(seconds, DELAY_TICKS[0][0]), DELAY_TICKS[-1][0])
        return LABEL_W + (math.log10(clamped) - low) / (high - low) * PLOT_W

    body = [
        text(LABEL_W, 14, "event time from first injected record to first alert (≤ 1 min at left)")
    ]
    bottom = top + row * len(kinds)
    for seconds, label in DELAY_TICKS:
        body.append(vline(x(seconds), top - 4, bottom, "#ddd"))
        body.append(text(x(seconds), bottom + 16, label, anchor="middle", fill="#666"))
    for i, score in enumerate(kinds):
        y = top + i * row + row / 2
        body.append(text(LABEL_W - 8, y + 4, score.kind.value, anchor="end"))
        results = [r for r in evaluation.incidents if r.incident.kind is score.kind]
        for result in results:
            if result.delay is not None:
                body.append(
                    f'<circle cx="{x(result.delay.total_seconds()):.1f}" cy="{y:.1f}" r="4" '
                    f'fill="{RECALL_COLOUR}" fill-opacity="0.6">'
                    f"<title>{escape(result.incident.label)}: {format_delay(result.delay)}</title>"
                    "</circle>"
                )
        if score.median_delay is not None:
            mx = x(score.median_delay.total_seconds())
            body.append(vline(mx, y - 9, y + 9, "#222"))
        missed = sum(1 for r in results if r.detected_at is None)
        if missed:
            body.append(text(LABEL_W + PLOT_W + 10, y + 4, f"missed {missed}", fill=MISS_COLOUR))
    return svg(width, height, body, "detection delay per incident")


# ------------------------------------------------------------------------- HTML


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text: Collection[int] = (0,)
) -> str:
    """An HTML table of plain headers and already escaped cells."""
    return table([escape(h) for h in headers], rows, text)


def _kind_rows(evaluation: Evaluation) -> list[list[str]]:
    return [
        [
            escape(s.kind.value),
            str(s.incidents),
            str(s.detected),
            _ratio(s.recall),
            _ratio(s.precision),
            _ratio(s.f1),
            format_delay(s.median_delay),
            str(s.alerts_in_scope),
            str(s.false_positives),
            str(s.control_alerts),
            f'<span class="{"met" if s.meets_targets else "missed"}">{_verdict(s)}</span>',
        ]
        for s in evaluation.kinds
    ]


def _incident_rows(evaluation: Evaluation) -> list[list[str]]:
    return [
        [
            escape(r.incident.label),
            escape(r.incident.start.isoformat(timespec="seconds")),
            '<span class="missed">missed</span>'
            if r.delay is None
            else escape(format_delay(r.delay)),
            str(r.matching_alerts),
            escape(_counts(r.other_alerts)),
            f"<code>{escape(r.incident.dedup_key)}</code>",
            escape(r.incident.detail),
        ]
        for r in evaluation.incidents
    ]


def _control_rows(evaluation: Evaluation) -> list[list[str]]:
    return [
        [
            escape(c.control.label),
            "near miss" if c.control.near_miss else "clean",
            f'<span class="over">{len(c.alerts)}</span>' if c.alerts else "0",
            escape(c.control.detail),
        ]
        for c in evaluation.controls
    ]


def render_html(scenario: Scenario, evaluation: Evaluation, run: RunFacts) -> str:
    """The whole report as one self-contained HTML page."""
    config = scenario.config
    budget_class = "met" if evaluation.within_budget else "over"
    summary = (
        f"Seed {config.seed}, {config.days} simulated days from "
        f"{config.start.date().isoformat()}, a city of {scenario.city_subjects} subjects plus "
        f"{scenario.cast_subjects} scripted ones; {len(scenario.records):,} records "
        f"({scenario.background_records:,} background). The pipeline raised {run.alerts:,} "
        f"alerts in {run.seconds:.0f} s."
    )
    kind_headers = (
        "kind", "incidents", "detected", "recall", "precision", "F1", "median delay",
        "alerts in scope", "false positives", "on controls", "targets",
    )  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>creditwatch scenario evaluation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Scenario evaluation</h1>",
        f"<p>{escape(summary)}</p>",
        f"<p>Targets, printed and not asserted: recall ≥ {RECALL_TARGET:.2f} and precision ≥ "
        f"{PRECISION_TARGET:.2f} for every incident kind; control false positives "
        f'<span class="{budget_class}">{evaluation.control_false_positives}</span> '
        f"against a budget of {evaluation.fp_budget}.</p>",
        _table(kind_headers, _kind_rows(evaluation)),
        "<p>Precision counts only alerts about labelled subjects, devices and complaint "
        "categories (incidents and controls). Alerts about the simulated city's own "
        f"subjects are not scored: {escape(_counts(evaluation.unlabelled))}. Other alerts on "
        f"labelled subjects, noted only: {escape(_counts(evaluation.other_on_labelled))}.</p>",
        "<h2>Recall and precision</h2>",
        rates_chart(evaluation.kinds),
        "<h2>Detection delay</h2>",
        delay_chart(evaluation),
        "<h2>Incidents</h2>",
        "<p>Other alerts: alerts of other kinds or keys about the incident's subjects "
        "inside its window, e.g. a limit-breach rule (<code>iot</code>) on a drifting device.</p>",
        _table(
            (
                "incident",
                "start",
                "delay",
                "alerts",
                "other alerts",
                "expected alert",
                "what was injected",
            ),
            _incident_rows(evaluation),
            text=(0, 1, 4, 5, 6),
        ),  # fmt: skip
        "<h2>Controls</h2>",
        _table(("control", "type", "alerts", "what it is"), _control_rows(evaluation), (0, 1, 3)),
        *(_budget_section(run.budget) if run.budget is not None else []),
        "</body></html>",
    ]
    return "\n".join(parts)


def _budget_section(budget: AlertBudget) -> list[str]:
    rows = [[escape(part) for part in row] + budget.cells(row) for row in budget.rows()]
    return [
        "<h2>Alert budget</h2>",
        f"<p>{escape(budget.heading())}. {escape(budget.summary())}. A centre works through "
        "board items: board alerts and daily digests (docs/alerts.md).</p>",
        _table(("kind", "rule", "severity", *OUTCOMES), rows, text=(0, 1, 2)),
    ]
