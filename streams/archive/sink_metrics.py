"""Prometheus metrics of the archive sink, served on its own port (``creditwatch archive sink``).

Only the sink process imports this module; a worker has its own metrics
(``streams/metrics.py``). Labels are bounded: topic and table names, reason codes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

records_consumed = Counter(
    "creditwatch_archive_records_total", "Messages the sink read, by topic.", ["topic"]
)
rows_written = Counter(
    "creditwatch_archive_rows_written_total",
    "Rows inserted (or, in a state table, replaced by a newer version), by table.",
    ["table"],
)
rows_unchanged = Counter(
    "creditwatch_archive_rows_unchanged_total",
    "Rows already in the store (a replay or redelivery), by table.",
    ["table"],
)
rows_rejected = Counter(
    "creditwatch_archive_rows_rejected_total",
    "Rows PostgreSQL refused (their messages went to risk.dlq as store_rejected), by table.",
    ["table"],
)
records_unreadable = Counter(
    "creditwatch_archive_records_unreadable_total",
    "Derived records the sink could not map to rows (to risk.dlq as store_unreadable).",
    ["topic"],
)
records_skipped = Counter(
    "creditwatch_archive_records_skipped_total",
    "Input records that break their contract: not stored (the worker dead-letters them).",
    ["topic", "reason"],
)
batch_seconds = Histogram(
    "creditwatch_archive_batch_seconds",
    "Time to write one batch to PostgreSQL (one transaction), dead letters and commit included.",
    buckets=BATCH_BUCKETS_S,
)
lag = Gauge(
    "creditwatch_archive_lag_records",
    "Messages on the topic not yet stored, over the partitions this sink owns.",
    ["topic"],
)
database_errors = Counter(
    "creditwatch_archive_database_errors_total",
    "Batches that failed for a reason other than their rows (connection lost, …) and were retried.",
)
