"""Pieces of the self-contained HTML reports: the scenario evaluation's and the policy backtest's.

A report page loads nothing from elsewhere (no CDN, no script): its plots are
SVG written here by hand, so the file can be mailed to a supervision centre or
archived next to a release and still open in ten years.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from html import escape

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 70em; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th.text, td.text { text-align: left; }
.missed, .over { color: #b8322a; font-weight: bold; }
.met { color: #2e7d32; }
code { font-size: 0.85em; word-break: break-all; }
td.text { overflow-wrap: anywhere; }
"""

PLOT_W = 440  # width of a chart's plot area


def svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif" font-size="12">' + "".join(body) + "</svg>"
    )


def text(x: float, y: float, words: str, anchor: str = "start", fill: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(words)}</text>'
    )


def vline(x: float, top: float, bottom: float, colour: str, dash: str = "") -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
        f'stroke="{colour}"{dashed}/>'
    )


def rect(x: float, y: float, width: float, height: float, colour: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}"/>'
    )


def text_width(words: str) -> float:
    """About how wide ``words`` are at 12 px: a CJK character is a full em, others about half.

    >>> text_width("abc"), text_width("长安区")
    (21.0, 36.0)
    """
    return sum(12.0 if unicodedata.east_asian_width(c) in "WF" else 7.0 for c in words)


def bars(
    groups: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[tuple[str, str]],
    title: str,
) -> str:
    """Horizontal bars: a row per group, a bar per series in it (``series``: its name and
    colour, shown as the legend), each labelled with its value, on one scale from 0."""
    bar, gap, top = 14, 10, 30
    row = bar * len(series) + gap
    left = max((text_width(name) for name, _ in groups), default=0.0) + 16
    height = top + row * len(groups) + 10
    width = round(left + PLOT_W + 70)
    largest = max((v for _, values in groups for v in values), default=0.0) or 1.0
    body = [vline(left, top - 4, top + row * len(groups) - gap + 4, "#888")]
    x = left
    for name, colour in series:
        body += [rect(x, 4, 12, 12, colour), text(x + 16, 14, name)]
        x += 30 + text_width(name)
    for i, (name, values) in enumerate(groups):
        y = top + i * row
        body.append(text(left - 8, y + row / 2, name, anchor="end"))
        for j, ((_, colour), value) in enumerate(zip(series, values, strict=True)):
            length = value / largest * PLOT_W
            body.append(rect(left, y + j * bar, length, bar - 2, colour))
            body.append(text(left + length + 4, y + j * bar + bar - 4, f"{value:,.0f}"))
    return svg(width, height, body, title)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text: Collection[int] = (0,)
) -> str:
    """An HTML table of markup (headers and cells already escaped); columns in ``text``
    align left."""
    head = "".join(
        f'<th class="text">{h}</th>' if i in text else f"<th>{h}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{cell}</td>' if i in text else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
