"""Issue 15 acceptance: a penalty through the whole system to the public site, a credit
report and the officials' record search; after repair gone from the first two and
still in the third. Real broker, worker, sink, PostgreSQL, ``creditwatch public-site``
and headless Chromium (screenshots in ``artifacts/``).
"""

from __future__ import annotations

import hashlib
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from creditwatch import admin_io
from creditwatch.embedded import EmbeddedPostgres
from creditwatch.processes import PublicSiteProcess
from tests.conftest import fresh_store
from tests.factories import enforcement_record
from tests.integration.archive_support import running_sink, settle
from tests.integration.conftest import Pipeline, running_pipeline

# The board test's browser fixture (module-scoped headless Chromium), used as `chromium`.
from tests.integration.test_board_e2e import ARTIFACTS, browser  # noqa: F401
from tests.integration.test_pipeline import make_uscc
from tests.integration.test_web_api import send
from tests.public.test_report_pdf import SECTION_TITLES, poppler
from topics.access import Role

pytestmark = pytest.mark.integration
T = TypeVar("T")

NOW = datetime.now(UTC).replace(microsecond=0)
SUBJECT = make_uscc(8801)
REFERENCE = "石市监罚〔2026〕88号"
FACTS = "经营超过保质期的食品，罚款五万元"
WAIT_S = 120.0


def record(event_id: str, kind: str, days_ago: float, **fields: Any) -> dict[str, Any]:
    return enforcement_record(SUBJECT, event_id, kind, NOW - timedelta(days=days_ago), **fields)


