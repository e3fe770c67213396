"""The cross-sector agents: the rule per linkage group, the department mix per sector.

Seed 十六's cross-sector warning takes two hops. The first agent keeps one
:class:`~detectors.cross_sector.LinkedSignals` per linkage group (a legal
representative's subjects, or one subject); a pattern across departments or
sectors becomes a candidate, sent keyed by its sector. The second keeps one
:class:`~detectors.department_mix.DepartmentMix` per sector; it judges how usual
the candidate's combination of departments is there and raises the alert.
The first also carries seed 十一's linkage: when a subject enters a credit list,
the other subjects of its legal representative get an alert.
Wiring only: decode a message, step (pipeline/cross_sector.py), send the outputs.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from detectors.cross_sector import LinkedSignals
from detectors.department_mix import DepartmentMix
from pipeline.context import StepContext
from pipeline.cross_sector import group_step, mix_step
from streams.agents.keyed import keyed_agent
from streams.agents.publish import Publisher
from topics.internal import (
    CrossSectorCandidate,
    decode_cross_sector_candidate,
    decode_linkage_message,
)
from topics.risk import Alert

if TYPE_CHECKING:
    from streams.wiring import Wiring


def handle_linkage_message(
    context: StepContext, linked: LinkedSignals | None, value: bytes
) -> tuple[LinkedSignals, list[Alert | CrossSectorCandidate]]:
    return group_step(linked, decode_linkage_message(value), context)


def handle_candidate(
    context: StepContext, mix: DepartmentMix | None, value: bytes
) -> tuple[DepartmentMix, list[Alert]]:
    return mix_step(mix, decode_cross_sector_candidate(value), context)


async def send(publish: Publisher, output: Alert | CrossSectorCandidate) -> None:
    """A candidate to its sector's department mix, an alert (a linked listing) to the manager."""
    if isinstance(output, CrossSectorCandidate):
        await publish.cross_sector_candidate(output)
    else:
        await publish.alert(output)


def register(w: Wiring) -> None:
    keyed_agent(
        w,
        f"{__name__}.detect_cross_sector",
        w.channels.adverse_signals,
        w.tables.linked_signals,
        LinkedSignals,
        partial(handle_linkage_message, w.context),
        partial(send, w.publish),
    )
    keyed_agent(
        w,
        f"{__name__}.judge_department_mix",
        w.channels.cross_sector_candidates,
        w.tables.department_mixes,
        DepartmentMix,
        partial(handle_candidate, w.context),
        w.publish.alert,
    )
