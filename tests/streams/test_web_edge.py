"""The web server's edge (issue 20 items 1 and 8), on a bare aiohttp server.

``install_http_edge`` is what the worker's web server gets (``streams/http/web.py``);
here it is installed on a small aiohttp application so a malformed request can
be sent over a socket and the answer and the log read back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from streams.http.web_access import install_http_edge

SECRET = b"SECRET" + b"A" * 9000
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


def served(requests: list[bytes], handler: Handler = hello) -> list[bytes]:
    """The raw answers of a server with the edge installed, one connection per request
    (each request asks to close it, or is one the server closes on)."""

    async def run() -> list[bytes]:
        app = web.Application()
        app.router.add_get("/", handler)
        install_http_edge(app)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        answers = []
        try:
            for raw in requests:
                reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
                writer.write(raw)
                answers.append(await asyncio.wait_for(reader.read(), 10))
                writer.close()
        finally:
            await runner.cleanup()
        return answers

    return asyncio.run(run())


def headers_of(answer: bytes) -> dict[str, str]:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in head)}


def test_an_oversized_header_is_refused_quoting_nothing_in_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET + b"\r\n\r\n"
    with caplog.at_level(logging.DEBUG):
        (answer,) = served([request])
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
    assert b"SECRET" not in answer and b"AAAA" not in answer
    assert b"too long" in answer  # it says what is wrong
    refusals = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].exc_info is None and "SECRET" not in refusals[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert headers_of(answer)["x-content-type-options"] == "nosniff"


def test_every_answer_carries_the_security_headers_and_no_server_version() -> None:
    ok, missing, malformed = served(
        [
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"\x16\x03\x01 not HTTP at all\r\n\r\n",
        ]
    )
    assert ok.startswith(b"HTTP/1.1 200") and missing.startswith(b"HTTP/1.1 404")
    for answer in (ok, missing, malformed):
        headers = headers_of(answer)
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["server"] == "creditwatch"


def test_a_failure_of_our_own_still_logs_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Only a client's malformed request is quiet: a bug in a handler stays loud."""

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.ERROR):
        (answer,) = served([b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"], broken)
    assert answer.startswith(b"HTTP/1.1 500")
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
