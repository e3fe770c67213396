"""Bounded event-time windows: bucketed counts over a fixed horizon.

Buckets are whole days or hours of event time, so replaying the same events
in the same order always gives the same counts, whatever the wall clock says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_S = 86_400
HOUR_S = 3_600


@dataclass(slots=True)
class BucketCounts:
    """Counts per (bucket, label) over the last ``horizon`` buckets.

    ``bucket_s`` is the bucket width in seconds. Counts older than the horizon,
    measured from the newest bucket seen, are dropped, so memory is bounded by
    ``horizon`` x the number of labels.

    >>> days = BucketCounts(bucket_s=DAY_S, horizon=7)
    >>> for t in (0, 3_600, DAY_S * 2):
    ...     days.add(t, "price")
    >>> days.total(since_s=DAY_S)
    1
    >>> days.add(DAY_S * 8, "price")  # days 2..8 remain: day 0 falls out
    >>> days.total(), days.by_label()
    (2, {'price': 2})
    """

    bucket_s: int
    horizon: int
    counts: dict[tuple[int, str], int] = field(default_factory=dict)
    newest: int = -(2**62)

    def add(self, at_s: float, label: str = "", count: int = 1) -> None:
        bucket = int(at_s // self.bucket_s)
        if bucket <= self.newest - self.horizon:
            return  # older than the window: it no longer counts
        key = (bucket, label)
        self.counts[key] = self.counts.get(key, 0) + count
        if bucket > self.newest:
            self.newest = bucket
            self._evict()

    def _evict(self) -> None:
        oldest = self.newest - self.horizon
        for key in [k for k in self.counts if k[0] <= oldest]:
            del self.counts[key]

    def start_of_last(self, buckets: int, now_s: float) -> float:
        """Where the last ``buckets`` buckets, ending with the one holding ``now_s``, start.

        Every window of the project counts whole buckets this way: "the last 7
        days" are today and the six days before it.

        >>> BucketCounts(bucket_s=DAY_S, horizon=30).start_of_last(7, 10 * DAY_S + 5)
        345600
        """
        return (int(now_s // self.bucket_s) - buckets + 1) * self.bucket_s

    def recent(self, buckets: int, now_s: float, label: str | None = None) -> int:
        """Count in the last ``buckets`` buckets up to ``now_s`` (most windows are empty:
        they answer without a look)."""
        if not self.counts:
            return 0
        return self.total(since_s=self.start_of_last(buckets, now_s), label=label)

    def total(self, since_s: float | None = None, label: str | None = None) -> int:
        """Count in the window, optionally only buckets at or after ``since_s``."""
        first = -(2**62) if since_s is None else int(since_s // self.bucket_s)
        return sum(
            n
            for (bucket, lab), n in self.counts.items()
            if bucket >= first and (label is None or lab == label)
        )

    def by_label(self, since_s: float | None = None) -> dict[str, int]:
        first = -(2**62) if since_s is None else int(since_s // self.bucket_s)
        out: dict[str, int] = {}
        for (bucket, label), n in self.counts.items():
            if bucket >= first:
                out[label] = out.get(label, 0) + n
        return out

    def to_list(self) -> list[list[int | str]]:
        return [[bucket, label, n] for (bucket, label), n in sorted(self.counts.items())]

    def load_list(self, rows: list[list[int | str]]) -> None:
        self.counts = {(int(b), str(lab)): int(n) for b, lab, n in rows}
        self.newest = max((b for b, _ in self.counts), default=-(2**62))
