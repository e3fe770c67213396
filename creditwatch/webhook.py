"""POST each change to a department's HTTP endpoint, retrying what may succeed later.

A change counts as delivered only on a 2xx answer; the subscriber commits its
offset only then, so a receiver that is down delays changes but never loses
them. Network errors, timeouts, 408, 425, 429 and 5xx are retried with
exponential backoff; any other 4xx means the receiver rejects the change, which
retrying cannot fix, so it fails at once. Each request carries an
``Idempotency-Key`` (topic, key, version) so the receiver can drop a repeat
that reaches it after a subscriber crash.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from creditwatch.versions import Change

RETRYABLE_STATUS = frozenset({408, 425, 429})
USER_AGENT = "creditwatch-subscribe"

Opener = Callable[..., Any]  # urllib.request.urlopen's shape; tests pass a fake


class ForwardFailed(RuntimeError):
    """The receiver did not accept a change; its offset must not be committed."""


class ForwardInterrupted(RuntimeError):
    """Asked to stop while waiting to retry; the change was not delivered."""


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, else :class:`ValueError`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


@dataclass(slots=True)
class Webhook:
    url: str
    topic: str
    attempts: int = 5
    timeout: float = 10.0  # seconds per request
    backoff: float = 0.5  # first wait; doubles per retry
    max_backoff: float = 8.0
    stop: threading.Event = field(default_factory=threading.Event)
    opener: Opener = urllib.request.urlopen

    def __call__(self, change: Change) -> None:
        """Deliver ``change`` or raise :class:`ForwardFailed` / :class:`ForwardInterrupted`."""
        body = change.json_line().encode("utf-8")
        delay = self.backoff
        attempts = max(1, self.attempts)
        for attempt in range(1, attempts + 1):
            retryable, reason = self._post(body, change)
            if not reason:
                return
            if not retryable or attempt == attempts:
                break
            if self.stop.wait(delay):
                raise ForwardInterrupted(f"stopped while retrying {self.url}")
            delay = min(delay * 2, self.max_backoff)
        raise ForwardFailed(
            f"cannot forward {change.key} version {change.version} to {self.url} "
            f"after {attempt} attempt{'s' if attempt > 1 else ''}: {reason}"
        )

    def _post(self, body: bytes, change: Change) -> tuple[bool, str]:
        """One attempt: ``(retryable, "")`` on success, else whether to retry and why."""
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Idempotency-Key": f"{self.topic}:{change.key}:{change.version}",
            },
        )
        try:
            with self.opener(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            reason = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            return exc.code in RETRYABLE_STATUS or exc.code >= 500, reason
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout
            return True, str(getattr(exc, "reason", None) or exc)
        if 200 <= status < 300:
            return False, ""
        return status >= 500, f"HTTP {status}"
