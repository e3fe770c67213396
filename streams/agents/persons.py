"""The person-record agent: one :class:`~detectors.persons.PersonFile` per person (seed 十一).

Subjects' steps send it, keyed by the person's pseudonym, the roles people
hold and the listings that reach them (``risk.internal.person-facts``); it
publishes each person's record on ``risk.person-records`` when it changes.
Wiring only: decode a fact, step (``pipeline/persons.py``), send the record.
"""

from __future__ import annotations

import faust

from detectors.persons import PersonFile
from pipeline.persons import step
from streams.agents.keyed import run_keyed_detector
from streams.agents.publish import send_person_record
from streams.app import app
from streams.runtime.channels import person_facts
from streams.runtime.tables import bytes_table
from streams.settings import step_context
from topics.internal import decode_person_fact
from topics.persons import PersonCreditRecord

person_files = bytes_table(
    "person-files",
    "Credit record per responsible person, keyed by pseudonym (detectors.persons.PersonFile, "
    "JSON): roles held and the listings that reached the person.",
)


def handle_person_fact(
    file: PersonFile | None, value: bytes
) -> tuple[PersonFile, list[PersonCreditRecord]]:
    return step(file, decode_person_fact(value), step_context())


@app.agent(person_facts, concurrency=1)
async def keep_person_records(stream: faust.StreamT[bytes]) -> None:
    await run_keyed_detector(
        stream,
        person_files,
        PersonFile.from_bytes,
        PersonFile.to_bytes,
        handle_person_fact,
        send_person_record,
    )
