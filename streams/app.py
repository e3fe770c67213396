"""The worker's ``faust.App``, configured from :class:`streams.settings.Settings`.

:func:`create_app` makes it, with our replacements of parts of Faust's data
path installed (``streams/runtime/``); ``streams.worker.build_worker`` calls it
at start-up. Importing this module makes nothing.
"""

from __future__ import annotations

from typing import Any

import faust

from streams.runtime import (
    batches,
    channels,
    end_offsets,
    fetch_wait,
    inline_delivery,
    uncommitted_seek,
)
from streams.runtime.channels import Outbox
from streams.settings import Settings, bootstrap_servers, session_timeout


class WorkerApp(faust.App):
    """Faust's App, with the outbox every record of the worker goes through.

    Its consumer commits only what the outbox has delivered
    (:func:`streams.runtime.channels.install_commit_guard`).
    """

    outbox: Outbox | None = None


def faust_config(s: Settings) -> dict[str, Any]:
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
        config["broker_session_timeout"] = session_timeout(s.rebalance_timeout)
        config["broker_heartbeat_interval"] = 1.0
    return config


def create_app(settings: Settings) -> WorkerApp:
    """The worker's app, and our changes to Faust's data path (each installed over
    Faust's own method, so making a second app changes nothing twice)."""
    app = WorkerApp(settings.app_id, **faust_config(settings))
    end_offsets.install(bootstrap_servers(settings.kafka))
    fetch_wait.install(settings.fetch_max_wait_ms, settings.fetch_idle_wait_ms)
    inline_delivery.install()
    batches.install()
    channels.install_commit_guard()
    uncommitted_seek.install()
    return app
