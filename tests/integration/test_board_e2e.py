"""Issue 6 acceptance: the alert board in a real headless Chromium against a running worker.

The browser is Debian's ``chromium`` driven by Playwright's Python package (no
browser download). Screenshots go to ``artifacts/`` for a person to look at.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from detectors.alert_book import AlertBook
from detectors.alert_rules import AlertRule
from pipeline.alert_manager import step
from pipeline.alert_titles import BOARD_LABELS, WORDS
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import enforcement, make_uscc, wait_until
from tests.integration.test_web_api import get_json
from tests.pipeline.test_alert_manager import CONTEXT, candidate_of
from topics.internal import decode_alert_message
from topics.risk import Alert
from topics.vocabulary import (
    SHIJIAZHUANG_COUNTIES,
    SHIJIAZHUANG_COUNTIES_EN,
    AlertKind,
    AlertSeverity,
    Sector,
    Tier,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "dashboards" / "board" / "index.html"
#: The script the board's pages share, at /board.js beside them.
SCRIPT = BOARD.with_name("board.js")
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000  # one alert's trip: Kafka, the worker, Redis, SSE, the page
PHONE = {"width": 390, "height": 844}


def board_files() -> dict[str, tuple[str, bytes]]:
    """The board's page and what it loads besides the API (its shared script and style),
    by path, with the media type the worker sends each as."""
    return {
        "/": ("text/html", BOARD.read_bytes()),
        "/board.js": ("text/javascript; charset=utf-8", SCRIPT.read_bytes()),
        "/board.css": ("text/css; charset=utf-8", BOARD.with_name("board.css").read_bytes()),
    }


def board_vocabulary() -> dict[str, Any]:
    """The vocabulary every page of the board reads, from their shared script."""
    found = re.search(
        r"^  const VOCABULARY = (\{.*?^  \});$", SCRIPT.read_text(encoding="utf-8"), re.S | re.M
    )
    assert found, "the board's shared script holds its vocabulary as a JSON object"
    return json.loads(found.group(1))


def test_board_vocabulary_matches_the_contracts():
    vocabulary = board_vocabulary()
    assert vocabulary["counties"] == SHIJIAZHUANG_COUNTIES
    assert set(vocabulary["sectors"]) == {s.value for s in Sector}
    assert set(vocabulary["severities"]) == {s.value for s in AlertSeverity}
    assert set(vocabulary["kinds"]) == {k.value for k in AlertKind}
    assert vocabulary["tiers"] == [t.value for t in Tier]
    assert vocabulary["counties_en"] == SHIJIAZHUANG_COUNTIES_EN
    # Its labels are a copy of the one table of words, not a table of its own.
    assert vocabulary["labels"] == {
        group: {code: list(pair) for code, pair in WORDS[group].items()} for group in BOARD_LABELS
    }


def digest_alert() -> dict[str, Any]:
    """A daily digest of two subjects' complaint surges, as the alert manager makes it."""
    digest_book, digest = AlertBook(), None
    for n, subject in enumerate((make_uscc(704), make_uscc(705))):
        member = candidate_of(AlertRule.COMPLAINT_SURGE, subject, f"e{n}", sector="education")
        _, outputs = step(AlertBook(), member, CONTEXT)
        (counted,) = [out for out in outputs if isinstance(out, Alert)]
        _, (digest,) = step(digest_book, decode_alert_message(counted.dumps()), CONTEXT)
    assert digest is not None and digest["count"] == 2
    return digest


