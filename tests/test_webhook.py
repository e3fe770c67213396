"""Forwarding changes to a department's HTTP endpoint, against a real local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from creditwatch.embedded import free_port
from creditwatch.versions import Change
from creditwatch.webhook import ForwardFailed, ForwardInterrupted, Webhook, check_url
from tests.factories import SUBJECT

CHANGE = Change(SUBJECT, 2, {"subject": SUBJECT, "tier": "C", "version": 2})


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next scripted status; remembers what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/tiers"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), json.loads(body)))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        payload = b"bad field 'tier'" if status == 422 else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(list(getattr(request, "param", [])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hook(url: str, **options: Any) -> Webhook:
    return Webhook(url, "risk.tier-changes", backoff=0.01, max_backoff=0.02, timeout=2, **options)


def test_a_change_is_posted_as_json_with_an_idempotency_key(receiver: Receiver) -> None:
    hook(receiver.url)(CHANGE)

    [(headers, body)] = receiver.received
    assert body == CHANGE.body
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == f"risk.tier-changes:{SUBJECT}:2"


@pytest.mark.parametrize("receiver", [[503, 429, 200]], indirect=True)
def test_busy_or_failing_receivers_are_retried_until_they_accept(receiver: Receiver) -> None:
    hook(receiver.url)(CHANGE)
    assert len(receiver.received) == 3


@pytest.mark.parametrize("receiver", [[500] * 10], indirect=True)
def test_a_receiver_that_keeps_failing_gives_a_clear_error(receiver: Receiver) -> None:
    with pytest.raises(ForwardFailed) as failure:
        hook(receiver.url, attempts=3)(CHANGE)
    assert str(failure.value) == (
        f"cannot forward {SUBJECT} version 2 to {receiver.url} after 3 attempts: "
        "HTTP 500 Internal Server Error"
    )
    assert len(receiver.received) == 3


@pytest.mark.parametrize("receiver", [[422]], indirect=True)
def test_a_rejected_change_is_not_retried(receiver: Receiver) -> None:
    # Retrying cannot fix a body the receiver refuses; the reason is shown instead.
    with pytest.raises(ForwardFailed, match="after 1 attempt: HTTP 422 .*bad field 'tier'"):
        hook(receiver.url)(CHANGE)
    assert len(receiver.received) == 1


def test_an_unreachable_receiver_is_retried_then_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(ForwardFailed, match=f"to {url} after 2 attempts: .*refused"):
        hook(url, attempts=2)(CHANGE)


def test_a_stop_request_ends_the_retries_without_delivering() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(ForwardInterrupted):
        hook(f"http://127.0.0.1:{free_port()}/hook", stop=stop)(CHANGE)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://x/y", "localhost:8080/hook", "http://"]
)
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        check_url(url)
