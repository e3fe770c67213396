"""A credit report (:class:`pipeline.credit_report.CreditReport`) as one HTML page.

The same document the PDF lays out, for reading in a browser: one page, its
own stylesheet inline (allowed by its hash in the answer's
Content-Security-Policy, :func:`report_policy`), no script, autoescaped.
"""

from __future__ import annotations

import base64
import hashlib
from zoneinfo import ZoneInfo

import jinja2

from pipeline.credit_report import TITLE, CreditReport

STYLE = (
    "body{font-family:'WenQuanYi Zen Hei','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',"
    "sans-serif;color:#1f2933;margin:0;background:#f4f6fa}"
    "main{max-width:960px;margin:1.5rem auto;background:#fff;padding:2rem 2.4rem;"
    "border:1px solid #d7dee8}"
    "h1{text-align:center;color:#0d3d78;letter-spacing:.2em;margin:.2rem 0}"
    ".sub{text-align:center;color:#5f6b7a;margin:0 0 1.2rem}"
    "h2{color:#0d3d78;font-size:1.1rem;border-left:4px solid #b8262b;padding-left:.5rem;"
    "margin:1.4rem 0 .6rem}"
    "table{width:100%;border-collapse:collapse;font-size:.9rem}"
    "th,td{border:1px solid #d7dee8;padding:.4rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#eef3fa;color:#0d3d78;font-weight:normal}"
    ".cover th{width:11rem}.mono{font-family:monospace;word-break:break-all}"
    ".empty{color:#5f6b7a}ol{padding-left:1.4rem}"
)


def template_environment() -> jinja2.Environment:
    """The public side's page templates (``streams/public/templates``): autoescaped, and
    a name a template uses but is not given is an error, not an empty string."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("streams.public", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_TEMPLATES = template_environment()


def report_policy() -> str:
    """The report page's Content-Security-Policy: its inline style by hash, nothing else."""
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render_report_html(report: CreditReport, zone: ZoneInfo, sha256: str | None = None) -> str:
    """The page; ``sha256`` (of the PDF issued) is shown on the cover when given."""
    return _TEMPLATES.get_template("report.html").render(
        title=TITLE, report=report, header=report.header(zone), sha256=sha256, style=STYLE
    )
