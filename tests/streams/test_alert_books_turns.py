"""The alert books are taken a batch at a time by the ingest agent and the manager's agent
(streams/agents/alert_manager.py): neither stores over the other's changes."""

from __future__ import annotations

import asyncio

import pytest

from detectors.alert_book import AlertBook
from streams.agents.alert_manager import AlertManager
from streams.wiring import Wiring


def test_a_second_batch_waits_until_the_first_has_stored_its_books(worker: Wiring) -> None:
    manager, order = AlertManager(worker), []

    async def batch(name: str, inside: asyncio.Event) -> None:
        async with manager.batch():
            order.append(f"{name} takes the books")
            inside.set()
            await asyncio.sleep(0.01)  # a batch hands the event loop on while it works
            order.append(f"{name} stores them")

    async def scenario() -> None:
        ingest_inside = asyncio.Event()
        ingest = asyncio.create_task(batch("ingest", ingest_inside))
        await ingest_inside.wait()
        await asyncio.gather(ingest, batch("manager", asyncio.Event()))

    asyncio.run(scenario())
    assert order == [
        "ingest takes the books",
        "ingest stores them",
        "manager takes the books",
        "manager stores them",
    ]


def test_a_failed_batch_forgets_the_books_it_may_have_changed_in_memory(worker: Wiring) -> None:
    manager = AlertManager(worker)
    manager.decoded.put(b"subject", AlertBook())

    async def failing() -> None:
        async with manager.batch():
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        asyncio.run(failing())
    assert manager.decoded.get(b"subject") is None  # read again from the table
