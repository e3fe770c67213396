"""The record store: every input record and derived fact in PostgreSQL (docs/record-store.md).

Seed 四 (可查可核可溯) and 十七 (容灾备份): Kafka keeps the log, PostgreSQL keeps
it searchable for years. ``tables`` names every table and column, ``rows`` maps
a topic's record to its rows (pure), ``migrations/`` is the Alembic schema,
``store`` writes batches idempotently and digests tables, ``sink`` is the
consumer loop (``creditwatch archive sink``), and ``queries`` is the read API.

Nothing here imports the Faust app: the sink is a separate process with its
own consumer group, so database latency stays out of the workers' hot path.
"""

#: The sink's consumer group: its committed offsets say what the store holds.
DEFAULT_GROUP = "creditwatch-archive"
