"""A subject's public credit information report (公共信用信息报告), and checking one (seed 三).

Laid out like the national report for legal persons: the report number, issue
time and validity, then basic information, administrative licences,
administrative penalties within their publication periods, other adverse
records, spot checks, lists and their measures, commitments and whether they
were kept, honours, and notes on repairs and objections. Everything on it
comes from :func:`pipeline.disclosure.disclose` at the issue time, so a report
shows exactly what the public site showed at that moment: a repaired record
is not on it, only a note that a repair took place, with its date and
department.

The report is a document of sections of plain text tables; the renderers
(``streams/public/report_pdf.py``, ``report_html.py``) lay any such document
out and decide nothing. An issued PDF is identified by its SHA-256, stored
with its number and validity; :func:`verdict_of` says whether a presented
copy is the one issued and still valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pipeline import disclosure_labels as zh
from pipeline.disclosure import Disclosure, Shown
from pipeline.disclosure_policy import DisclosurePolicy
from topics.vocabulary import SHIJIAZHUANG_COUNTIES

TITLE = "公共信用信息报告"
ISSUER = "石家庄市信用监管中心"
#: ``CR-20261207-7KQ2M7XH4TPA``: issue date, then 12 random base32 characters (60 bits),
#: so report numbers cannot be enumerated to learn who had a report issued.
NUMBER = re.compile(r"CR-[0-9]{8}-[A-Z2-7]{12}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CHINESE_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True, slots=True)
class Section:
    """One numbered part of the report: a table with its columns' relative widths.

    ``empty`` is printed instead of the table when it has no rows.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    widths: tuple[float, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "无"


@dataclass(frozen=True, slots=True)
class CreditReport:
    number: str
    subject: str
    subject_name: str | None
    issued_at: datetime
    valid_until: datetime
    issuer: str
    sections: tuple[Section, ...]
    explanations: tuple[str, ...]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def header(self, zone: ZoneInfo) -> tuple[tuple[str, str], ...]:
        """The cover's fields: label and value."""
        return (
            ("报告编号", self.number),
            ("主体名称", self.subject_name or "（未登记名称）"),
            ("统一社会信用代码", self.subject),
            ("出具时间", local_time(self.issued_at, zone)),
            ("有效期至", local_time(self.valid_until, zone)),
            ("出具机构", self.issuer),
        )


@dataclass(frozen=True, slots=True)
class IssuedReport:
    """What the store keeps of an issued report: enough to check a presented copy."""

    number: str
    subject: str
    issued_at: datetime
    valid_until: datetime
    sha256: str


class Verdict(StrEnum):
    VALID = "valid"  # the copy issued, within its validity
    EXPIRED = "expired"  # the copy issued, validity over
    ALTERED = "altered"  # not the copy issued under this number
    UNKNOWN = "unknown"  # no report has this number


VERDICT_TEXT = {
    Verdict.VALID: "报告真实，且在有效期内。",
    Verdict.EXPIRED: "报告真实，但已超过有效期，请重新申请出具。",
    Verdict.ALTERED: "提交的报告与存档不一致：报告可能被篡改，不能作为信用证明。",
    Verdict.UNKNOWN: "没有该编号的报告。",
}


def report_number(issued_at: datetime, random_part: str, zone: ZoneInfo) -> str:
    """The report number for ``random_part`` (12 base32 characters the caller draws).

    >>> from datetime import UTC
    >>> at = datetime(2026, 12, 6, 17, tzinfo=UTC)
    >>> report_number(at, "7KQ2M7XH4TPA", ZoneInfo("Asia/Shanghai"))
    'CR-20261207-7KQ2M7XH4TPA'
    """
    number = f"CR-{issued_at.astimezone(zone):%Y%m%d}-{random_part}"
    if not NUMBER.fullmatch(number):
        raise ValueError(f"not a report number: {number!r}")
    return number


def is_report_number(value: str) -> bool:
    return NUMBER.fullmatch(value) is not None


def verdict_of(issued: IssuedReport | None, presented_sha256: str, now: datetime) -> Verdict:
    """Whether a copy whose SHA-256 is ``presented_sha256`` is the report issued, and valid.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 12, 7, tzinfo=UTC)
    >>> issued = IssuedReport("CR-20261207-7KQ2M7XH4TPA", "x", t, t + timedelta(days=30), "ab" * 32)
    >>> [verdict_of(issued, "ab" * 32, t).value, verdict_of(issued, "cd" * 32, t).value]
    ['valid', 'altered']
    >>> verdict_of(issued, "ab" * 32, t + timedelta(days=30)).value
    'expired'
    """
    if issued is None:
        return Verdict.UNKNOWN
    if presented_sha256.lower() != issued.sha256:
        return Verdict.ALTERED
    return Verdict.VALID if now < issued.valid_until else Verdict.EXPIRED


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}"


