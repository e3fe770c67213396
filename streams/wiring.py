"""What the worker's start-up built, handed to every component's ``register``."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from pipeline.context import StepContext
from pipeline.routing import Routing
from streams.agents.policy_in_force import PolicyInForce
from streams.agents.publish import Publisher
from streams.agents.subjects import Subjects
from streams.app import WorkerApp
from streams.runtime.channels import Channels, Outbox
from streams.runtime.tables import Tables
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class Wiring:
    """One worker's app, settings and clients, built once by ``streams.worker.build_worker``.

    A component takes what it needs from here in its ``register(w)`` and keeps
    it in the closures of the agents, timers and pages it adds to ``w.app``;
    nothing is looked up from a module global.
    """

    app: WorkerApp
    settings: Settings
    #: What every step reads: the policy in force and the pseudonym key.
    context: StepContext
    #: The policy in force (``context.policy``) with its text, as approved versions
    #: replace it while the worker runs (streams/agents/policy_follow.py).
    policy: PolicyInForce
    #: Which inspectors' inboxes an alert goes to (pipeline/routing.toml).
    routing: Routing
    #: The serving view's Redis (it connects on first use).
    redis: aioredis.Redis
    #: The topic objects, one per catalogue topic.
    channels: Channels
    #: The changelogged tables, and the decoded values kept from them.
    tables: Tables
    #: Every output record, sent and counted.
    publish: Publisher
    #: The subject states the ingest agent and the re-grade share, and the profiles
    #: they changed.
    subjects: Subjects

    @property
    def outbox(self) -> Outbox:
        """Where every record the worker writes goes (tables' changelogs included)."""
        return self.publish.outbox
