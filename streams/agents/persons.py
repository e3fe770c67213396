"""The person-record agent: one :class:`~detectors.persons.PersonFile` per person (seed 十一).

Subjects' steps send it, keyed by the person's pseudonym, the roles people
hold and the listings that reach them (``risk.internal.person-facts``); it
publishes each person's record on ``risk.person-records`` when it changes.
Wiring only: decode a fact, step (``pipeline/persons.py``), send the record.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from detectors.persons import PersonFile
from pipeline.context import StepContext
from pipeline.persons import step
from streams.agents.keyed import keyed_agent
from topics.internal import decode_person_fact
from topics.persons import PersonCreditRecord

if TYPE_CHECKING:
    from streams.wiring import Wiring


def handle_person_fact(
    context: StepContext, file: PersonFile | None, value: bytes
) -> tuple[PersonFile, list[PersonCreditRecord]]:
    return step(file, decode_person_fact(value), context)


def register(w: Wiring) -> None:
    handle = partial(handle_person_fact, w.context)
    channel, table = w.channels.person_facts, w.tables.person_files
    name = f"{__name__}.keep_person_records"
    keyed_agent(w, name, channel, table, PersonFile, handle, w.publish.person_record)
