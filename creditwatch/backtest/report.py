"""The comparison as tables, side by side, and as the terminal's text.

:func:`tables` is the one list of what the report shows (the page draws the
same tables, :mod:`.page`); a cell is a number, a change (signed) or a code
that :mod:`.labels` names in either language.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from creditwatch.backtest.compare import Comparison, Outcome
from creditwatch.backtest.labels import EN, ZH, label, word
from creditwatch.evaluation.alert_budget import BOARD_ITEMS, OUTCOMES

#: The alert outcomes that are alerts opened (a repeat folds into an open one).
OPENED = tuple(outcome for outcome in OUTCOMES if outcome != "repeats")


@dataclass(frozen=True, slots=True)
class Code:
    """A code of a vocabulary (``group``: a group of words in :mod:`.labels`)."""

    group: str
    value: str


@dataclass(frozen=True, slots=True)
class Delta:
    """A change, shown with its sign."""

    value: int


Cell = Code | Delta | int


@dataclass(frozen=True)
class Table:
    """A titled table: ``columns`` are label keys, the first ``text`` columns are codes."""

    key: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    text: int = 1


def _side(current: int, new: int) -> tuple[int, int, Delta]:
    return current, new, Delta(new - current)


def tables(comparison: Comparison) -> list[Table]:
    """Every table of the report, in order."""
    c = comparison
    side = ("current", "new", "change")
    return [
        Table("tiers", ("tier", *side), [(Code("tier", t), *_side(a, b)) for t, a, b in c.tiers()]),
        Table(
            "tier_changes",
            ("tier_change", *side),
            [(Code("tier_change", k), *_side(a, b)) for k, a, b in c.tier_changes()],
        ),
        Table(
            "transitions",
            ("current", "new", "subjects"),
            [
                (Code("tier", a), Code("tier", b), n)
                for (a, b), n in sorted(c.transitions().items())
            ],
            text=2,
        ),
        Table(
            "by_county",
            ("county", "subjects", "riskier", "safer"),
            [(Code("county", a.code), a.subjects, a.riskier, a.safer) for a in c.areas("region")],
        ),
        Table(
            "by_sector",
            ("sector", "subjects", "riskier", "safer"),
            [(Code("sector", a.code), a.subjects, a.riskier, a.safer) for a in c.areas("sector")],
        ),
        Table(
            "lists",
            ("list", "action", *side),
            [(Code("list", k), Code("action", a), *_side(n, m)) for k, a, n, m in c.list_changes()],
            text=2,
        ),
        Table(
            "listed",
            ("list", "current", "new", "only_new", "only_current"),
            [(Code("list", k), *counts) for k, *counts in c.listed()],
        ),
        Table(
            "alerts",
            ("kind", "outcome", *side),
            [(Code("kind", k), Code("outcome", o), *_side(n, m)) for k, o, n, m in c.alerts()],
            text=2,
        ),
    ]


def cell_text(cell: Cell, lang: int) -> str:
    """A cell's words in ``lang``: a tier with its code (``C higher risk``)."""
    if isinstance(cell, Delta):
        return f"{cell.value:+,}" if cell.value else "0"
    if isinstance(cell, int):
        return f"{cell:,}"
    named = word(cell.group, cell.value, lang)
    return f"{cell.value} {named}" if cell.group == "tier" else named


def _when(comparison: Comparison, first: bool) -> str:
    moment = comparison.first if first else comparison.last
    return moment.isoformat(timespec="minutes") if moment is not None else "-"


def heading(comparison: Comparison, lang: int) -> list[str]:
    """What was replayed, and under which policies."""
    c = comparison
    lines = [
        label(
            "heading",
            lang,
            records=c.records,
            first=_when(c, True),
            last=_when(c, False),
            days=c.days,
            subjects=c.subjects,
        )
    ]
    for side, outcome in (("current", c.current), ("new", c.new)):
        lines.append(_policy_line(side, outcome, lang))
    if c.current.digest == c.new.digest:
        lines.append(label("same_file", lang))
    if c.rejected:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(c.rejected.items()))
        lines.append(label("rejected", lang, count=sum(c.rejected.values()), reasons=reasons))
    return lines


