"""What a department subscription applies: each change exactly once per version.

Kafka delivers at least once: after a crash, a rebalance or a failed commit a
consumer group reads some messages again. Every public change carries a
``version`` that rises by one per key (subject for tier changes, subject and
list for list changes), so the subscriber keeps the highest version applied per
key and skips anything not newer. A version more than one above the held one is
a gap (the compacted topic dropped intermediate records, or the subscriber
started late); the change still applies, because each record carries the full
current state, and the gap is reported.

The versions map lives in memory; ``--state FILE`` keeps it across restarts.
A department that stores changes in its own database should keep the version
there, in the same transaction as the change.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topics.catalogue import RISK_LIST_CHANGES, RISK_TIER_CHANGES
from topics.lists import KEY_SEPARATOR

STATE_FORMAT = 1


class BadChange(ValueError):
    """A message that is not a change of its feed (not JSON, no key, no version)."""


class StateError(ValueError):
    """The state file cannot be used (unreadable, malformed, or another feed's)."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A public change topic and the fields that identify what a version counts."""

    name: str
    topic: str
    key_fields: tuple[str, ...]

    def parse(self, raw: bytes | None) -> Change:
        """Decode one message value, or raise :class:`BadChange` saying why."""
        if raw is None:
            raise BadChange("tombstone (null value)")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadChange(f"not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadChange("not a JSON object")
        parts = []
        for name in self.key_fields:
            value = body.get(name)
            if not isinstance(value, str) or not value:
                raise BadChange(f"no {name!r}")
            parts.append(value)
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BadChange(f"bad 'version': {version!r}")
        return Change(KEY_SEPARATOR.join(parts), version, body)


@dataclass(frozen=True, slots=True)
class Change:
    key: str  # "subject" or "subject|list"
    version: int
    body: dict[str, Any]

    def json_line(self) -> str:
        """The change as one line of compact JSON, fields in their wire order."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))


FEEDS: dict[str, Feed] = {
    "tier-changes": Feed("tier-changes", RISK_TIER_CHANGES.name, ("subject",)),
    "list-changes": Feed("list-changes", RISK_LIST_CHANGES.name, ("subject", "list")),
}


@dataclass(slots=True)
class VersionBook:
    """The highest version applied per key; decides what is new."""

    feed: Feed
    versions: dict[str, int] = field(default_factory=dict)

    def held(self, key: str) -> int | None:
        return self.versions.get(key)

    def is_new(self, change: Change) -> bool:
        held = self.versions.get(change.key)
        return held is None or change.version > held

    def missing(self, change: Change) -> int:
        """How many versions between the held one and ``change`` were never seen."""
        held = self.versions.get(change.key)
        return 0 if held is None else max(0, change.version - held - 1)

    def apply(self, change: Change) -> None:
        """Record ``change`` as delivered; call only after it was output."""
        self.versions[change.key] = max(change.version, self.versions.get(change.key, 0))

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "topic": self.feed.topic, "versions": self.versions}

    @classmethod
    def from_json(cls, feed: Feed, data: Mapping[str, Any]) -> VersionBook:
        if data.get("format") != STATE_FORMAT:
            raise StateError(f"unknown state format {data.get('format')!r}")
        if data.get("topic") != feed.topic:
            raise StateError(f"it holds versions of {data.get('topic')!r}, not {feed.topic!r}")
        versions = data.get("versions")
        if not isinstance(versions, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in versions.items()
        ):
            raise StateError("'versions' must map keys to integers")
        return cls(feed, dict(versions))


def load_book(feed: Feed, path: Path | None) -> VersionBook:
    """The book saved at ``path``, or an empty one if there is no file (yet)."""
    if path is None or not path.exists():
        return VersionBook(feed)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"state file {path} is not a JSON object")
    try:
        return VersionBook.from_json(feed, data)
    except StateError as exc:
        raise StateError(f"state file {path}: {exc}") from None


def save_book(book: VersionBook, path: Path) -> None:
    """Replace ``path`` atomically, so a crash leaves the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(book.to_json(), handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