def local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    return "—" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d}"


#: A listing without an end: a permanent market ban (seed 十: 直至永远逐出市场).
NO_END = "永久"


def list_end(moment: datetime | None, zone: ZoneInfo) -> str:
    """When a listing ends: its day, or :data:`NO_END` for one without end."""
    return NO_END if moment is None else local_date(moment, zone)


def county_name(code: str | None) -> str:
    if code is None:
        return "—"
    name = SHIJIAZHUANG_COUNTIES.get(code)
    return f"{name}（{code}）" if name else code


def amount_text(amount: float | None) -> str:
    """Yuan with thousands separators and two decimals; "—" when none."""
    return "—" if amount is None else f"{amount:,.2f}"


def build_report(
    disclosure: Disclosure,
    number: str,
    policy: DisclosurePolicy,
    zone: ZoneInfo,
    verify_address: str,
) -> CreditReport:
    """The report of ``disclosure`` (made at the issue time), numbered ``number``.

    ``verify_address`` is where the public verification page for this report is
    (printed on it, so a reader knows where to check it).
    """
    issued_at = disclosure.as_of
    sections = [
        _basics(disclosure, zone),
        _records_section(
            "licences",
            "行政许可信息",
            ("许可文书号", "许可内容", "许可机关", "许可决定日期"),
            (1.3, 2.2, 1.3, 1.0),
            disclosure.licences,
            lambda s: (
                s.reference or "—",
                s.description or "—",
                zh.label(zh.DEPARTMENT, s.department),
                local_date(s.occurred_at, zone),
            ),
        ),
        _records_section(
            "penalties",
            "行政处罚信息（公示期内）",
            (
                "决定书文号",
                "处罚类别",
                "违法事实及处罚内容",
                "金额（元）",
                "处罚机关",
                "处罚日期",
                "公示截止",
            ),
            (1.5, 1.1, 2.0, 0.9, 1.1, 0.9, 0.9),
            disclosure.penalties,
            lambda s: (
                s.reference or "—",
                penalty_kind_text(s),
                with_objection_text(s),
                amount_text(s.amount),
                zh.label(zh.DEPARTMENT, s.department),
                local_date(s.occurred_at, zone),
                local_date(s.published_until, zone),
            ),
            empty="公示期内无行政处罚信息",
        ),
        _records_section(
            "other_adverse",
            "其他失信信息（公示期内）",
            ("类别", "文书号", "内容", "认定部门", "认定日期", "公示截止"),
            (1.0, 1.2, 2.2, 1.1, 0.9, 0.9),
            disclosure.other_adverse,
            lambda s: (
                zh.label(zh.ENFORCEMENT_KIND, s.kind),
                s.reference or "—",
                with_objection_text(s),
                zh.label(zh.DEPARTMENT, s.department),
                local_date(s.occurred_at, zone),
                local_date(s.published_until, zone),
            ),
        ),
        _records_section(
            "spot_checks",
            "抽查检查信息（双随机、一公开）",
            ("检查结果", "文书号", "检查机关", "检查日期", "说明"),
            (1.2, 1.2, 1.2, 0.9, 2.0),
            disclosure.spot_checks,
            lambda s: (
                zh.label(zh.SPOT_CHECK_RESULT, s.result),
                s.reference or "—",
                zh.label(zh.DEPARTMENT, s.department),
                local_date(s.occurred_at, zone),
                with_objection_text(s),
            ),
        ),
        Section(
            "lists",
            "名单信息及惩戒措施",
            ("名单", "列入日期", "期限至", "列入依据", "惩戒措施"),
            (1.2, 0.9, 0.9, 2.0, 2.4),
            tuple(
                (
                    zh.label(zh.LIST_KIND, row.list),
                    local_date(row.entered_at, zone),
                    list_end(row.expires_at, zone),
                    "\n".join(basis_text(fact.signal, fact.detail) for fact in row.basis) or "—",
                    "\n".join(
                        f"{zh.label(zh.MEASURE_CATEGORY, m.category)}：{m.description}"
                        for m in row.measures
                    )
                    or "—",
                )
                for row in disclosure.lists
            ),
            empty="未列入失信联合惩戒对象名单或重点关注对象名单",
        ),
        Section(
            "commitments",
            "信用承诺及履约情况",
            ("承诺类型", "承诺内容", "受理部门", "承诺日期", "履约期限", "履约情况"),
            (1.0, 2.0, 1.2, 0.9, 0.9, 0.8),
            tuple(
                (
                    zh.label(zh.COMMITMENT_KIND, c.commitment_kind),
                    c.description or "—",
                    zh.label(zh.DEPARTMENT, c.department),
                    local_date(c.made_at, zone),
                    local_date(c.deadline, zone),
                    zh.label(zh.COMMITMENT_STATUS, c.status),
                )
                for c in disclosure.commitments
            ),
        ),
        _records_section(
            "honours",
            "诚实守信相关荣誉信息",
            ("荣誉名称", "文书号", "授予部门", "授予日期"),
            (2.4, 1.3, 1.3, 1.0),
            disclosure.honours,
            lambda s: (
                s.description or zh.label(zh.ENFORCEMENT_KIND, s.kind),
                s.reference or "—",
                zh.label(zh.DEPARTMENT, s.department),
                local_date(s.occurred_at, zone),
            ),
        ),
        _notes_section(disclosure, zone),
    ]
    numbered = tuple(
        Section(s.key, f"{CHINESE_NUMERALS[i]}、{s.title}", s.columns, s.widths, s.rows, s.empty)
        for i, s in enumerate(sections)
    )
    valid_days = policy.report_valid.days
    return CreditReport(
        number=number,
        subject=disclosure.subject,
        subject_name=disclosure.name,
        issued_at=issued_at,
        valid_until=issued_at + policy.report_valid,
        issuer=ISSUER,
        sections=numbered,
        explanations=(
            "本报告依据出具时记录库中的公共信用信息生成，仅列示公示期内的失信信息。",
            "已完成信用修复或经异议核实更正的信息不在本报告中列示，仅在第九部分说明修复或更正的日期及部门。",
            "自然人的身份证件号码、手机号码已作遮蔽处理；法定代表人等个人信息不在本报告中列示。",
            f"本报告自出具之日起 {valid_days} 日内有效。报告真伪及有效性可通过以下地址核验"
            f"（上传本报告 PDF 文件或输入其 SHA-256 摘要）：{verify_address}",
        ),
    )


