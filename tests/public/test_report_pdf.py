"""The credit report as a PDF: its text (as pdftotext reads it), its embedded CJK font,
and the font search."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.credit_report import build_report
from pipeline.disclosure import disclose
from streams.public.fonts import FontNotFound, find_cjk_font
from streams.public.report_pdf import render_pdf
from tests.pipeline.test_credit_report import NUMBER, URL, ZONE
from tests.pipeline.test_disclosure import NOW, POLICY, published, record, rows

SECTION_TITLES = (
    "一、基础信息",
    "二、行政许可信息",
    "三、行政处罚信息（公示期内）",
    "四、其他失信信息（公示期内）",
    "五、抽查检查信息（双随机、一公开）",
    "六、名单信息及惩戒措施",
    "七、信用承诺及履约情况",
    "八、诚实守信相关荣誉信息",
    "九、信用修复及异议说明",
)


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is missing (Debian package 'poppler-utils')")
    return found


@pytest.fixture(scope="module")
def font() -> Path:
    try:
        return find_cjk_font()
    except FontNotFound as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def pdf(font: Path) -> bytes:
    subject_rows = rows(
        record("p1", reference="石市监罚〔2026〕15号", description="经营超过保质期的食品"),
        record("l1", "licence_granted", reference="JY11301020012345", description="食品经营许可"),
        publications=(published("p1"),),
    )
    report = build_report(disclose(subject_rows, NOW, POLICY), NUMBER, POLICY, ZONE, URL)
    return render_pdf(report, font, ZONE)


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as ``pdftotext -raw`` extracts it."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [poppler("pdftotext"), "-raw", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_the_pdf_text_has_the_title_number_sections_and_the_record(pdf: bytes, tmp_path: Path):
    text = text_of(pdf, tmp_path)
    # -raw keeps the content stream's order, so a cell's wrapped lines stay together;
    # compare without the line breaks the wrapping put in.
    compact = "".join(text.split())
    assert "公共信用信息报告" in text and NUMBER in compact
    for title in SECTION_TITLES:
        assert title in compact, title
    for expected in ("石市监罚〔2026〕15号", "经营超过保质期的食品", "JY11301020012345", URL):
        assert expected in compact, expected


def test_the_chinese_font_is_embedded_as_a_subset(pdf: bytes, tmp_path: Path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        [poppler("pdffonts"), str(path)], check=True, capture_output=True, text=True
    ).stdout
    fonts = listing.splitlines()[2:]
    assert fonts and all(" yes yes " in line for line in fonts), listing  # embedded, subset
    assert len(pdf) < 200_000  # a subset, not the 11 MB collection


def test_the_same_report_renders_to_the_same_bytes(pdf: bytes, font: Path):
    subject_rows = rows(
        record("p1", reference="石市监罚〔2026〕15号", description="经营超过保质期的食品"),
        record("l1", "licence_granted", reference="JY11301020012345", description="食品经营许可"),
        publications=(published("p1"),),
    )
    report = build_report(disclose(subject_rows, NOW, POLICY), NUMBER, POLICY, ZONE, URL)
    assert render_pdf(report, font, ZONE) == pdf


def test_a_configured_font_must_exist_and_hold_chinese(tmp_path: Path):
    with pytest.raises(FontNotFound, match="CREDITWATCH_REPORT_FONT=.*no such file"):
        find_cjk_font(str(tmp_path / "missing.ttf"))
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font at all")
    with pytest.raises(FontNotFound, match="with Chinese glyphs"):
        find_cjk_font(str(not_a_font))


def test_without_any_cjk_font_the_message_says_what_to_install(tmp_path: Path):
    with pytest.raises(FontNotFound, match="fonts-wqy-zenhei") as raised:
        find_cjk_font("", search=(tmp_path / "none.ttc",))
    assert str(tmp_path / "none.ttc") in str(raised.value)
