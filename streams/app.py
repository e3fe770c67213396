"""The Faust application, configured from :class:`streams.settings.Settings`.

Agents, tables and sinks live in sibling modules and register themselves on
``app`` when imported; :func:`load_components` imports them.
"""

from __future__ import annotations

import importlib
from typing import Any

import faust

from streams.runtime import end_offsets, fetch_wait, inline_delivery
from streams.settings import Settings, bootstrap_servers

settings = Settings.from_env()


def _faust_config(s: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker": s.kafka,
        "store": s.store,
        "datadir": s.data_dir,
        "topic_partitions": s.partitions,
        "web_bind": s.web_bind,
        "web_port": s.web_port,
        "web_host": s.web_bind,
        # Table contents are personal and commercial data; the web server has no auth.
        "web_tables_enabled": False,
        "producer_acks": -1,
        # Faust sends every message in its own produce request by default; a few
        # milliseconds of linger batches changelog writes and outputs together.
        "producer_linger_ms": 5,
        "producer_max_batch_size": 256 * 1024,
    }
    if s.rebalance_timeout is not None:
        config["broker_rebalance_timeout"] = s.rebalance_timeout
        config["broker_session_timeout"] = max(10.0, s.rebalance_timeout * 2)
        config["broker_heartbeat_interval"] = 1.0
    return config


app = faust.App(settings.app_id, **_faust_config(settings))
end_offsets.install(bootstrap_servers(settings.kafka))
fetch_wait.install(settings.fetch_max_wait_ms)
inline_delivery.install()


COMPONENT_MODULES = (
    "streams.agents.ingest",
    "streams.agents.peers",
    "streams.agents.cross_sector",
    "streams.agents.cross_region",
    "streams.agents.alert_manager",
    "streams.serving.view",
    "streams.serving.tokens",
    "streams.agents.audit",
    "streams.agents.policy_audit",
    "streams.http.web",
    "streams.http.actions",
    "streams.http.openapi",
    "streams.http.records_wiring",
)


def load_components() -> faust.App:
    """Import the modules that register agents, tables and timers on ``app``."""
    for module in COMPONENT_MODULES:
        importlib.import_module(module)
    return app