def test_a_digest_reads_in_the_chosen_language_and_opens_its_subjects(browser: Any):
    """A digest is one board item for many alerts: it says how many, in the reader's
    language only, and each subject it names opens that subject's profile."""
    from playwright.sync_api import Route, expect

    digest = digest_alert()
    profile = {"tier": "C", "score": 60.0, "alert_ids": []}
    bodies = {
        **board_files(),
        "/api/alerts": ("application/json",
                        orjson.dumps({"total": 1, "limit": 50, "offset": 0, "alerts": [digest]})),
        f"/api/alerts/{digest['alert_id']}": ("application/json", orjson.dumps(digest)),
        f"/api/subjects/{make_uscc(705)}": ("application/json", orjson.dumps(profile)),
        "/api/tiers": ("application/json", b'{"A": 1, "B": 2, "C": 3, "D": 4}'),
        "/api/events": ("text/event-stream", b"retry: 60000\n\n"),
    }  # fmt: skip
    looked_up: list[str] = []

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix("http://board.test").split("?")[0]
        looked_up.append(path)
        content_type, body = bodies.get(path, ("application/json", b'{"error": "no"}'))
        route.fulfill(status=200 if path in bodies else 404, content_type=content_type, body=body)

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.route("http://board.test/**", serve)
    page.goto("http://board.test/")
    row = page.locator(f"#alert-list li[data-alert-id='{digest['alert_id']}']")
    expect(row).to_contain_text("长安区教育行业投诉举报激增日汇总")
    expect(row).to_contain_text("汇总 2 条预警")
    row.locator("button").click()
    expect(page.locator("#detail-count")).to_have_text("2")
    expect(page.locator("#evidence tbody tr")).to_have_count(2)
    expect(page.locator("#evidence tbody tr").first).to_contain_text("预付卡")
    assert_one_language(page, "zh")
    page.screenshot(path=str(ARTIFACTS / "board-digest-zh.png"), full_page=True)

    page.locator("#lang-toggle").click()
    expect(row).to_contain_text("Daily digest of complaint surges: Chang'an District")
    expect(row).to_contain_text("2 alerts in this digest")
    expect(page.locator("#evidence tbody tr").first).to_contain_text("prepaid card")
    assert_one_language(page, "en")
    page.screenshot(path=str(ARTIFACTS / "board-digest-en.png"), full_page=True)
    page.locator("#evidence tbody tr").nth(1).locator("button.link").click()
    expect(page.locator("#profile")).to_contain_text(make_uscc(705))
    assert f"/api/subjects/{make_uscc(705)}" in looked_up
    context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package 'playwright' is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def page_errors(page: Any) -> list[str]:
    """The page's script errors and Content-Security-Policy violations, as they happen:
    the page runs under its policy, and a blocked script or style says so here."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return errors


def send(pipeline: Pipeline, record: dict[str, Any]) -> None:
    with KafkaProducer(bootstrap_servers=pipeline.stack.bootstrap) as producer:
        producer.send(
            "enforcement.events", key=record["subject"].encode(), value=orjson.dumps(record)
        )
        producer.flush()


def court_ruling(n: int, event_id: str, region: str) -> tuple[str, dict[str, Any]]:
    subject = make_uscc(n)
    return subject, {
        **enforcement(subject, event_id, "court_dishonest_debtor", 5),
        "region": region,
    }


#: Where the board shows alerts: the list, the detail, the subject's profile. Identifiers
#: (USCC, ids, dedup keys, policy versions: class ``mono``) and times are left out.
ALERT_TEXT = """() => {
  const texts = [];
  for (const root of document.querySelectorAll('#alerts, #detail, #profile')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.mono, time, [hidden]')) continue;
      texts.push(node.textContent);
    }
  }
  return texts.join(' ');
}"""
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def assert_one_language(page: Any, lang: str) -> None:
    """The board in ``lang`` shows no word of the other language about alerts."""
    text = page.evaluate(ALERT_TEXT)
    other = LATIN_WORD.findall(text) if lang == "zh" else HAN.findall(text)
    assert other == [], f"{lang} board shows {other[:10]} in: {text[:400]}"
    assert (HAN.search(text) if lang == "zh" else LATIN_WORD.search(text)) is not None


def test_board_shows_a_new_alert_live_filters_by_county_and_opens_its_evidence(
    pipeline: Pipeline, browser: Any
):
    from playwright.sync_api import expect

    started = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    # An alert in 桥西区 that is already open when the board loads.
    elsewhere, record = court_ruling(700, "b-1", "130104")
    send(pipeline, record)
    wait_until(
        lambda: get_json(pipeline, "/api/alerts?region=130104")[1]["total"] >= 1,
        30,
        "the 桥西区 alert to be served",
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors = page_errors(page)
    page.goto(f"http://127.0.0.1:{pipeline.worker.web_port}/#token={pipeline.token}")
    expect(page.locator("h1")).to_have_text("信用监管预警看板")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#alert-list li", has_text=elsewhere).first).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # A ruling in 晋州市 raised after the page loaded arrives over SSE, at the top.
    subject, record = court_ruling(701, "b-2", "130183")
    send(pipeline, record)
    newest = page.locator("#alert-list li").first
    expect(newest).to_contain_text(subject, timeout=WAIT_MS)
    expect(newest).to_contain_text("晋州市")
    expect(page.locator("#alert-list li.fresh", has_text=subject).first).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("晋州市")
    assert page.evaluate("window.__sameDocument") is True, "the board reloaded"

    # Filtering by 晋州市 keeps its alerts and drops 桥西区's.
    page.select_option("#f-region", "130183")
    expect(page.locator("#alert-list li", has_text=elsewhere)).to_have_count(0)
    expect(page.locator("#alert-list li", has_text=subject).first).to_be_visible()
    # One record, one item: the ruling; its drop to D, joint-punishment listing and market
    # ban are folded into it (docs/alerts.md), kept in the subject's history.
    expect(page.locator("#alert-total")).to_have_text("显示 1 / 共 1 条")
    expect(page.locator("#more")).to_be_hidden()
    assert "region=130183" in page.url

    # The court ruling's evidence: the fact, its source event, score, tier, policy.
    page.locator("#alert-list li", has_text="法院失信被执行人认定").first.click()
    expect(page.locator("#detail-title")).to_have_text("法院失信被执行人认定")
    expect(page.locator("#evidence tbody tr").first).to_contain_text("失信被执行人")
    expect(page.locator("#evidence tbody tr").first).to_contain_text("事件 b-2")
    expect(page.locator("#sources")).to_have_text("b-2")
    expect(page.locator("#detail-tier")).to_contain_text("D")
    expect(page.locator("#detail-policy")).not_to_be_empty()

    # The subject's profile, from the detail's subject link.
    page.locator("#detail-body button.link", has_text=subject).click()
    expect(page.locator("#profile-facts")).to_contain_text("D")
    expect(page.locator("#contributions")).to_contain_text("失信被执行人")
    # The ruling, and muted by it: the drop to D, the listing and the market ban (seed 十).
    expect(page.locator("#profile-alerts li")).to_have_count(4)
    expect(page.locator("#profile-alerts li", has_text="已静默")).to_have_count(3)
    expect(page.locator("#tier-chart svg g[data-tier='D'] text").first).not_to_have_text("0")
    assert_one_language(page, "zh")
    page.screenshot(path=str(ARTIFACTS / "board-e2e.png"), full_page=True)

    # On a phone: one column, nothing wider than the screen, fingers-sized controls.
    page.set_viewport_size(PHONE)
    page.locator("#alerts").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, select, input, a:not(.skip)')]
              .filter((n) => n.offsetParent !== null)
              .map((n) => [n.id || n.textContent.trim(), n.getBoundingClientRect().height])
              .filter(([, h]) => h < 44)"""
    )
    assert small == [], f"touch targets under 44 px: {small}"
    page.screenshot(path=str(ARTIFACTS / "board-e2e-phone.png"))
    page.screenshot(path=str(ARTIFACTS / "board-e2e-phone-full.png"), full_page=True)

    # English labels, remembered across a reload.
    page.locator("#lang-toggle").click()
    expect(page.locator("h1")).to_have_text("Credit supervision alert board")
    page.reload()
    expect(page.locator("h1")).to_have_text("Credit supervision alert board")
    expect(page.locator("#f-region")).to_have_value("130183")
    expect(
        page.locator("#alert-list li", has_text="Court dishonest-debtor ruling").first
    ).to_be_visible()
    # The alert still open from before the reload (#alert=…), in English, and its subject.
    expect(page.locator("#detail-title")).to_have_text("Court dishonest-debtor ruling")
    expect(page.locator("#evidence tbody tr").first).to_contain_text("Court dishonest debtor")
    expect(page.locator("#evidence tbody tr").first).to_contain_text("event b-2")
    page.locator("#detail-body button.link", has_text=subject).click()
    expect(page.locator("#profile-alerts li", has_text="muted")).to_have_count(3)
    # A string in has_text matches case-insensitively; the label is lower case mid-line.
    expect(page.locator("#profile-alerts li", has_text=re.compile("Muted"))).to_have_count(0)
    expect(page.locator("#alert-list li").first).to_contain_text("Jinzhou City")
    assert_one_language(page, "en")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "board-e2e-en.png"), full_page=True)
    context.close()

    assert errors == [], f"script errors on the page: {errors}"
    assert time.monotonic() - started < 60


