"""The public disclosure site on a real PostgreSQL record store (no broker: seeded as the
sink writes it). Chinese pages, only what is published now, headers, rate limit,
report verification."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from aiohttp import FormData

from tests.factories import make_uscc
from tests.public import store_seed
from tests.public.site_support import (
    EXPIRED_REPORT,
    HIDDEN_MARKERS,
    LISTED,
    REPORT_PDF,
    TAMPERED_PDF,
    UNKNOWN,
    UNPUBLISHED,
    VALID_REPORT,
    Site,
    scenario,
    with_site,
)

PAGES = (
    "/",
    f"/subjects/{LISTED}",
    f"/subjects/{UNPUBLISHED}",
    "/penalties",
    "/licences",
    "/spot-checks",
    "/lists/key_attention",
    "/lists/joint_punishment",
    "/reports",
    f"/reports/{VALID_REPORT}",
)


@pytest.fixture(scope="module")
def store(module_store: str) -> str:
    store_seed.seed(module_store, scenario())
    return module_store


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_a_subject_page_shows_what_is_published_now_in_chinese(store: str):
    async def body(site: Site) -> str:
        status, html, _ = await site.get(f"/subjects/{LISTED}")
        assert status == 200
        return html

    html = with_site(store, body)
    text = visible_text(html)
    for heading in (
        "基本信息",
        "行政许可信息",
        "行政处罚信息（公示期内）",
        "失信联合惩戒及重点关注名单",
        "抽查检查结果（双随机、一公开）",
        "信用承诺及履约情况",
        "消费投诉公示",
    ):
        assert heading in text, heading
    assert "SHOWN-PENALTY" in text and "行政处罚（一般）" in text and "50,000.00" in text
    assert "SHOWN-LICENCE" in text and "SHOWN-CHECK" in text and "未发现问题" in text
    assert "重点关注对象名单" in text and "提高双随机抽查比例和频次" in text
    assert "失信联合惩戒对象名单</span>" not in html  # that listing's period is over
    assert re.search(r"食品安全\s*</td>\s*<td>\s*已受理\s*</td>\s*<td[^>]*>\s*2\s*<", html)
    for marker in HIDDEN_MARKERS:
        assert marker not in html, marker


def test_a_subject_with_nothing_published_reads_like_an_unknown_one(store: str):
    async def body(site: Site) -> tuple[str, str]:
        _, unpublished, _ = await site.get(f"/subjects/{UNPUBLISHED}")
        _, unknown, _ = await site.get(f"/subjects/{UNKNOWN}")
        return unpublished, unknown

    unpublished, unknown = with_site(store, body)
    assert "未查询到" in unpublished
    assert unpublished.replace(UNPUBLISHED, "X") == unknown.replace(UNKNOWN, "X")


def test_city_wide_lists_show_only_what_is_in_force(store: str):
    async def body(site: Site) -> dict[str, str]:
        return {path: (await site.get(path))[1] for path in PAGES}

    pages = with_site(store, body)
    assert "SHOWN-PENALTY" in pages["/"] and "SHOWN-LICENCE" in pages["/"]
    assert "SHOWN-PENALTY" in pages["/penalties"]
    assert "SHOWN-LICENCE" in pages["/licences"]
    assert "SHOWN-CHECK" in pages["/spot-checks"]
    assert LISTED in pages["/lists/key_attention"]
    assert LISTED not in pages["/lists/joint_punishment"]
    for path, html in pages.items():
        for marker in HIDDEN_MARKERS:
            assert marker not in html, (path, marker)
        if path != f"/subjects/{UNPUBLISHED}":  # (which names the code it was asked for)
            assert UNPUBLISHED not in html, path


def test_every_answer_carries_the_security_headers_and_no_script(store: str):
    async def body(site: Site) -> list[tuple[int, str, dict[str, str]]]:
        return [await site.get(path) for path in ("/", "/nope", f"/subjects/{LISTED}", "/site.css")]

    for _status, html, headers in with_site(store, body):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Server"] == "creditwatch"
        assert "<script" not in html
    assert [r[0] for r in with_site(store, body)] == [200, 404, 200, 200]


def test_bad_input_is_answered_in_chinese_not_with_an_error(store: str):
    async def body(site: Site) -> list[tuple[int, str]]:
        answers = []
        for path in (
            "/subjects/91130100MA0000011X",  # wrong check digit
            "/subjects/../../etc/passwd",
            "/search?q=abc",
            "/penalties?after=not-a-cursor",
            "/penalties?region=999999",
            "/lists/secret",
            "/reports/CR-1",
            "/reports?number=nonsense",
        ):
            status, html, _ = await site.get(path)
            answers.append((status, html))
        return answers

    answers = with_site(store, body)
    assert [status for status, _ in answers] == [400, 404, 400, 400, 400, 404, 404, 400]
    assert all('lang="zh-CN"' in html for _, html in answers)


def test_a_search_by_credit_code_leads_to_the_subject(store: str):
    async def body(site: Site) -> tuple[int, str]:
        status, _, headers = await site.get(f"/search?q={LISTED.lower()}")
        return status, headers["Location"]

    assert with_site(store, body) == (303, f"/subjects/{LISTED}")


def test_a_client_over_its_rate_is_told_when_to_come_back(store: str):
    async def body(site: Site) -> list[tuple[int, str, dict[str, str]]]:
        return [await site.get("/") for _ in range(4)]

    answers = with_site(store, body, rate=0.1, burst=3)
    assert [status for status, _, _ in answers] == [200, 200, 200, 429]
    _, html, headers = answers[-1]
    assert headers["Retry-After"] == "10"  # one page view back after 10 s at 0.1/s
    assert "访问过于频繁" in html


def test_an_issued_report_is_verified_by_upload_or_digest(store: str):
    async def upload(site: Site, number: str, content: bytes) -> tuple[int, str]:
        form = FormData()
        form.add_field("file", content, filename="report.pdf", content_type="application/pdf")
        status, html, _ = await site.post(f"/reports/{number}", data=form)
        return status, html

    async def body(site: Site) -> dict[str, tuple[int, str]]:
        digest = hashlib.sha256(REPORT_PDF).hexdigest()
        return {
            "page": (await site.get(f"/reports/{VALID_REPORT}"))[:2],
            "original": await upload(site, VALID_REPORT, REPORT_PDF),
            "tampered": await upload(site, VALID_REPORT, TAMPERED_PDF),
            "digest": (await site.post(f"/reports/{VALID_REPORT}", data={"sha256": digest}))[:2],
            "expired": await upload(site, EXPIRED_REPORT, REPORT_PDF),
            "unknown": await upload(site, "CR-20261207-CCCCCCCCCCCC", REPORT_PDF),
            "nothing": (await site.post(f"/reports/{VALID_REPORT}", data={"sha256": "x"}))[:2],
        }

    answers = with_site(store, body)
    assert answers["page"][0] == 200 and "有效期内" in answers["page"][1]
    assert LISTED in answers["page"][1]
    assert answers["original"][0] == 200 and "报告真实，且在有效期内" in answers["original"][1]
    assert "可能被篡改" in answers["tampered"][1] and "报告真实" not in answers["tampered"][1]
    assert "报告真实，且在有效期内" in answers["digest"][1]
    assert "已超过有效期" in answers["expired"][1]
    assert answers["unknown"][0] == 404 and "没有编号为" in answers["unknown"][1]
    assert answers["nothing"][0] == 400 and "SHA-256" in answers["nothing"][1]


def test_the_site_s_connections_cannot_write(store: str):
    async def body(site: Site) -> None:
        from streams.public.store import read_only_store

        store_ = read_only_store(store)
        try:
            async with store_.connection() as conn:
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    await conn.execute("DELETE FROM publication_state")
        finally:
            await store_.close()

    with_site(store, body)


def test_a_store_that_is_away_answers_503_in_chinese():
    async def body(site: Site) -> tuple[int, str]:
        status, html, _ = await site.get(f"/subjects/{LISTED}")
        return status, html

    status, html = with_site("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", body)
    assert status == 503 and "暂时无法访问" in html


def test_the_commitments_register_shows_each_kind_and_whether_it_was_kept(module_store: str):
    subject = make_uscc(581)
    now = datetime.now(UTC)
    made = [
        ("c-approval", "approval_substitution", "commitment_breached"),
        ("c-voluntary", "voluntary", "commitment_fulfilled"),
        ("c-association", "industry_self_discipline", None),
        ("c-repair", "credit_repair", "commitment_breached"),
    ]
    messages = []
    for event_id, kind, closed in made:
        messages.append(
            store_seed.enforcement(
                subject=subject,
                event_id=event_id,
                kind="commitment_made",
                commitment_kind=kind,
                occurred_at=now - timedelta(days=30),
                deadline=now + timedelta(days=60),
            )
        )
        if closed:
            messages.append(
                store_seed.enforcement(
                    subject=subject,
                    event_id=f"{event_id}-closed",
                    kind=closed,
                    commitment_kind=kind,
                    concerns_event_id=event_id,
                    occurred_at=now - timedelta(days=5),
                )
            )
    store_seed.seed(module_store, messages)

    async def body(site: Site) -> str:
        status, html, _ = await site.get(f"/subjects/{subject}")
        assert status == 200
        return html

    row = r"<tr><td>(审批替代型|主动型|行业自律型|信用修复型)</td>.*?<td>([^<]+)</td></tr>"
    rows = re.findall(row, with_site(module_store, body))
    assert sorted(rows) == sorted(
        [
            ("审批替代型", "未履行"),
            ("主动型", "已履行"),
            ("行业自律型", "履行期内"),
            ("信用修复型", "未履行"),
        ]
    )


def test_a_permanent_ban_is_on_the_ban_list_without_end(module_store: str):
    subject = make_uscc(582)
    entered = datetime.now(UTC) - timedelta(days=400)
    ban = store_seed.list_change(
        subject,
        "market_ban",
        entered,
        measures=[
            {"code": "market_ban", "category": "industry", "description": "市场和行业禁入",
             "actions": ["market_entry", "licensing"]}
        ],
    )  # fmt: skip
    topic, key, value = ban
    permanent = orjson.loads(value)
    permanent["expires_at"] = None
    store_seed.seed(module_store, [(topic, key, orjson.dumps(permanent))])

    async def body(site: Site) -> str:
        status, html, _ = await site.get("/lists/market_ban")
        assert status == 200
        return html

    text = visible_text(with_site(module_store, body))
    assert "市场和行业禁入名单" in text and subject in text
    assert "永久" in text and "行业性措施：市场和行业禁入" in text


def test_the_red_list_page_shows_a_subject_with_its_incentives(module_store: str):
    """Seed 九 守信激励: the public sees who is on the red list and what it earns."""
    subject = make_uscc(583)
    entered = datetime.now(UTC) - timedelta(days=30)
    store_seed.seed(
        module_store,
        [
            store_seed.list_change(
                subject,
                "red_list",
                entered,
                measures=[
                    {"code": "accept_with_gaps", "category": "incentive",
                     "description": "容缺受理：非核心材料欠缺时先行受理", "actions": ["licensing"]}
                ],
            )
        ],
    )  # fmt: skip

    async def body(site: Site) -> str:
        status, html, _ = await site.get("/lists/red_list")
        assert status == 200
        return html

    text = visible_text(with_site(module_store, body))
    assert "诚信红名单" in text and subject in text and "激励措施" in text
    assert "守信激励措施：容缺受理：非核心材料欠缺时先行受理" in text
    assert "惩戒措施" not in text
