"""``creditwatch subscribe``: options, errors a user sees, and state across restarts.

The broker is replaced by a fake consumer here; tests/integration/test_subscribe.py
runs the real command against the embedded broker in a separate process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from creditwatch.cli import build_parser, main
from creditwatch.commands import subscribe
from creditwatch.embedded import free_port
from tests.factories import SUBJECT


def parse(*argv: str) -> Any:
    return build_parser().parse_args(["subscribe", *argv])


def test_defaults_read_new_changes_printing_them_with_state_in_memory() -> None:
    args = parse("tier-changes", "--group", "tax-bureau")
    assert (args.feed, args.group, args.func) == ("tier-changes", "tax-bureau", subscribe.run)
    assert args.from_beginning is False and args.forward is None and args.state is None
    assert args.max_messages is None and args.timeout is None
    assert args.max_poll_interval == 10.0


def test_every_option_is_parsed() -> None:
    args = parse(
        "list-changes",
        "--group=court",
        "--bootstrap=kafka.city:9092",
        "--from-beginning",
        "--forward=https://court.example/hooks/lists",
        "--max-messages=5",
        "--timeout=2.5",
        "--state=/var/lib/court/lists.json",
        "--max-poll-interval=30",
    )
    assert args.feed == "list-changes" and args.from_beginning
    assert args.forward == "https://court.example/hooks/lists"
    assert (args.max_messages, args.timeout, args.max_poll_interval) == (5, 2.5, 30.0)
    assert args.state == Path("/var/lib/court/lists.json")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["tier-changes"], "--group"),
        (["alerts", "--group", "g"], "invalid choice"),
        (["tier-changes", "--group", "g", "--max-messages", "0"], "at least 1"),
        (["tier-changes", "--group", "g", "--timeout", "-1"], "more than 0"),
        (["tier-changes", "--group", "g", "--forward", "file:///etc/passwd"], "not an http"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


def test_an_unreachable_broker_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    status = main(["subscribe", "tier-changes", "--group", "g", "--bootstrap", f"127.0.0.1:{port}"])

    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"creditwatch subscribe: error: no Kafka broker reachable at 127.0.0.1:{port} "
        f"(127.0.0.1:{port}: Connection refused)"
    ]


def test_a_broken_state_file_is_refused_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    status = main(["subscribe", "tier-changes", "--group", "g", "--state", str(state)])

    assert status == 2
    assert f"cannot read state file {state}" in capsys.readouterr().err


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    value: bytes
    topic: str = "risk.tier-changes"


class ReplayingConsumer:
    """Always starts from offset 0, as a group whose commits were lost would."""

    def __init__(self, versions: list[int]) -> None:
        self.batch = [
            Message(0, i, json.dumps({"subject": SUBJECT, "version": v}).encode())
            for i, v in enumerate(versions)
        ]
        self.closed = False

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, Sequence[Any]]:
        batch, self.batch = self.batch, []
        return {TopicPartition("risk.tier-changes", 0): batch} if batch else {}

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        pass

    def close(self, autocommit: bool = True) -> None:
        self.closed = True


def test_the_state_file_keeps_a_restart_from_printing_changes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "tiers.json"
    argv = ["subscribe", "tier-changes", "--group", "g", "--state", str(state), "--timeout", "0.1"]
    consumers = [ReplayingConsumer([1, 2]), ReplayingConsumer([1, 2, 3])]
    monkeypatch.setattr(subscribe, "connect", lambda *a, **k: consumers.pop(0))

    assert main(argv) == 0
    first = capsys.readouterr()
    assert main(argv) == 0
    second = capsys.readouterr()

    assert [json.loads(line)["version"] for line in first.out.splitlines()] == [1, 2]
    assert [json.loads(line)["version"] for line in second.out.splitlines()] == [3]
    assert "delivered 1, redelivered (skipped) 2" in second.err
    assert json.loads(state.read_text())["versions"] == {SUBJECT: 3}
