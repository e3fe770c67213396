"""Issue 17 through the worker's case agent, under ``agent.test_context()``: no broker.

An alert snapshot, a workflow notice and a person's command reach the agent as the three topics it
reads would bring them; it keeps the case in its table, publishes each change on
``risk.cases``, audits what the system did, and sends what it cannot read to the
dead-letter topic without stopping.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from pipeline.cases import CaseBook
from streams.wiring import Wiring
from tests.factories import SUBJECT
from tests.pipeline.test_cases import opened
from tests.streams.recorded_producer import RecordedProducer, recorded_producer
from tests.streams.test_ingest_agent import put_raw, run
from topics.audit import parse_audit_request
from topics.cases import CaseAction, CaseCommand, encode_case_command

AGENT = "streams.agents.cases.manage_cases"


@pytest.fixture
def producer(worker: Wiring) -> Iterator[RecordedProducer]:
    with recorded_producer(worker.app) as recorded:
        yield recorded


def test_an_alert_opens_a_case_a_command_changes_it_and_a_bad_message_is_a_dead_letter(
    worker: Wiring, producer: RecordedProducer
) -> None:
    agent_of = worker.app.agents[AGENT]
    alert = opened()
    note = CaseCommand(CaseAction.NOTE, f"{SUBJECT}~1", "li", 1e9, "visited")
    # A workflow notice as risk.workflow carries it: an interview the department owes.
    notice = {"notice_id": "n-1", "subject": SUBJECT, "kind": "interview_due",
              "department": "market_regulation", "issued_at": "2026-03-03T00:00:00+00:00",
              "concerns_event_id": "e0", "due_at": "2026-03-10T00:00:00+00:00",
              "reasons": [], "earliest_eligible_at": None, "policy_version": "p",
              "region": "130102", "sector": "food_drug"}  # fmt: skip

    async def scenario() -> None:
        async with agent_of.test_context() as agent:
            await put_raw(agent, "risk.alerts", SUBJECT.encode(), orjson.dumps(alert))
            await put_raw(agent, "risk.workflow", SUBJECT.encode(), orjson.dumps(notice))
            await put_raw(agent, "risk.internal.case-commands", b"x", b'{"neither": 1}')
            key = SUBJECT.encode()
            await put_raw(agent, "risk.internal.case-commands", key, encode_case_command(note))

    run(worker, scenario())
    cases = producer.values(worker.channels.cases)
    assert [(c["revision"], len(c["notices"]), len(c["notes"])) for c in cases] == [
        (1, 0, 0),  # opened by the alert, owned as routed
        (2, 1, 0),  # the notice joined it
        (3, 1, 1),  # the note
    ]
    assert {c["owner"] for c in cases} == {"changan-food"}
    assert {r.key for r in producer.records(worker.channels.cases)} == {SUBJECT.encode()}
    (opening,) = [
        parse_audit_request(r.value) for r in producer.records(worker.channels.audit_requests)
    ]
    assert (opening.actor, opening.action, opening.target) == (
        "system", "case.open", f"case:{SUBJECT}~1"
    )  # fmt: skip
    (letter,) = producer.values(worker.channels.dead_letters)
    assert letter["reason"] == "bad_internal_message"
    stored = worker.tables.case_books.get(SUBJECT.encode())
    assert stored is not None and CaseBook.from_bytes(stored).case is not None
