"""Chinese names for the contracts' codes, as the public site and credit reports print them.

One table per vocabulary, each covering every value of its enumeration
(``tests/pipeline/test_disclosure.py`` checks that), so a new code cannot reach
a page as a raw English identifier. :func:`label` falls back to the code itself
for a value a newer writer added, rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.alert_titles import WORDS, ZH


def _chinese(group: str) -> dict[str, str]:
    """The Chinese names of a group of the alert words' table (one name per code)."""
    return {code: pair[ZH] for code, pair in WORDS[group].items()}


#: Shared with the alert titles and the board.
SECTOR = _chinese("sector")

DEPARTMENT = {
    "market_regulation": "市场监督管理局",
    "ecology_environment": "生态环境局",
    "taxation": "税务局",
    "court": "人民法院",
    "government_services": "行政审批局",
    "housing_construction": "住房和城乡建设局",
    "emergency_management": "应急管理局",
    "education": "教育局",
    "health": "卫生健康委员会",
    "financial_regulation": "金融监督管理局",
    "industry_association": "行业协会",
    "superior_unit": "上级主管单位",
    "audit": "审计部门",
    "discipline_inspection": "纪检监察机关",
    "organisation_personnel": "组织人事部门",
}

ENFORCEMENT_KIND = _chinese("enforcement")

#: The policy's credit signals (``detectors/policy.toml``), as a list's basis names them.
SIGNAL = _chinese("signal")

SEVERITY = _chinese("penalty_severity")

SPOT_CHECK_RESULT = {
    "passed": "未发现问题",
    "problems_found": "发现问题",
    "not_found_at_address": "通过登记的住所无法联系",
}

COMMITMENT_KIND = _chinese("commitment_kind")

OBJECTION_OUTCOME = {"upheld": "异议成立，记录已更正", "rejected": "异议不成立，维持原记录"}

LIST_KIND = {code: f"{name}名单" for code, name in _chinese("list").items()}

MEASURE_CATEGORY = {
    "administrative": "行政性措施",
    "market": "市场性措施",
    "industry": "行业性措施",
    "incentive": "守信激励措施",
}

COMPLAINT_CATEGORY = _chinese("category")

COMPLAINT_STATUS = {
    "received": "已登记",
    "accepted": "已受理",
    "rejected": "不予受理",
    "mediating": "调解中",
    "mediated": "调解成功",
    "mediation_failed": "调解不成",
    "closed": "已办结",
}

COMMITMENT_STATUS = {"open": "履行期内", "fulfilled": "已履行", "breached": "未履行"}


def label(table: Mapping[str, str], code: str | None) -> str:
    """The Chinese name of ``code`` in ``table``; the code itself if unknown, "—" for None.

    >>> label(SECTOR, "food_drug"), label(SECTOR, "space"), label(SECTOR, None)
    ('食品药品', 'space', '—')
    """
    if code is None:
        return "—"
    return table.get(code, code)
