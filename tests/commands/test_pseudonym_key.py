"""CREDITWATCH_PSEUDONYM_KEY: required by a worker, generated for throwaway stacks.

A worker without the key refuses to start, saying how to make one, rather
than fall back on a key anyone could know. Workers started by the demo, the
tests and the benchmarks share one random key per launching process, so their
pseudonyms agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditwatch.embedded import embedded_pseudonym_key
from creditwatch.processes import WorkerProcess
from streams.settings import (
    PSEUDONYM_KEY_MIN_LENGTH,
    PSEUDONYM_KEY_VARIABLE,
    SettingError,
    Settings,
    pseudonym_secret,
)


def test_a_missing_or_short_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(SettingError, match=f"{PSEUDONYM_KEY_VARIABLE} is not set.*token_hex"):
        pseudonym_secret("")
    with pytest.raises(SettingError, match="fewer than 32"):
        pseudonym_secret("x" * (PSEUDONYM_KEY_MIN_LENGTH - 1))
    assert pseudonym_secret("k" * PSEUDONYM_KEY_MIN_LENGTH) == b"k" * PSEUDONYM_KEY_MIN_LENGTH


def test_the_key_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, "s3cret-" * 6)
    settings = Settings.from_env()
    assert settings.pseudonym_key == "s3cret-" * 6
    assert "s3cret" not in repr(settings)


def test_a_worker_without_the_key_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != PSEUDONYM_KEY_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-m", "creditwatch.cli", "worker", "--wait-for-broker", "0"],
        env={**env, "CREDITWATCH_KAFKA": "kafka://127.0.0.1:9"},  # never reached
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"{PSEUDONYM_KEY_VARIABLE} is not set" in result.stderr
    assert "retrying" not in result.stderr and "giving up" not in result.stderr  # before the broker


def test_workers_of_one_launcher_share_a_random_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_VARIABLE, raising=False)
    first = WorkerProcess(tmp_path, "kafka://127.0.0.1:1", "redis://127.0.0.1:2/0", name="a")
    second = WorkerProcess(tmp_path, "kafka://127.0.0.1:1", "redis://127.0.0.1:2/0", name="b")
    key = first.env[PSEUDONYM_KEY_VARIABLE]
    assert key == second.env[PSEUDONYM_KEY_VARIABLE] == embedded_pseudonym_key()
    assert len(key) >= PSEUDONYM_KEY_MIN_LENGTH
    pseudonym_secret(key)  # a usable key
    monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, "given-by-the-operator-" * 2)
    third = WorkerProcess(tmp_path, "kafka://127.0.0.1:1", "redis://127.0.0.1:2/0", name="c")
    assert third.env[PSEUDONYM_KEY_VARIABLE] == "given-by-the-operator-" * 2
