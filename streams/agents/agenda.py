"""Event-time timers for the supervision workflows, one agenda per input partition.

A deadline falls due when event time passes it, not wall time, so a replay
fires it at the same point of the stream. Event time here is each partition's
watermark: the newest ``occurred_at`` on its ``enforcement.events`` partition,
a single ordered log (the other input topics would make the point depend on
how fetches interleave).

Subjects wait in day buckets, ``{subject: due}`` per UTC day of their next due
time, stored in a changelogged table under the partition's own keys, so a
restarted or rebalanced worker resumes the agenda with its partition. A
subject whose due time moved stays in its old bucket too: waking it early is
harmless, the case file knows what is really due.
"""

from __future__ import annotations

from typing import Any

import orjson
from faust.types import EventT, TableT

from streams.runtime.channels import Outbox
from streams.runtime.tables import BatchCache

DAY_S = 86_400


def _clock_key(partition: int) -> bytes:
    return f"{partition}|clock".encode()


def _bucket_key(partition: int, day: int) -> bytes:
    return f"{partition}|{day}".encode()


class Agenda:
    """One batch's view of the agendas, written back with the batch."""

    def __init__(self, table: TableT, outbox: Outbox) -> None:
        self.entries: BatchCache[Any] = BatchCache(table, orjson.loads, orjson.dumps, outbox)

    def watermark(self, partition: int) -> float:
        clock = self.entries.get(_clock_key(partition))
        return float(clock["watermark"]) if clock else 0.0

    def advance(self, event: EventT, at_s: float) -> list[str]:
        """Move the partition's watermark to ``at_s``; return the subjects now due,
        earliest first (ties by subject, so the order is reproducible)."""
        partition = event.message.partition
        clock = self.entries.get(_clock_key(partition))
        if clock is not None and at_s <= clock["watermark"]:
            return []
        today = int(at_s // DAY_S)
        first_day = clock["next_day"] if clock is not None else today
        due: list[tuple[float, str]] = []
        for day in range(first_day, today + 1):
            key = _bucket_key(partition, day)
            bucket: dict[str, float] | None = self.entries.get(key)
            if not bucket:
                continue
            now = {subject: at for subject, at in bucket.items() if at <= at_s}
            if now:
                due += ((at, subject) for subject, at in now.items())
                left = {s: at for s, at in bucket.items() if s not in now}
                self.entries.put(key, left or None, event)
        self.entries.put(_clock_key(partition), {"watermark": at_s, "next_day": today}, event)
        return list(dict.fromkeys(subject for _, subject in sorted(due)))

    def schedule(self, event: EventT, subject: str, due_s: float) -> None:
        """Wake ``subject`` when the watermark reaches ``due_s`` (which is after it)."""
        key = _bucket_key(event.message.partition, int(due_s // DAY_S))
        bucket = self.entries.get(key)  # this batch's own decoded copy: changed in place
        if bucket is None:
            bucket = {}
        elif bucket.get(subject, due_s + 1) <= due_s:
            return  # already woken at or before then
        bucket[subject] = due_s
        self.entries.put(key, bucket, event)

    async def flush(self) -> None:
        await self.entries.flush()
