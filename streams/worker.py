"""The worker, built in one place at start-up: :func:`build_worker`.

The command that runs a worker reads :class:`~streams.settings.Settings` once
(``creditwatch worker``) and calls :func:`build_worker`, which makes the app,
the step context, the Redis client, the topics and tables, and then calls each
component's ``register(w)`` in :data:`COMPONENTS` with the :class:`~streams.wiring.Wiring`.
Importing any module of ``streams/`` makes none of that.
"""

from __future__ import annotations

from collections.abc import Callable

from streams.agents import (
    audit,
    cases,
    cross_region,
    cross_sector,
    ingest,
    peers,
    persons,
    policy_audit,
    policy_follow,
    regrade,
)
from streams.agents.policy_in_force import PolicyInForce
from streams.agents.publish import Publisher
from streams.agents.subjects import LIVE_STATES_MAX, Subjects
from streams.app import create_app
from streams.http import actions, openapi, policy_versions, records_wiring, self_service, web
from streams.http import cases as case_api
from streams.runtime.channels import Channels, Outbox
from streams.runtime.tables import Tables
from streams.serving import registers, tokens, view
from streams.settings import Settings
from streams.wiring import Wiring

#: Every component of the worker, in the order they are registered.
COMPONENTS: tuple[Callable[[Wiring], None], ...] = (
    ingest.register,  # with the alert manager (streams/agents/alert_manager.py)
    peers.register,
    cross_sector.register,
    cross_region.register,
    persons.register,
    view.register,
    tokens.register,
    registers.register,  # issue 18: association members
    audit.register,
    policy_audit.register,
    policy_follow.register,
    regrade.register,
    web.register,
    actions.register,
    policy_versions.register,
    openapi.register,
    records_wiring.register,
    self_service.register,  # issue 18: subjects' self-service, associations' feed and reports
    cases.register,
    case_api.register,
)


def build_worker(settings: Settings) -> Wiring:
    """The worker ``settings`` describe, every component registered on its app.

    Loads the policy and routing files and checks the pseudonym key first:
    raises ``PolicyError``, ``RoutingError`` or ``SettingError`` (nothing is
    made then). Connects to nothing: Kafka when the app starts, Redis on first use.
    """
    context = settings.step_context()
    routing = settings.load_routing()
    app = create_app(settings)
    channels = Channels.declare(app, settings.partitions)
    outbox = app.outbox = Outbox(app, channels.dead_letters)
    tables = Tables.declare(app, settings.partitions, settings.store)
    subjects = Subjects(tables.subjects, tables.keep_decoded(LIVE_STATES_MAX), outbox)
    wiring = Wiring(
        app=app,
        settings=settings,
        context=context,
        policy=PolicyInForce(context, settings.policy_text()),
        routing=routing,
        redis=view.redis_client(settings.redis),
        channels=channels,
        tables=tables,
        publish=Publisher(outbox, channels),
        subjects=subjects,
    )
    for register in COMPONENTS:
        register(wiring)
    return wiring