HOSTILE = '<img src=x onerror="window.__pwned = 1">'


def test_board_never_renders_data_as_html(browser: Any):
    """Alert fields reach the page as text, wherever they come from."""
    from playwright.sync_api import Route, expect

    subject = make_uscc(702)
    alert = {
        "alert_id": "hostile-1",
        "dedup_key": f"{subject}:x",
        "subject": subject,
        "kind": "rule",
        "severity": "high",
        "score": 80.0,
        "tier": "D",
        "region": "130102",
        "sector": "food_drug",
        "title": HOSTILE,
        "title_zh": HOSTILE,
        "evidence": [
            {
                "fact": HOSTILE,
                "value": 1.0,
                "threshold": None,
                "detail": HOSTILE,
                "detail_zh": HOSTILE,
                "label": HOSTILE,
                "label_zh": HOSTILE,
            }
        ],  # fmt: skip
        "source_event_ids": [HOSTILE],
        "created_at": "2026-11-28T02:00:00Z",
        "status": "open",
        "policy_version": HOSTILE,
    }
    live = {**alert, "alert_id": "hostile-2", "region": "130104"}
    bodies = {
        **board_files(),
        "/api/alerts": (
            "application/json",
            orjson.dumps({"total": 1, "limit": 50, "offset": 0, "alerts": [alert]}),
        ),
        "/api/alerts/hostile-1": ("application/json", orjson.dumps(alert)),
        "/api/tiers": ("application/json", b'{"A": 1, "B": 2, "C": 3, "D": 4}'),
        "/api/events": (
            "text/event-stream",
            b"retry: 60000\nid: 1-0\nevent: alert\ndata: " + orjson.dumps(live) + b"\n\n",
        ),
    }

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix("http://board.test").split("?")[0]
        content_type, body = bodies.get(path, ("application/json", b'{"error": "no"}'))
        route.fulfill(status=200 if path in bodies else 404, content_type=content_type, body=body)

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.route("http://board.test/**", serve)
    page.goto("http://board.test/")
    expect(page.locator("#alert-list li")).to_have_count(2)  # the listed one and the live one
    page.locator("#alert-list li[data-alert-id='hostile-1'] button").click()
    expect(page.locator("#detail-title")).to_have_text(HOSTILE)
    expect(page.locator("#sources")).to_have_text(HOSTILE)
    expect(page.locator("#evidence tbody td").nth(3)).to_have_text(HOSTILE)
    # The stream ended, so the board says it is reconnecting rather than live.
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("window.__pwned") is None
    context.close()


