"""Live event streams stay open while nothing happens (issue 20, item 4).

The board's EventSource and an inspector's inbox hold one HTTP response open
for hours. With no traffic the worker must keep them alive with an SSE comment
every ``SSE_KEEPALIVE_MS`` (proxies drop silent connections), and must not
break them: redis-py 8's 5 s default socket timeout used to cut the 15 s
blocking read short, the handler failed mid-body and the board flipped to
重连中… every few seconds.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

import pytest

from streams.http.web import SSE_KEEPALIVE_MS
from tests.integration.conftest import Pipeline
from topics.access import Role

pytestmark = pytest.mark.integration

#: Two blocking reads and more: a socket timeout shorter than one read breaks the first.
IDLE_S = 2 * SSE_KEEPALIVE_MS / 1000 + 5.0
INTERVAL_S = SSE_KEEPALIVE_MS / 1000
#: Scheduling slack on a busy 2-core machine; far below a second missed interval.
SLACK_S = INTERVAL_S / 2


@dataclass
class Watch:
    """What one SSE client saw: when each keep-alive came, and how the stream ended."""

    path: str
    status: int | None = None
    keepalives: list[float] = field(default_factory=list)  # seconds after the response began
    ended: str | None = None  # None: still open when the client stopped listening


def watch_idle(port: int, path: str, token: str, seconds: float, into: Watch) -> None:
    """Hold ``path`` open for ``seconds`` with a bearer header, noting keep-alives and breaks."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=INTERVAL_S + SLACK_S)
    try:
        connection.request(
            "GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        )
        response = connection.getresponse()
        into.status = response.status
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            line = response.readline()
            if not line:
                into.ended = "end of stream"
                return
            if line.startswith(b": keep-alive"):
                into.keepalives.append(time.monotonic() - began)
    except (http.client.HTTPException, OSError) as exc:  # IncompleteRead, reset, timeout
        into.ended = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def test_idle_event_streams_get_keepalives_and_stay_open(pipeline: Pipeline):
    inspector = "idle-inspector"
    inspector_token = pipeline.issue_token(inspector, Role.INSPECTOR, counties=["130102"])
    watches = [
        (Watch("/api/events"), pipeline.token),
        (Watch(f"/api/inbox/{inspector}/events"), inspector_token),
    ]
    threads = [
        threading.Thread(
            target=watch_idle,
            args=(pipeline.worker.web_port, watch.path, token, IDLE_S, watch),
        )
        for watch, token in watches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(IDLE_S + 2 * INTERVAL_S)

    for watch, _ in watches:
        assert watch.status == 200, watch
        assert watch.ended is None, f"{watch.path} broke after {watch.keepalives}: {watch.ended}"
        # One keep-alive per interval, the first one interval after the start.
        assert len(watch.keepalives) >= int(IDLE_S // INTERVAL_S), watch
        gaps = [b - a for a, b in zip([0.0, *watch.keepalives], watch.keepalives, strict=False)]
        assert all(gap <= INTERVAL_S + SLACK_S for gap in gaps), (watch.path, gaps)
    assert "Redis unavailable" not in pipeline.worker.log_text()
