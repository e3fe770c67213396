"""The backtest as one self-contained HTML page, in Chinese and English, with SVG plots.

The page shows the tables of :func:`creditwatch.backtest.report.tables` and
three plots drawn inline (no script, nothing loaded from elsewhere): the tiers
at the end under each policy, the tier moves by county, and the board items by
alert kind. Every word comes from :mod:`.labels`, Chinese first.
"""

from __future__ import annotations

from html import escape

from creditwatch.backtest.compare import Comparison
from creditwatch.backtest.labels import EN, ZH, label, word
from creditwatch.backtest.report import Cell, Code, Delta, Table, cell_text, heading, summary
from creditwatch.backtest.report import tables as report_tables
from creditwatch.evaluation.alert_budget import BOARD_ITEMS
from creditwatch.evaluation.page_parts import STYLE, bars, table

CURRENT_COLOUR = "#7a8ca3"
NEW_COLOUR = "#e08a1e"
RISKIER_COLOUR = "#b8322a"
SAFER_COLOUR = "#2e7d32"

PAGE_STYLE = (
    STYLE
    + """
table { width: auto; min-width: 36em; }
.en { color: #666; font-size: 0.85em; margin-left: 0.4em; }
th .en { display: block; margin-left: 0; }
p.english { color: #666; font-size: 0.9em; }
.up { color: #b8322a; } .down { color: #2e7d32; }
.verdict { font-size: 1.1em; font-weight: bold; }
figcaption { color: #444; font-size: 0.9em; }
"""
)


def _both(key: str) -> str:
    """A label in both languages, as markup."""
    return f'{escape(label(key, ZH))}<span class="en">{escape(label(key, EN))}</span>'


def _cell(cell: Cell) -> str:
    if isinstance(cell, Code):
        zh, en = cell_text(cell, ZH), cell_text(cell, EN)
        return escape(zh) if zh == en else f'{escape(zh)}<span class="en">{escape(en)}</span>'
    if isinstance(cell, Delta) and cell.value:
        return f'<span class="{"up" if cell.value > 0 else "down"}">{cell_text(cell, EN)}</span>'
    return cell_text(cell, EN)


def _name(group: str, code: str) -> str:
    """A code's name in a plot: both languages on one line."""
    zh, en = word(group, code, ZH), word(group, code, EN)
    name = zh if zh == en else f"{zh} {en}"
    return f"{code} {name}" if group == "tier" else name


def _table(found: Table) -> str:
    rows = [[_cell(cell) for cell in row] for row in found.rows]
    headers = [_both(key) for key in found.columns]
    return f"<h3>{_both(found.key)}</h3>" + table(headers, rows, text=range(found.text))


def _sides() -> list[tuple[str, str]]:
    return [
        (f"{label('current', ZH)} {label('current', EN)}", CURRENT_COLOUR),
        (f"{label('new', ZH)} {label('new', EN)}", NEW_COLOUR),
    ]


def tiers_plot(comparison: Comparison) -> str:
    groups = [(_name("tier", t), (a, b)) for t, a, b in comparison.tiers()]
    return bars(groups, _sides(), label("plot_tiers", EN))


def counties_plot(comparison: Comparison) -> str:
    """Riskier and safer moves in each county that has any."""
    groups = [
        (_name("county", area.code), (area.riskier, area.safer))
        for area in comparison.areas("region")
        if area.riskier or area.safer
    ]
    series = [
        (f"{label('riskier', ZH)} {label('riskier', EN)}", RISKIER_COLOUR),
        (f"{label('safer', ZH)} {label('safer', EN)}", SAFER_COLOUR),
    ]
    return bars(groups, series, label("plot_counties", EN))


def alerts_plot(comparison: Comparison) -> str:
    """Board items (board alerts and digests) per alert kind under each policy."""
    items: dict[str, list[int]] = {}
    for kind, outcome, current, new in comparison.alerts():
        if outcome in BOARD_ITEMS:
            totals = items.setdefault(kind, [0, 0])
            totals[0] += current
            totals[1] += new
    groups = [(_name("kind", kind), tuple(totals)) for kind, totals in sorted(items.items())]
    return bars(groups, _sides(), label("plot_alerts", EN))


def _figure(plot: str, caption: str) -> str:
    return f"<figure>{plot}<figcaption>{_both(caption)}</figcaption></figure>"


def _paragraph(zh: list[str], en: list[str], css: str = "") -> str:
    chinese = "<br>".join(escape(line) for line in zh)
    english = "<br>".join(escape(line) for line in en)
    return f'<p class="{css}">{chinese}</p><p class="{css} english" lang="en">{english}</p>'


def render_page(comparison: Comparison, rate: float, seconds: float) -> str:
    """The whole backtest as one HTML page."""
    c = comparison
    found = {t.key: t for t in report_tables(c)}
    replayed = [label("replayed", lang, rate=rate, seconds=seconds) for lang in (ZH, EN)]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(label('title', ZH))} {escape(label('title', EN))}</title>",
        f"<style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{_both('title')}</h1>",
        _paragraph(heading(c, ZH), heading(c, EN)),
        _paragraph(summary(c, ZH), summary(c, EN), "verdict"),
        f"<h2>{_both('section_tiers')}</h2>",
        _figure(tiers_plot(c), "plot_tiers"),
        _table(found["tiers"]),
        _table(found["tier_changes"]),
        _table(found["transitions"]),
        f"<h2>{_both('section_moves')}</h2>",
        _figure(counties_plot(c), "plot_counties") if c.moves else "",
        _table(found["by_county"]),
        _table(found["by_sector"]),
        f"<h2>{_both('section_lists')}</h2>",
        _table(found["lists"]),
        _table(found["listed"]),
        f"<h2>{_both('section_alerts')}</h2>",
        _figure(alerts_plot(c), "plot_alerts"),
        _table(found["alerts"]),
        _paragraph(
            [label("leaves_out", ZH), replayed[ZH]], [label("leaves_out", EN), replayed[EN]]
        ),
        "</body></html>",
    ]
    return "\n".join(parts)
