"""docker-compose.yml: valid Compose, safe to scale, and wired to the dashboards.

Validity is checked by ``docker compose config`` where the client has the
compose plugin, and always against the Compose specification's JSON schema
(vendored by the ``check-jsonschema`` package, a dev dependency). Neither
knows what this deployment needs, so the properties that matter here are
checked on the parsed file: workers scale, Grafana has no default password,
Kafka runs in KRaft mode, and every piece agrees on partitions, ports and paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
PASSWORD_REQUIRED = re.compile(r"^\$\{GF_SECURITY_ADMIN_PASSWORD:\?.+\}$")
PSEUDONYM_KEY_REQUIRED = re.compile(r"^\$\{CREDITWATCH_PSEUDONYM_KEY:\?.+\}$")
TEST_ONLY_KEY = "test-only-" * 4


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def mounts(name: str) -> dict[str, str]:
    """Container path -> source of a service's volumes (short syntax)."""
    found = {}
    for volume in service(name).get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def has_compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    return result.returncode == 0


def docker_compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            "--output-format",
            "text",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- validity ------------------------------------------------------------------


@pytest.mark.skipif(not has_compose_plugin(), reason="docker CLI without the compose plugin")
def test_docker_compose_accepts_the_file_and_demands_a_grafana_password():
    secrets = ("GF_SECURITY_ADMIN_PASSWORD", "CREDITWATCH_PSEUDONYM_KEY", "CREDITWATCH_DB_PASSWORD")
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    given = {
        "GF_SECURITY_ADMIN_PASSWORD": "test-only",
        "CREDITWATCH_PSEUDONYM_KEY": TEST_ONLY_KEY,
        "CREDITWATCH_DB_PASSWORD": "test-only",
    }
    accepted = docker_compose_config({**env, **given})
    assert accepted.returncode == 0, accepted.stderr
    for secret in secrets:
        refused = docker_compose_config({**env, **given, secret: ""})
        assert refused.returncode != 0
        assert secret in refused.stderr


