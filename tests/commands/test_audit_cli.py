"""``creditwatch audit verify|show`` on trails read from a stand-in for the topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditwatch import admin_io
from creditwatch.cli import main
from topics.audit import AuditRecord, encode_record, new_request
from topics.audit_chain import chain

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def trail(n: int) -> list[bytes]:
    records: list[AuditRecord] = []
    for i in range(n):
        at = START + timedelta(minutes=i)
        request = new_request("cli:ops", "token.create", f"token:t{i}", {"role": "centre"}, at=at)
        records.append(chain(records[-1] if records else None, request, at))
    return [encode_record(r) for r in records]


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The values on risk.audit, offset = index; edit the list to tamper."""
    values: list[bytes] = []

    def read_topic(bootstrap: str, name: str, timeout: float = 0) -> list[admin_io.Message]:
        assert name == "risk.audit"
        return [admin_io.Message(0, i, None, v) for i, v in enumerate(values)]

    monkeypatch.setattr(admin_io, "read_topic", read_topic)
    return values


def test_an_intact_trail_verifies(topic: list[bytes], capsys: pytest.CaptureFixture[str]) -> None:
    topic.extend(trail(4))
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 4 records, chain intact (head: seq 4, hash ")


def test_an_empty_trail_verifies(topic: list[bytes], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == "OK: 0 records, chain intact\n"


def test_an_edited_record_fails_verification(
    topic: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    topic.extend(trail(4))
    topic[1] = topic[1].replace(b"token:t1", b"token:tX")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "altered: offset 1, seq 2: content does not match its hash" in out
    assert out.endswith("FAILED: 1 problem(s) in 4 records\n")


def test_unreadable_and_missing_records_are_reported_by_offset(
    topic: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    records = trail(5)
    topic.extend([records[0], b"not json", records[2], records[4]])
    assert main(["audit", "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("unreadable: offset 1: ")
    assert lines[1] == "removed: offset 2, seq 3: seq 2 missing before it"
    assert lines[2] == "removed: offset 3, seq 5: seq 4 missing before it"


def test_show_prints_the_last_records(
    topic: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    topic.extend(trail(5))
    assert main(["audit", "show", "--last", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:4] == ["4", "2024-05-01T08:03:00+00:00", "cli:ops", "token.create"]
    assert '  token:t4  {"role":"centre"}  ' in lines[1]


def test_verify_without_a_broker_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--bootstrap", "127.0.0.1:9", "--timeout", "1"]) == 2
    assert "no Kafka broker reachable" in capsys.readouterr().err
