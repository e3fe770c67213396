"""Long work in short turns (streams/runtime/loop_turns.py): the other tasks run meanwhile."""

from __future__ import annotations

import asyncio

from streams.runtime.loop_turns import Turns


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def steps_seen_by_a_waiting_task(turns: Turns | None, clock: FakeClock) -> list[int]:
    """Run 10 steps of 4 ms of work; return the steps after which another task got to run."""
    done: list[int] = []
    seen: list[int] = []
    step = 0

    async def other() -> None:  # e.g. the alert manager with a candidate waiting
        while len(done) < 10:
            seen.append(step)
            await asyncio.sleep(0)

    waiting = asyncio.create_task(other())
    await asyncio.sleep(0)  # it runs once before the work starts
    for step in range(1, 11):
        clock.now += 0.004
        done.append(step)
        if turns is not None:
            await turns.take()
    await waiting
    return seen


def test_a_long_job_lets_the_other_tasks_run_once_per_turn() -> None:
    clock = FakeClock()
    seen = asyncio.run(steps_seen_by_a_waiting_task(Turns(0.01, clock), clock))
    # 4 ms steps, 10 ms turns: a turn ends after steps 3, 6 and 9 (12, 24, 36 ms).
    assert seen[:4] == [0, 3, 6, 9]


def test_without_turns_the_other_task_waits_for_the_whole_job() -> None:
    clock = FakeClock()
    seen = asyncio.run(steps_seen_by_a_waiting_task(None, clock))
    assert seen == [0]  # and then only after the last step