def _policy_line(side: str, outcome: Outcome, lang: int) -> str:
    return label(
        "policy",
        lang,
        side=label(side, lang),
        version=outcome.version,
        digest=outcome.digest[:12],
        source=outcome.source,
    )


def summary(comparison: Comparison, lang: int) -> list[str]:
    """The verdict: no changes, or how many subjects, list changes and alerts move; and
    the board items a centre would see per 1,000 subjects per day under each policy."""
    c = comparison
    current, new = c.current.budget.board_items, c.new.budget.board_items
    budget = label("budget", lang, current=current, new=new, change=new - current)
    if c.unchanged:
        return [budget, label("unchanged", lang)]
    riskier = sum(1 for m in c.moves if m.riskier)
    lists = {"entered": 0, "exited": 0}
    for _, action, n, m in c.list_changes():
        if action in lists:  # published entries and exits; a procedure's steps are in the table
            lists[action] += m - n
    alerts = [(o, n, m) for _, o, n, m in c.alerts() if o in OPENED]
    verdict = label(
        "changed",
        lang,
        moves=len(c.moves),
        riskier=riskier,
        safer=len(c.moves) - riskier,
        **lists,
        alerts=sum(m - n for _, n, m in alerts),
        board=sum(m - n for o, n, m in alerts if o in BOARD_ITEMS),
    )
    return [budget, verdict]


def format_table(table: Table, lang: int = EN) -> str:
    """One table as aligned text under its title."""
    header = [label(key, lang) for key in table.columns]
    rows = [header, *([cell_text(cell, lang) for cell in row] for row in table.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [label(table.key, lang)]
    for row in rows:
        cells = (
            cell.ljust(width) if i < table.text else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        lines.append("  " + "  ".join(cells).rstrip())
    if not table.rows:
        lines.append("  -")
    return "\n".join(lines)


def render_text(comparison: Comparison) -> str:
    """The whole report for the terminal, in English."""
    parts = ["\n".join(heading(comparison, EN))]
    parts += [format_table(table) for table in tables(comparison)]
    parts.append("\n".join(summary(comparison, EN)))
    return "\n\n".join(parts)


def _json_cell(cell: Cell) -> str | int:
    if isinstance(cell, Code):
        return cell.value
    return cell.value if isinstance(cell, Delta) else cell


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The report as data (``--json``): every table by its key, with codes, not words,
    and every subject whose tier differs at the end."""
    c = comparison
    return {
        "records": c.records,
        "subjects": c.subjects,
        "first": c.first.isoformat() if c.first is not None else None,
        "last": c.last.isoformat() if c.last is not None else None,
        "days": round(c.days, 4),
        "policies": {
            side: {
                "version": outcome.version,
                "sha256": outcome.digest,
                "source": outcome.source,
                "board_items_per_1000_per_day": round(outcome.budget.board_items, 3),
            }
            for side, outcome in (("current", c.current), ("new", c.new))
        },
        "unchanged": c.unchanged,
        "tables": {
            table.key: {
                "columns": list(table.columns),
                "rows": [[_json_cell(cell) for cell in row] for row in table.rows],
            }
            for table in tables(c)
        },
        "moves": [asdict(move) for move in c.moves],
        "worded": worded(c),
    }


def worded(comparison: Comparison) -> dict[str, Any]:
    """The report as words, in Chinese and English, as the approval page shows it beside
    a proposed policy version (issue 17): each line and cell a ``[zh, en]`` pair."""

    def pair(key: str) -> list[str]:
        return [label(key, ZH), label(key, EN)]

    return {
        "heading": [heading(comparison, ZH), heading(comparison, EN)],
        "summary": [summary(comparison, ZH), summary(comparison, EN)],
        "tables": [
            {
                "key": table.key,
                "title": pair(table.key),
                "columns": [pair(key) for key in table.columns],
                "text": table.text,
                "rows": [
                    [[cell_text(cell, ZH), cell_text(cell, EN)] for cell in row]
                    for row in table.rows
                ],
            }
            for table in tables(comparison)
        ],
    }