#: A text/plain form encodes ``name=value``: the name opens a JSON object and the value
#: closes it, so the server reads ``{..., "x": "="}``.
FORGED = {"matchers": {"region": "130133"}, "reason": "csrf-form", "duration_minutes": 60}
FORM_NAME = json.dumps({**FORGED, "x": ""})[:-2]
ATTACK = """<!doctype html>
<title>cheap flights</title>
<form id="attack" method="POST" enctype="text/plain" action="API/api/silences">
  <input name='FORM_NAME' value='"}'>
</form>
<script>
  // A no-cors fetch is a "simple request": no preflight, and it carries the site's cookies.
  fetch("API/api/silences", {
    method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "text/plain"},
    body: JSON.stringify({...FORGED, reason: "csrf-fetch"}),
  }).catch(() => null).finally(() => document.getElementById("attack").submit());
</script>
"""


@pytest.fixture
def attacker_site(pipeline: Pipeline) -> Iterator[str]:
    """A page on another loopback port: same site as the board (cookies ignore ports)."""
    api = f"http://127.0.0.1:{pipeline.worker.web_port}"
    html = ATTACK.replace("API", api).replace("FORM_NAME", FORM_NAME)
    page = html.replace("...FORGED", json.dumps(FORGED)[1:-1]).encode()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_port_cannot_change_state_with_the_board_s_credentials(
    pipeline: Pipeline, browser: Any, attacker_site: str
):
    """Issue 20 item 1: while the board is signed in, another site's page posts a
    text/plain form (and a no-cors fetch) to the silence endpoint; nothing is silenced."""
    from playwright.sync_api import expect

    context = browser.new_context()
    board = context.new_page()
    board.set_default_timeout(WAIT_MS)
    board.goto(f"http://127.0.0.1:{pipeline.worker.web_port}/#token={pipeline.token}")
    expect(board.locator("#conn")).to_have_attribute("data-state", "live")

    attack = context.new_page()
    attack.set_default_timeout(WAIT_MS)
    answers: list[int] = []
    attack.on("response", lambda r: answers.append(r.status) if "/api/silences" in r.url else None)
    attack.goto(attacker_site)
    attack.wait_for_url("**/api/silences")  # the form was submitted and answered
    wait_until(lambda: len(answers) == 2, 10, "both forged requests to be answered")
    context.close()

    status, body = get_json(pipeline, "/api/silences")
    assert status == 200
    forged = [s for s in body["silences"] if s["reason"].startswith("csrf")]
    assert forged == [], f"a cross-site request created silences (answers {answers})"