@dataclass
class System:
    pipeline: Pipeline
    site: PublicSiteProcess
    department: str  # a department system's token

    def settle(self) -> None:
        off_the_loop(settle, self.pipeline.stack.bootstrap, ["creditwatch-archive"], WAIT_S)

    def audit_trail(self) -> list[dict[str, Any]]:
        messages = off_the_loop(admin_io.read_topic, self.pipeline.stack.bootstrap, "risk.audit")
        return [orjson.loads(m.value) for m in messages]

    def api(
        self, method: str, path: str, token: str | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        url = f"http://127.0.0.1:{self.pipeline.worker.web_port}{path}"
        body = b"{}" if method == "POST" else None
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", f"Bearer {token or self.pipeline.token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        return _open(request, timeout=60)

    def public(self, path: str, data: bytes | None = None, **headers: str) -> tuple[int, str]:
        request = urllib.request.Request(self.site.url.rstrip("/") + path, data=data)
        for name, value in headers.items():
            request.add_header(name, value)
        status, body, _ = _open(request, timeout=30)
        return status, body.decode("utf-8")

    def records(self, query: str = "", token: str | None = None) -> tuple[int, Any]:
        status, body, _ = self.api("GET", f"/api/subjects/{SUBJECT}/records{query}", token)
        return status, orjson.loads(body)

    def report(self) -> tuple[bytes, dict[str, str]]:
        status, body, headers = self.api(
            "POST", f"/api/subjects/{SUBJECT}/reports", self.department
        )
        assert status == 201, body[:300]
        assert headers["Content-Type"] == "application/pdf"
        return body, headers


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        [poppler("pdftotext"), "-raw", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "".join(text.split())


def multipart(content: bytes) -> tuple[bytes, str]:
    boundary = "creditwatch-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def chromium(browser: Any) -> Any:  # noqa: F811  (the imported fixture)
    return browser


def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a thread: Playwright's sync API keeps an event loop running in
    this one, and the admin helpers start their own with asyncio.run."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture(scope="module")
def system(embedded_postgres: EmbeddedPostgres) -> Iterator[System]:
    with fresh_store(embedded_postgres) as url, running_pipeline(url) as pipeline:
        assert pipeline.stack.workdir is not None
        with running_sink(pipeline, url):
            site = PublicSiteProcess(pipeline.stack.workdir, url)
            with site:
                site.wait_ready(timeout=60)
                department = pipeline.issue_token("tax-bureau", Role.DEPARTMENT)
                yield System(pipeline, site, department)


@pytest.fixture(scope="module")
def published(system: System) -> System:
    """The scripted subject: a licence, a spot check, and a general penalty 200 days old
    (published for a year; repairable after 90 days)."""
    send(
        system.pipeline,
        record(
            "pd-licence",
            "licence_granted",
            300,
            department="government_services",
            reference="JY11301020088001",
            description="食品经营许可（热食类食品制售）",
        ),
        record("pd-check", "spot_check", 100, result="passed", reference="石市监抽〔2026〕8号"),
        record(
            "pd-penalty",
            "penalty",
            200,
            severity="general",
            reference=REFERENCE,
            description=FACTS,
            amount=50000,
            legal_rep_id="LR0008801234",
        ),
    )
    system.settle()
    return system


def test_the_penalty_is_on_the_public_site_in_chinese(published: System, chromium: Any):
    from playwright.sync_api import expect

    status, html = published.public(f"/subjects/{SUBJECT}")
    assert status == 200 and REFERENCE in html and FACTS in html
    assert "LR0008801234" not in html  # never the legal representative
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    page.goto(published.site.url)
    expect(page.locator("h1")).to_have_text("石家庄市公共信用信息公示")
    page.fill("#q", SUBJECT)
    page.click("button[type=submit]")
    expect(page.locator("#penalties")).to_have_text("行政处罚信息（公示期内）")
    penalties = page.locator("section[aria-labelledby=penalties] tbody tr")
    expect(penalties).to_have_count(1)
    expect(penalties.first).to_contain_text(REFERENCE)
    expect(penalties.first).to_contain_text("行政处罚（一般）")
    expect(penalties.first).to_contain_text("市场监督管理局")
    licences = page.locator("section[aria-labelledby=licences] tbody tr")
    expect(licences.first).to_contain_text("食品经营许可（热食类食品制售）")
    expect(page.locator("section[aria-labelledby=spot] tbody tr").first).to_contain_text(
        "未发现问题"
    )
    page.screenshot(path=str(ARTIFACTS / "public-subject.png"), full_page=True)
    page.goto(published.site.url + "penalties")
    expect(page.locator("tbody tr", has_text=SUBJECT)).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "public-penalties.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(published.site.url + f"subjects/{SUBJECT}")
    page.screenshot(path=str(ARTIFACTS / "public-subject-phone.png"), full_page=True)
    context.close()
    assert blocked == []


def test_the_officials_record_search_finds_it_published_and_audits_the_read(published: System):
    status, answer = published.records()
    assert status == 200
    penalty = next(r for r in answer["records"] if r["event_id"] == "pd-penalty")
    assert penalty["reference"] == REFERENCE and penalty["legal_rep_id"] == "LR0008801234"
    assert penalty["publication"]["status"] == "published"
    assert penalty["publication"]["published_now"] is True
    status, only_licences = published.records(
        "?kind=licence_granted&department=government_services"
    )
    assert [r["event_id"] for r in only_licences["records"]] == ["pd-licence"]
    status, paged = published.records("?limit=1")
    assert len(paged["records"]) == 1 and paged["after"]
    status, rest = published.records("?limit=5&after=" + urllib.parse.quote(paged["after"]))
    assert {r["event_id"] for r in rest["records"]} | {paged["records"][0]["event_id"]} == {
        "pd-licence",
        "pd-check",
        "pd-penalty",
    }

    # An inspector of another county: as if the subject did not exist; a department: no.
    elsewhere = published.pipeline.issue_token("insp-xinji", Role.INSPECTOR, ["130181"])
    assert published.records(token=elsewhere)[0] == 404
    assert published.records(token=published.department)[0] == 403
    inspector = published.pipeline.issue_token("insp-changan", Role.INSPECTOR, ["130102"])
    status, masked = published.records("?kind=penalty", token=inspector)
    assert status == 200 and masked["records"][0]["legal_rep_id"] == "L*****4"

    # Issue 18: the subject itself reads its own records (masked), and no one else's.
    own = published.pipeline.issue_token("self-8801", Role.SUBJECT, subject=SUBJECT)
    status, mine = published.records("?kind=penalty", token=own)
    assert status == 200 and mine["records"][0]["legal_rep_id"] == "L*****4"
    stranger = published.pipeline.issue_token("self-8802", Role.SUBJECT, subject=make_uscc(8802))
    assert published.records(token=stranger)[0] == 404

    trail = published.audit_trail()
    reads = [r for r in trail if r["action"] == "records.read"]
    assert {r["actor"] for r in reads} >= {"test-centre", "insp-changan", "self-8801"}
    assert all(r["target"] == f"subject:{SUBJECT}" for r in reads)


def test_a_report_carries_the_penalty_and_is_verified_and_a_tampered_copy_is_not(
    published: System, tmp_path: Path, chromium: Any
):
    from playwright.sync_api import expect

    pdf, headers = published.report()
    assert headers["X-Report-SHA256"] == hashlib.sha256(pdf).hexdigest()
    number = headers["X-Report-Number"]
    text = pdf_text(pdf, tmp_path)
    for title in SECTION_TITLES:
        assert title in text, title
    assert REFERENCE in text and FACTS in text and number in text
    assert "JY11301020088001" in text and "LR0008801234" not in text

    body, content_type = multipart(pdf)
    status, html = published.public(f"/reports/{number}", body, **{"Content-Type": content_type})
    assert status == 200 and "报告真实，且在有效期内" in html
    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01  # one bit anywhere
    body, content_type = multipart(bytes(tampered))
    status, html = published.public(f"/reports/{number}", body, **{"Content-Type": content_type})
    assert "可能被篡改" in html and "报告真实" not in html

    # Issue 18: the subject asks for its own report; another subject's token gets 404.
    own = published.pipeline.issue_token("self-report-8801", Role.SUBJECT, subject=SUBJECT)
    status, own_pdf, _ = published.api("POST", f"/api/subjects/{SUBJECT}/reports", own)
    assert status == 201 and own_pdf.startswith(b"%PDF")
    stranger = published.pipeline.issue_token(
        "self-report-8802", Role.SUBJECT, subject=make_uscc(8802)
    )
    assert published.api("POST", f"/api/subjects/{SUBJECT}/reports", stranger)[0] == 404

    # The department reads the issued report again, as HTML.
    status, page_html, headers = published.api(
        "GET", f"/api/reports/{number}?format=html", published.department
    )
    assert status == 200 and REFERENCE in page_html.decode()
    assert any(r["target"] == f"report:{number}" for r in published.audit_trail())

    # The verification page in a browser, with the tampered copy.
    tampered_path = tmp_path / "tampered.pdf"
    tampered_path.write_bytes(bytes(tampered))
    context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(published.site.url + f"reports/{number}")
    expect(page.locator("dl.facts")).to_contain_text(SUBJECT)
    page.set_input_files("#file", str(tampered_path))
    page.click("form[method=post] button[type=submit]")
    expect(page.locator(".verdict")).to_contain_text("可能被篡改")
    page.screenshot(path=str(ARTIFACTS / "public-verify-tampered.png"), full_page=True)
    context.close()


def test_the_board_shows_the_subject_s_records(published: System, chromium: Any):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    worker = published.pipeline.worker
    page.goto(f"http://127.0.0.1:{worker.web_port}/#token={published.pipeline.token}")
    page.fill("#uscc", SUBJECT)
    page.click("#lookup-form button[type=submit]")
    rows = page.locator("#records-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#records-table")).to_contain_text(REFERENCE)
    expect(page.locator("#records-table")).to_contain_text("公示中")
    page.select_option("#r-kind", "licence_granted")
    page.click("#records-form button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("行政许可")
    page.select_option("#r-kind", "")
    page.click("#records-form button[type=submit]")
    expect(rows).to_have_count(3)
    page.locator("#records").screenshot(path=str(ARTIFACTS / "board-records.png"))
    context.close()


def test_after_repair_it_is_gone_from_the_site_and_a_new_report_but_not_from_the_search(
    published: System, tmp_path: Path
):
    send(
        published.pipeline,
        record(
            "pd-commit",
            "commitment_made",
            10,
            commitment_kind="credit_repair",
            deadline=(NOW + timedelta(days=20)).isoformat(),
            description="按期整改并接受复查",
        ),
        record("pd-repair", "repair_applied", 1, concerns_event_id="pd-penalty"),
    )
    published.settle()

    status, html = published.public(f"/subjects/{SUBJECT}")
    assert status == 200 and REFERENCE not in html and FACTS not in html
    assert "JY11301020088001" in html  # the licence stays
    assert REFERENCE not in published.public("/penalties")[1]

    pdf, _ = published.report()
    text = pdf_text(pdf, tmp_path)
    assert REFERENCE not in text and FACTS not in text
    assert "信用修复完成，相关失信信息已停止公示" in text

    status, answer = published.records()
    penalty = next(r for r in answer["records"] if r["event_id"] == "pd-penalty")
    assert penalty["reference"] == REFERENCE
    assert penalty["publication"] == {
        "status": "repaired",
        "published_until": penalty["publication"]["published_until"],
        "published_now": False,
    }
    unpublished = published.records("?published=false")[1]["records"]
    assert "pd-penalty" in {r["event_id"] for r in unpublished}
    assert "pd-penalty" not in {
        r["event_id"] for r in published.records("?published=true")[1]["records"]
    }
