"""Issue 17, item 4: the policy approval page in a real headless Chromium.

Official "li" proposes a policy with the CLI (``creditwatch policy propose``),
attaching the report of ``creditwatch policy backtest --json`` for that very
file. The page shows the proposal, its diff (the changed threshold marked) and
the backtest's side-by-side tables; li's approval is refused on the page
(the server's 403), "zhao"'s goes through, and the page then shows the new
policy in force. Screenshots go to ``artifacts/`` for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creditwatch.backtest.compare import compare
from creditwatch.backtest.replay import replay
from creditwatch.backtest.report import to_json
from creditwatch.cli import main
from detectors.policy import DEFAULT_POLICY_PATH, default_policy, load_policy
from pipeline.context import StepContext
from tests.backtest.test_compare import CURRENT, KEY, history
from tests.integration.conftest import Pipeline
from tests.integration.test_board_e2e import ARTIFACTS, WAIT_MS, browser  # noqa: F401
from tests.integration.test_pipeline import wait_until
from tests.integration.test_web_api import get_json
from topics.access import Role

pytestmark = pytest.mark.integration


def proposal_files(directory: Path) -> tuple[Path, Path]:
    """A policy with C from 60 points instead of 50, and its backtest's JSON report."""
    bundled = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = bundled.replace("c_from = 50.0", "c_from = 60.0").replace(
        f'version = "{default_policy().version}"', 'version = "test-page"'
    )
    policy = directory / "new.toml"
    policy.write_text(text, encoding="utf-8")
    done = replay(history(), StepContext(CURRENT, KEY), StepContext(load_policy(policy), KEY))
    report = directory / "backtest.json"
    report.write_text(json.dumps(to_json(compare(done, "current.toml", str(policy)))))
    return policy, report


def test_the_approval_page_shows_the_diff_and_backtest_and_approves_by_a_second_official(
    pipeline: Pipeline,
    browser: Any,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    maker = pipeline.issue_token("li", Role.CENTRE)
    checker = pipeline.issue_token("zhao", Role.CENTRE)
    api = f"http://127.0.0.1:{pipeline.worker.web_port}"
    policy, report = proposal_files(tmp_path)
    command = ["policy", "propose", "--policy", str(policy), "--backtest", str(report)]
    note = ["--note", "C 类起点提高到 60 分"]
    # --token=…: a token may begin with "-", which argparse would take for an option.
    assert main([*command, *note, "--api", api, f"--token={maker}"]) == 0
    printed = capsys.readouterr().out
    assert "+c_from = 60.0" in printed and "creditwatch policy approve " in printed

    def open_page(token: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{api}/policy#token={token}")
        page.errors = errors
        return page

    page = open_page(maker)
    expect(page.locator("#versions li")).to_have_count(1)
    expect(page.locator("#proposal-title")).to_contain_text("策略 test-page")
    expect(page.locator("#facts")).to_contain_text("C 类起点提高到 60 分")
    expect(page.locator("#diff .del", has_text="c_from = 50.0")).to_be_visible()
    expect(page.locator("#diff .add", has_text="c_from = 60.0")).to_be_visible()
    # The backtest's tables, current and new side by side: the evader's county moves.
    county = page.locator('[data-table="by_county"]')
    expect(county).to_contain_text("各县（市、区）等级变动")
    expect(county.locator("tr", has_text="桥西区")).to_contain_text("1")
    expect(page.locator('[data-table="tiers"] th').nth(1)).to_contain_text("现行政策")
    expect(page.locator('[data-table="tiers"] th').nth(2)).to_contain_text("新政策")
    assert "token=" not in page.url  # kept for the tab, out of the address bar
    page.locator("#approve").click()
    expect(page.locator("#message")).to_have_attribute("data-kind", "error")
    expect(page.locator("#message")).to_contain_text("不能批准自己提出的版本")
    page.screenshot(path=str(ARTIFACTS / "policy-approval-refused.png"), full_page=True)
    assert page.errors == []

    page = open_page(checker)
    expect(page.locator("#approve")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "policy-approval.png"), full_page=True)
    page.locator("#approve").click()
    expect(page.locator("#message")).to_have_attribute("data-kind", "ok")
    expect(page.locator("#approve")).to_be_disabled()
    wait_until(
        lambda: get_json(pipeline, "/api/policy/versions")[1]["in_force"]["version"] == "test-page",
        60,
        "the worker to put the approved version in force",
    )
    page.reload()
    expect(page.locator("#in-force")).to_contain_text("test-page")
    expect(page.locator("#facts")).to_contain_text("已批准，现行")
    expect(page.locator("#facts")).to_contain_text("zhao")
    page.screenshot(path=str(ARTIFACTS / "policy-approved.png"), full_page=True)
    assert page.errors == []