def _records_section(
    key: str,
    title: str,
    columns: tuple[str, ...],
    widths: tuple[float, ...],
    items: tuple[Shown, ...],
    cells: Any,
    empty: str = "无",
) -> Section:
    return Section(key, title, columns, widths, tuple(cells(s) for s in items), empty)


def _basics(disclosure: Disclosure, zone: ZoneInfo) -> Section:
    rows = (
        ("主体名称", disclosure.name or "（记录库未登记名称）"),
        ("统一社会信用代码", disclosure.subject),
        ("所在区县", county_name(disclosure.region)),
        ("行业领域", zh.label(zh.SECTOR, disclosure.sector)),
        ("信息截至", local_time(disclosure.as_of, zone)),
    )
    return Section("basics", "基础信息", ("项目", "内容"), (1.0, 3.0), rows)


def penalty_kind_text(shown: Shown) -> str:
    kind = zh.label(zh.ENFORCEMENT_KIND, shown.kind)
    if shown.severity is None:
        return kind
    return f"{kind}（{zh.label(zh.SEVERITY, shown.severity)}）"


def with_objection_text(shown: Shown) -> str:
    """A record's text, with a note when an objection to it is pending or was rejected."""
    text = shown.description or "—"
    if shown.objection == "pending":
        return f"{text}\n【该信息存在异议，正在核查】"
    if shown.objection == "rejected":
        return f"{text}\n【异议已核查，维持原记录】"
    return text


