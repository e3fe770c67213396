"""A credit report (:class:`pipeline.credit_report.CreditReport`) as a PDF, CJK font embedded.

fpdf2: pure Python (no system libraries, unlike WeasyPrint's Pango and
Cairo), actively maintained, and it embeds TrueType and TrueType-collection
fonts subset to the glyphs used, so a report with WenQuanYi Zen Hei weighs
tens of kilobytes and needs no font on the reader's machine. Its tables wrap
cells over lines and repeat their headings across pages. Chinese text has no
spaces to break at, so cells wrap by character.

The layout decides nothing: every word on the page comes from the report.
The creation date is the issue time, so rendering the same report twice
gives the same bytes, and the stored SHA-256 identifies the copy issued.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from pipeline.credit_report import TITLE, CreditReport, Section

FONT = "cjk"
GREY = (235, 238, 242)
NAVY = (22, 54, 92)


class _ReportPDF(FPDF):
    """Pages with the report number at the top and "page n / N" at the bottom."""

    def __init__(self, number: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number

    def header(self) -> None:
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{TITLE}　报告编号：{self.number}", align="R")
        self.ln(8)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


def render_pdf(report: CreditReport, font: Path, zone: ZoneInfo) -> bytes:
    """The report as PDF bytes; ``font`` is a TrueType font with Chinese glyphs
    (:func:`streams.public.fonts.find_cjk_font`)."""
    # fontTools reports each table it does not subset (a .ttc's bitmap strikes):
    # expected, and not worth a warning per report.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    pdf = _ReportPDF(report.number)
    pdf.add_font(FONT, fname=str(font))
    pdf.set_creation_date(report.issued_at)
    pdf.set_title(f"{TITLE} {report.number}")
    pdf.set_subject(report.subject)
    pdf.set_creator(report.issuer)
    pdf.set_producer("creditwatch")
    pdf.set_lang("zh-CN")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    _cover(pdf, report, zone)
    for section in report.sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _cover(pdf: FPDF, report: CreditReport, zone: ZoneInfo) -> None:
    pdf.set_font(FONT, size=22)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 14, TITLE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 7, "（法人和非法人组织）", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    pdf.set_font(FONT, size=10)
    _table(pdf, ("项目", "内容"), (1.0, 3.0), report.header(zone), headings=False)
    pdf.ln(3)
    pdf.set_font(FONT, size=12)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 8, "报告说明", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=9)
    for index, text in enumerate(report.explanations, start=1):
        _paragraph(pdf, 5, f"{index}. {text}")
    pdf.ln(2)


def _section(pdf: FPDF, section: Section) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, size=12)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 8, section.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=8.5)
    if not section.rows:
        _paragraph(pdf, 6, section.empty, border=1)
        return
    _table(pdf, section.columns, section.widths, section.rows, headings=section.key != "basics")


def _paragraph(pdf: FPDF, line_height: float, text: str, border: Literal[0, 1] = 0) -> None:
    """Text across the page, wrapped by character; the next line starts at the margin
    (multi_cell's default leaves the cursor at the right edge, with no width left)."""
    pdf.multi_cell(
        0,
        line_height,
        text,
        border=border,
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _table(
    pdf: FPDF,
    columns: tuple[str, ...],
    widths: tuple[float, ...],
    rows: tuple[tuple[str, ...], ...],
    *,
    headings: bool,
) -> None:
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        wrapmode=WrapMode.CHAR,
        line_height=pdf.font_size * 1.6,
        padding=1,
        first_row_as_headings=headings,
        headings_style=FontFace(emphasis="NONE", fill_color=GREY, color=NAVY),
        cell_fill_mode=TableCellFillMode.NONE,
        repeat_headings=1,
    ) as table:
        if headings:
            table.row(columns)
        for row in rows:
            table.row(row)
