"""Deduplication by version: what a department subscriber applies and what it skips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creditwatch.versions import (
    FEEDS,
    BadChange,
    Change,
    StateError,
    VersionBook,
    load_book,
    save_book,
)
from tests.factories import OTHER_SUBJECT, SUBJECT

TIERS = FEEDS["tier-changes"]
LISTS = FEEDS["list-changes"]


def raw(**fields: Any) -> bytes:
    return json.dumps({"subject": SUBJECT, "version": 1, **fields}).encode()


def test_tier_changes_are_counted_per_subject_and_list_changes_per_subject_and_list() -> None:
    assert TIERS.parse(raw(version=3)).key == SUBJECT
    change = LISTS.parse(raw(list="key_attention", version=2))
    assert (change.key, change.version) == (f"{SUBJECT}|key_attention", 2)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "tombstone"),
        (b"{oops", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1]", "not a JSON object"),
        (json.dumps({"version": 1}).encode(), "no 'subject'"),
        (raw(version="2"), "bad 'version'"),
        (raw(version=0), "bad 'version'"),
        (raw(version=True), "bad 'version'"),
    ],
)
def test_messages_that_are_not_changes_are_refused_with_a_reason(
    value: bytes | None, reason: str
) -> None:
    with pytest.raises(BadChange, match=reason):
        TIERS.parse(value)


def test_a_list_change_without_its_list_is_refused() -> None:
    with pytest.raises(BadChange, match="no 'list'"):
        LISTS.parse(raw())


def test_the_json_line_keeps_every_field_in_wire_order_including_unknown_ones() -> None:
    body = raw(tier="C", previous_tier=None, added_later="x", region="130102")
    assert json.loads(TIERS.parse(body).json_line()) == json.loads(body)
    assert "\n" not in TIERS.parse(body).json_line()


def apply_all(book: VersionBook, versions: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Feed changes through the book as the subscriber does; return what it applies."""
    applied = []
    for subject, version in versions:
        change = Change(subject, version, {"subject": subject, "version": version})
        if book.is_new(change):
            book.apply(change)
            applied.append((subject, version))
    return applied


def test_redeliveries_and_older_versions_are_skipped_per_subject() -> None:
    book = VersionBook(TIERS)
    delivered = [
        (SUBJECT, 1),
        (SUBJECT, 2),
        (OTHER_SUBJECT, 1),
        (SUBJECT, 2),  # redelivered after a failed commit
        (SUBJECT, 1),  # re-read from an older offset
        (OTHER_SUBJECT, 1),
        (SUBJECT, 3),
    ]
    assert apply_all(book, delivered) == [
        (SUBJECT, 1),
        (SUBJECT, 2),
        (OTHER_SUBJECT, 1),
        (SUBJECT, 3),
    ]
    assert book.versions == {SUBJECT: 3, OTHER_SUBJECT: 1}


def test_a_gap_is_measured_but_the_newer_change_still_applies() -> None:
    book = VersionBook(TIERS, {SUBJECT: 2})
    jump = Change(SUBJECT, 5, {})
    assert book.is_new(jump) and book.missing(jump) == 2
    assert book.missing(Change(SUBJECT, 3, {})) == 0
    # A subject seen for the first time starting above 1 (compacted away, or a
    # late start) is not a gap: there is nothing held to compare with.
    assert book.missing(Change(OTHER_SUBJECT, 4, {})) == 0


def test_state_file_round_trips_and_belongs_to_one_topic(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tiers.json"
    assert load_book(TIERS, path).versions == {}  # no file yet: start empty
    save_book(VersionBook(TIERS, {SUBJECT: 4}), path)

    assert load_book(TIERS, path).versions == {SUBJECT: 4}
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    with pytest.raises(StateError, match="risk.tier-changes"):
        load_book(LISTS, path)


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"format": 9}', '{"format": 1, "topic": "risk.tier-changes"}']
)
def test_an_unusable_state_file_is_an_error_not_a_fresh_start(tmp_path: Path, text: str) -> None:
    # Starting empty would re-output every change the department already applied.
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateError, match="state"):
        load_book(TIERS, path)