def test_compose_file_follows_the_compose_specification(tmp_path: Path):
    result = schema_check(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The schema is strict enough to catch a typo in a service key.
    broken = compose()
    broken["services"]["worker"]["enviroment"] = {}
    typo = tmp_path / "docker-compose.yml"
    typo.write_text(json.dumps(broken))  # JSON is YAML
    result = schema_check(typo)
    assert result.returncode != 0 and "enviroment" in result.stdout + result.stderr


# --- what this deployment needs --------------------------------------------------


def test_workers_scale_without_clashing():
    worker = service("worker")
    # A fixed name or host port would make `--scale worker=N` fail on the second one.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["healthcheck"]["test"]


def test_prometheus_finds_every_worker_by_dns():
    worker_port = int(service("worker")["environment"]["CREDITWATCH_WEB_PORT"])
    config_dir = REPO / mounts("prometheus")["/etc/prometheus"]
    config = yaml.safe_load((config_dir / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "creditwatch"]
    (discovery,) = job["dns_sd_configs"]
    assert "worker" in discovery["names"]
    assert discovery["port"] == worker_port


def test_worker_listens_beyond_loopback_inside_its_container():
    # The worker binds 127.0.0.1 by default; Prometheus scrapes it over the network.
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    assert json.loads(cmd) == ["creditwatch", "worker", "--web-bind", "0.0.0.0"]
    assert "command" not in service("worker")


def test_worker_reaches_kafka_and_redis_by_service_name():
    env = service("worker")["environment"]
    assert env["CREDITWATCH_KAFKA"] == "kafka://kafka:9092"
    assert env["CREDITWATCH_REDIS"] == "redis://redis:6379/0"
    # Faust's default (60 s) suits a real broker; the small test value would not.
    assert "CREDITWATCH_REBALANCE_TIMEOUT" not in env
    # Kafka wakes a waiting fetch; only the embedded broker needs the short wait.
    assert env["CREDITWATCH_FETCH_MAX_WAIT_MS"] == 500


def test_topics_worker_and_broker_agree_on_partitions():
    partitions = "${CREDITWATCH_PARTITIONS:-8}"
    command = service("topics")["command"]
    assert command[:3] == ["creditwatch", "topics", "create"]
    assert command[command.index("--partitions") + 1] == partitions
    assert command[command.index("--bootstrap") + 1] == "kafka:9092"
    assert service("worker")["environment"]["CREDITWATCH_PARTITIONS"] == partitions
    assert service("kafka")["environment"]["KAFKA_NUM_PARTITIONS"] == partitions
    # Workers start only once the topics exist with the right partition count.
    assert service("worker")["depends_on"]["topics"] == {
        "condition": "service_completed_successfully"
    }


def test_kafka_runs_in_kraft_mode():
    kafka = service("kafka")
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert mounts("kafka")[env["KAFKA_LOG_DIRS"]] == "kafka-data"
    assert not any("zookeeper" in name for name in compose()["services"])


def test_redis_keeps_an_append_only_file_on_a_volume():
    redis = service("redis")
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert mounts("redis")["/data"] == "redis-data"


def test_grafana_has_no_default_password_and_no_anonymous_access():
    env = service("grafana")["environment"]
    assert PASSWORD_REQUIRED.match(env["GF_SECURITY_ADMIN_PASSWORD"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_workers_need_the_pseudonym_key_and_have_no_default():
    # A default would be a key everyone knows: pseudonyms anyone could reverse.
    env = service("worker")["environment"]
    assert PSEUDONYM_KEY_REQUIRED.match(env["CREDITWATCH_PSEUDONYM_KEY"])


def test_grafana_loads_the_provisioned_datasource_and_dashboards():
    grafana = mounts("grafana")
    assert grafana["/etc/grafana/provisioning"] == "./dashboards/grafana/provisioning"
    provider_file = REPO / "dashboards/grafana/provisioning/dashboards/creditwatch.yml"
    (provider,) = yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]
    assert grafana[provider["options"]["path"]] == "./dashboards/grafana/dashboards"
    home = service("grafana")["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (REPO / "dashboards/grafana/dashboards" / Path(home).name).exists()

    datasource_file = REPO / "dashboards/grafana/provisioning/datasources/prometheus.yml"
    (datasource,) = yaml.safe_load(datasource_file.read_text(encoding="utf-8"))["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert "prometheus" in compose()["services"]


def test_simulator_runs_only_when_asked_for():
    simulator = service("simulator")
    assert simulator["profiles"] == ["simulator"]
    assert simulator["command"][:2] == ["creditwatch", "simulate"]
    for name, other in compose()["services"].items():
        if name != "simulator":
            assert "profiles" not in other, f"{name} would not start by default"


def test_the_record_store_keeps_its_data_on_a_volume_and_needs_a_password():
    postgres = service("postgres")
    assert postgres["image"].startswith("postgres:18")
    assert mounts("postgres")["/var/lib/postgresql"] == "postgres-data"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${CREDITWATCH_DB_PASSWORD:?")
    assert postgres["healthcheck"]["test"]


def test_the_sink_starts_after_the_topics_and_the_schema_migration():
    migrate, sink = service("migrate"), service("sink")
    assert migrate["command"] == ["creditwatch", "archive", "migrate"]
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert sink["command"][:3] == ["creditwatch", "archive", "sink"]
    done = {"condition": "service_completed_successfully"}
    assert sink["depends_on"] == {"topics": done, "migrate": done}
    for name in ("migrate", "sink"):
        url = service(name)["environment"]["CREDITWATCH_DATABASE"]
        assert url.startswith("postgresql://creditwatch:${CREDITWATCH_DB_PASSWORD:?")
        assert url.endswith("@postgres:5432/creditwatch")
        assert service(name)["environment"]["CREDITWATCH_KAFKA"] == "kafka://kafka:9092"


def test_prometheus_scrapes_the_sink_on_its_metrics_port():
    command = service("sink")["command"]
    port = int(command[command.index("--metrics-port") + 1])
    assert command[command.index("--metrics-bind") + 1] == "0.0.0.0"
    config_dir = REPO / mounts("prometheus")["/etc/prometheus"]
    config = yaml.safe_load((config_dir / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "creditwatch-archive"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["sink"] and discovery["port"] == port