_BASIS_DETAIL = re.compile(r"event (?P<event>\S+) on (?P<day>\d{4}-\d{2}-\d{2}) by (?P<dept>\w+)")


def basis_text(signal: str, detail: str | None) -> str:
    """A list's basis fact in Chinese: the signal, the day and the department.

    >>> basis_text("penalty_serious", "event e-1 on 2026-03-02 by market_regulation")
    '严重行政处罚（2026-03-02，市场监督管理局）'
    """
    found = _BASIS_DETAIL.fullmatch(detail or "")
    name = zh.label(zh.SIGNAL, signal)
    if found is None:
        return name
    return f"{name}（{found['day']}，{zh.label(zh.DEPARTMENT, found['dept'])}）"


def _notes_section(disclosure: Disclosure, zone: ZoneInfo) -> Section:
    rows: list[tuple[str, str, str]] = []
    for note in disclosure.notes:
        what = (
            "信用修复完成，相关失信信息已停止公示"
            if note.kind == "repaired"
            else "异议成立，相关信息已更正并撤销公示"
        )
        rows.append((local_date(note.at, zone), zh.label(zh.DEPARTMENT, note.department), what))
    for shown in (*disclosure.penalties, *disclosure.other_adverse, *disclosure.spot_checks):
        record = shown.reference or zh.label(zh.ENFORCEMENT_KIND, shown.kind)
        if shown.objection == "pending":
            what = f"对{record}提出的异议正在核查"
        elif shown.objection == "rejected":
            what = f"对{record}提出的异议经核查不成立，维持原记录"
        else:
            continue
        day = local_date(shown.objection_at, zone)
        rows.append((day, zh.label(zh.DEPARTMENT, shown.department), what))
    return Section(
        "notes",
        "信用修复及异议说明",
        ("日期", "部门", "说明"),
        (0.9, 1.3, 3.8),
        tuple(rows),
    )


def report_document(report: CreditReport) -> dict[str, Any]:
    """The report as JSON values, as the store keeps it beside the PDF's digest."""
    return {
        "number": report.number,
        "subject": report.subject,
        "subject_name": report.subject_name,
        "issued_at": report.issued_at.isoformat(),
        "valid_until": report.valid_until.isoformat(),
        "issuer": report.issuer,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "columns": list(s.columns),
                "widths": list(s.widths),
                "rows": [list(row) for row in s.rows],
                "empty": s.empty,
            }
            for s in report.sections
        ],
        "explanations": list(report.explanations),
    }


def report_from_document(document: dict[str, Any]) -> CreditReport:
    """The report back from :func:`report_document` (to show an issued report again).

    >>> from datetime import UTC
    >>> t = datetime(2026, 12, 7, tzinfo=UTC)
    >>> section = Section("basics", "一、基础信息", ("项目", "内容"), (1.0, 3.0), (("a", "b"),))
    >>> report = CreditReport("CR-20261207-ABCDEFGHJK23", "x", None, t, t, ISSUER, (section,), ())
    >>> report_from_document(report_document(report)) == report
    True
    """
    return CreditReport(
        number=document["number"],
        subject=document["subject"],
        subject_name=document["subject_name"],
        issued_at=datetime.fromisoformat(document["issued_at"]),
        valid_until=datetime.fromisoformat(document["valid_until"]),
        issuer=document["issuer"],
        sections=tuple(
            Section(
                key=s["key"],
                title=s["title"],
                columns=tuple(s["columns"]),
                widths=tuple(float(w) for w in s["widths"]),
                rows=tuple(tuple(row) for row in s["rows"]),
                empty=s["empty"],
            )
            for s in document["sections"]
        ),
        explanations=tuple(document["explanations"]),
    )