def test_the_live_stream_sends_the_token_as_a_header_and_resumes_after_the_last_event(
    browser: Any,
):
    """The board reads the stream with fetch(): the token travels as a bearer header,
    never a cookie, and a reconnect asks for what came after the last event seen."""
    from playwright.sync_api import Route, expect

    subject = make_uscc(703)
    live = {
        "alert_id": "live-1",
        "dedup_key": f"{subject}:x",
        "subject": subject,
        "kind": "rule",
        "severity": "high",
        "title": "Licence revoked",
        "region": "130104",
        "sector": "food_drug",
        "created_at": "2026-11-28T02:00:00Z",
        "status": "open",
    }
    document = orjson.dumps(live).decode()
    half = document.index(",") + 1
    # A keep-alive comment, then an alert whose data spans two lines (CRLF endings).
    stream = (
        f"retry: 300\r\n: keep-alive\r\n\r\nid: 7-0\r\nevent: alert\r\n"
        f"data: {document[:half]}\r\ndata: {document[half:]}\r\n\r\n"
    ).encode()
    streams: list[dict[str, str]] = []
    files = board_files()

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix("http://board.test").split("?")[0]
        if path in files:
            content_type, body = files[path]
            route.fulfill(content_type=content_type, body=body)
        elif path == "/api/events":
            streams.append(route.request.all_headers())
            first = len(streams) == 1
            route.fulfill(content_type="text/event-stream", body=stream if first else b"")
        elif path == "/api/alerts":
            route.fulfill(
                content_type="application/json",
                body=b'{"total": 0, "limit": 50, "offset": 0, "alerts": []}',
            )
        else:
            route.fulfill(content_type="application/json", body=b'{"A": 0, "B": 0, "C": 0, "D": 0}')

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.route("http://board.test/**", serve)
    page.goto("http://board.test/#token=tok-123")
    expect(page.locator("#alert-list li[data-alert-id='live-1']")).to_have_count(1)
    for _ in range(100):  # Playwright answers routes only while the test waits in it
        if len(streams) >= 2:
            break
        page.wait_for_timeout(100)
    context.close()

    first, second = streams[0], streams[1]
    assert first["authorization"] == "Bearer tok-123" and "last-event-id" not in first
    assert second["authorization"] == "Bearer tok-123"
    assert second["last-event-id"] == "7-0"
    assert not any("cookie" in headers for headers in streams)
