"""The credit report document (pipeline/credit_report.py): sections, content, verification."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from pipeline.credit_report import (
    IssuedReport,
    Verdict,
    build_report,
    is_report_number,
    report_document,
    report_from_document,
    report_number,
    verdict_of,
)
from pipeline.disclosure import ListRow, MeasureRow, disclose
from tests.pipeline.test_disclosure import DAY, NOW, POLICY, published, record, rows

ZONE = ZoneInfo("Asia/Shanghai")
NUMBER = "CR-20261207-ABCDEFGHJK23"
URL = f"https://credit.example.gov.cn/reports/{NUMBER}"


def report_of(subject_rows):
    return build_report(disclose(subject_rows, NOW, POLICY), NUMBER, POLICY, ZONE, URL)


def text_of(report) -> str:
    return "\n".join(
        [*(v for _, v in report.header(ZONE)), *report.explanations]
        + [s.title for s in report.sections]
        + [cell for s in report.sections for row in s.rows for cell in row]
    )


def test_the_report_has_the_national_layout_in_order():
    report = report_of(rows())
    assert [s.key for s in report.sections] == [
        "basics",
        "licences",
        "penalties",
        "other_adverse",
        "spot_checks",
        "lists",
        "commitments",
        "honours",
        "notes",
    ]
    assert [s.title[:2] for s in report.sections] == [
        "一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、", "九、"
    ]  # fmt: skip
    header = dict(report.header(ZONE))
    assert header["报告编号"] == NUMBER
    assert header["出具时间"] == "2026-12-07 14:00:00"  # Beijing time
    assert report.valid_until - report.issued_at == POLICY.report_valid
    assert URL in report.explanations[-1]


def test_a_published_penalty_is_on_the_report_with_its_document_number_and_period():
    report = report_of(
        rows(
            record(
                "p1",
                reference="石市监罚〔2026〕15号",
                description="经营超过保质期的食品",
                amount=5e4,
            ),
            publications=(published("p1"),),
        )
    )
    penalties = report.section("penalties")
    assert penalties.rows == (
        (
            "石市监罚〔2026〕15号",
            "行政处罚（一般）",
            "经营超过保质期的食品",
            "50,000.00",
            "市场监督管理局",
            "2026-11-27",
            "2027-11-27",
        ),
    )


def test_a_repaired_penalty_is_not_on_a_new_report_but_its_repair_is_noted():
    report = report_of(
        rows(
            record("p1", reference="石市监罚〔2026〕15号", description="经营超过保质期的食品"),
            publications=(published("p1", status="repaired", changed_at=NOW - DAY),),
        )
    )
    text = text_of(report)
    assert "石市监罚〔2026〕15号" not in text and "经营超过保质期的食品" not in text
    assert report.section("penalties").rows == ()
    assert report.section("notes").rows == (
        ("2026-12-06", "市场监督管理局", "信用修复完成，相关失信信息已停止公示"),
    )


def test_lists_show_their_basis_and_measures_in_chinese():
    listing = ListRow(
        "joint_punishment",
        "entered",
        NOW - 10 * DAY,
        NOW + 300 * DAY,
        basis=(),
        measures=(MeasureRow("no_bidding", "administrative", "限制参与招投标和政府采购"),),
    )
    row = report_of(rows(lists=(listing,))).section("lists").rows[0]
    assert row[0] == "失信联合惩戒对象名单"
    assert row[4] == "行政性措施：限制参与招投标和政府采购"


def test_a_pending_objection_is_noted_on_the_record_and_in_the_notes():
    filed = record("o1", "objection_filed", days_ago=3, concerns_event_id="p1")
    report = report_of(
        rows(record("p1", reference="R-1"), filed, publications=(published("p1", disputed=True),))
    )
    assert "【该信息存在异议，正在核查】" in report.section("penalties").rows[0][2]
    assert report.section("notes").rows == (
        ("2026-12-04", "市场监督管理局", "对R-1提出的异议正在核查"),
    )


def test_an_empty_section_says_so():
    report = report_of(rows())
    assert report.section("penalties").rows == ()
    assert report.section("penalties").empty == "公示期内无行政处罚信息"


def test_a_report_survives_its_stored_document():
    report = report_of(rows(record("p1"), publications=(published("p1"),)))
    assert report_from_document(report_document(report)) == report


def test_report_numbers_are_dated_and_checked():
    assert report_number(NOW, "ABCDEFGHJK23", ZONE) == NUMBER
    assert is_report_number(NUMBER)
    for bad in ("CR-20261207-abcdefghjk23", "CR-2026127-ABCDEFGHJK23", NUMBER + "X", "../etc"):
        assert not is_report_number(bad)


def test_only_the_copy_issued_within_its_validity_is_valid():
    issued = IssuedReport(NUMBER, "x", NOW, NOW + timedelta(days=30), "ab" * 32)
    assert verdict_of(issued, "AB" * 32, NOW) is Verdict.VALID  # hex digits in either case
    assert verdict_of(issued, "ab" * 31 + "ac", NOW) is Verdict.ALTERED
    assert verdict_of(issued, "ab" * 32, NOW + timedelta(days=30)) is Verdict.EXPIRED
    assert verdict_of(None, "ab" * 32, NOW) is Verdict.UNKNOWN
