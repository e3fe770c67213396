"""Issue 17: the case board (dashboards/board/cases.html) in headless Chromium against a
running worker: the owner's queue, the case page and its actions, the overdue queue, and
the centre's reassignment. Screenshots go to ``artifacts/`` for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.alert_titles import WORDS
from tests.integration.conftest import Pipeline
from tests.integration.test_board_e2e import (  # noqa: F401 (browser: a fixture)
    ARTIFACTS,
    PHONE,
    WAIT_MS,
    board_vocabulary,
    browser,
    page_errors,
)
from tests.integration.test_cases import wait_for_case
from tests.integration.test_pipeline import enforcement, make_uscc
from tests.integration.test_web_api import send
from topics.access import Role
from topics.cases import CaseStatus, Verdict
from topics.vocabulary import SHIJIAZHUANG_COUNTIES, SHIJIAZHUANG_COUNTIES_EN

pytestmark = pytest.mark.integration


def test_the_case_board_s_words_are_the_contracts():
    vocabulary = board_vocabulary()
    assert set(vocabulary["case_status"]) == {s.value for s in CaseStatus}
    assert set(vocabulary["verdict"]) == {v.value for v in Verdict}
    assert vocabulary["counties"] == SHIJIAZHUANG_COUNTIES
    assert vocabulary["counties_en"] == SHIJIAZHUANG_COUNTIES_EN
    for group in ("sector", "kind", "severity", "department"):
        assert vocabulary["labels"][group] == {c: list(p) for c, p in WORDS[group].items()}


def open_page(pipeline: Pipeline, chromium: Any, token: str, where: str, **context: Any) -> Any:
    viewport = context.pop("viewport", {"width": 1280, "height": 1000})
    page = chromium.new_context(viewport=viewport, locale="zh-CN", **context).new_page()
    page.set_default_timeout(WAIT_MS)
    page.errors = page_errors(page)
    separator = "&" if "#" in where else "#"
    page.goto(f"http://127.0.0.1:{pipeline.worker.web_port}/cases{where}{separator}token={token}")
    return page


def test_an_owner_works_a_case_on_the_board(pipeline: Pipeline, browser: Any):  # noqa: F811
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    subject = make_uscc(9201)
    send(pipeline, enforcement(subject, "board-case-1", "court_dishonest_debtor", 5))
    case_id = wait_for_case(pipeline, subject)["case_id"]
    owner = pipeline.issue_token("changan-food", Role.INSPECTOR, counties=["130102"])

    page = open_page(pipeline, browser, owner, "")
    expect(page.locator("h1")).to_have_text("案件")
    # "My cases" is the first queue, and the routed case is in it.
    item = page.locator(f"#case-list li[data-case-id='{case_id}']")
    expect(item).to_contain_text("法院失信被执行人认定")
    expect(item).to_contain_text("承办人: changan-food")
    page.screenshot(path=str(ARTIFACTS / "cases-queue-zh.png"), full_page=True)
    item.locator("button").click()
    expect(page.locator("#case-subject")).to_have_text(subject)
    expect(page.locator("#case-status")).to_have_text("新建")

    # A verdict on the alert, a note, and a move to investigating, each shown once applied.
    row = page.locator("#case-alerts tbody tr").first
    row.locator("select").select_option("false_positive")
    row.locator("button").click()
    expect(row.locator("td.verdict")).to_have_text("误报")
    page.locator("#note-text").fill("现场核查：冷库温度记录完整")
    page.locator("#note-form button").click()
    expect(page.locator("#case-notes")).to_contain_text("changan-food: 现场核查：冷库温度记录完整")
    # A file: uploaded from the page, listed on the case, downloaded whole.
    scan = b"%PDF-1.4 scanned interview record\n" * 20
    page.locator("#attach-file").set_input_files(
        {"name": "约谈记录.pdf", "mimeType": "application/pdf", "buffer": scan}
    )
    page.locator("#attach-form button").click()
    expect(page.locator("#case-attachments")).to_contain_text("约谈记录.pdf")
    with page.expect_download() as downloading:
        page.locator("#case-attachments button").click()
    saved = downloading.value
    assert saved.suggested_filename == "约谈记录.pdf"
    assert Path(saved.path()).read_bytes() == scan
    page.locator("#case-moves button[data-status='investigating']").click()
    expect(page.locator("#case-status")).to_have_text("调查中")
    history = page.locator("#case-history")
    expect(history).to_contain_text("系统 · 立案 · 承办人 changan-food，队列 food-safety")
    expect(history).to_contain_text("changan-food · 状态变更 · 调查中")
    expect(history).to_contain_text("changan-food · 定性 · 法院失信被执行人认定: 误报")
    # An inspector may not reassign: the refusal is shown, the owner unchanged.
    page.locator("#new-owner").fill("someone-else")
    page.locator("#reassign button").click()
    expect(page.locator("#case-message")).to_have_text("仅监管中心可改派案件。")
    expect(page.locator("#case-owner")).to_have_text("changan-food")
    page.screenshot(path=str(ARTIFACTS / "case-page-zh.png"), full_page=True)

    page.locator("#lang-toggle").click()
    expect(page.locator("#case-status")).to_have_text("investigating")
    expect(row.locator("td.verdict")).to_have_text("false positive")
    expect(page.locator("#case-message")).to_have_text(
        "Only the supervision centre reassigns cases."
    )
    page.screenshot(path=str(ARTIFACTS / "case-page-en.png"), full_page=True)
    assert page.errors == []

    phone = open_page(pipeline, browser, owner, f"#case={case_id}", viewport=PHONE)
    expect(phone.locator("#case-subject")).to_have_text(subject)
    phone.screenshot(path=str(ARTIFACTS / "case-page-phone.png"), full_page=True)


def test_the_centre_sees_the_overdue_queue_and_reassigns(
    pipeline: Pipeline,
    browser: Any,  # noqa: F811
):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    late = make_uscc(9202)
    three_weeks = 21 * 24 * 60
    send(pipeline, enforcement(late, "board-case-2", "court_dishonest_debtor", three_weeks))
    case_id = wait_for_case(pipeline, late)["case_id"]

    page = open_page(pipeline, browser, pipeline.token, "?view=overdue")
    item = page.locator(f"#case-list li[data-case-id='{case_id}']")
    expect(item).to_contain_text("已逾期")
    page.screenshot(path=str(ARTIFACTS / "cases-overdue-zh.png"), full_page=True)
    item.locator("button").click()
    page.locator("#new-owner").fill("qiaoxi-all")
    page.locator("#reassign button").click()
    expect(page.locator("#case-owner")).to_have_text("qiaoxi-all")
    expect(page.locator("#case-history")).to_contain_text("test-centre · 改派")
    assert page.errors == []
