"""Prometheus metrics of a worker, served at ``/metrics``.

Names carry their unit and labels are bounded sets (topics, reason codes,
enum values, county codes). Gauges read from the Redis view (tiers, open
alerts) describe the whole system, so every worker reports the same value:
aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS_S = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
PROCESSING_BUCKETS_S = (
    25e-6,
    50e-6,
    100e-6,
    250e-6,
    500e-6,
    1e-3,
    2.5e-3,
    5e-3,
    0.01,
    0.025,
    0.05,
    0.1,
)

events_consumed = Counter(
    "creditwatch_events_consumed_total", "Input records consumed, valid or not.", ["topic"]
)
dead_letters = Counter(
    "creditwatch_dead_letters_total", "Input records sent to risk.dlq.", ["topic", "reason"]
)
produce_failures = Counter(
    "creditwatch_produce_failures_total",
    "Output and changelog records the producer gave up on after its retries.",
    ["topic"],
)
duplicate_events = Counter(
    "creditwatch_duplicate_events_total", "Redelivered input records ignored.", ["topic"]
)
event_lag = Histogram(
    "creditwatch_event_lag_seconds",
    "Event time to processing, per input record.",
    ["topic"],
    buckets=LATENCY_BUCKETS_S,
)
processing_time = Histogram(
    "creditwatch_processing_seconds",
    "Worker time per valid input record, decode to send.",
    buckets=PROCESSING_BUCKETS_S,
)
event_to_alert = Histogram(
    "creditwatch_event_to_alert_seconds",
    "Event time of the causing record to alert sent.",
    ["kind"],
    buckets=LATENCY_BUCKETS_S,
)
alerts_raised = Counter(
    "creditwatch_alerts_total", "Alerts raised.", ["kind", "severity", "region", "sector"]
)
tier_changes = Counter(
    "creditwatch_tier_changes_total",
    "Tier changes emitted (previous 'none' = first tier).",
    ["previous_tier", "tier"],
)
subjects_by_tier = Gauge(
    "creditwatch_subjects", "Subjects per credit tier, from the serving view.", ["tier"]
)
open_alerts = Gauge(
    "creditwatch_open_alerts", "Open alerts per severity, from the serving view.", ["severity"]
)
consumer_lag = Gauge(
    "creditwatch_consumer_lag_messages",
    "Input records not yet consumed by this worker.",
    ["topic", "partition"],
)
model_scoring_time = Histogram(
    "creditwatch_model_scoring_seconds",
    "Time to score and update one anomaly model.",
    ["detector"],
    buckets=PROCESSING_BUCKETS_S,
)
serving_write_failures = Counter(
    "creditwatch_serving_write_failures_total",
    "Failed writes to the Redis serving view.",
    ["writer"],
)
list_changes = Counter(
    "creditwatch_list_changes_total",
    "Joint-punishment and key-attention list entries and exits.",
    ["list", "action"],
)
workflow_notices = Counter(
    "creditwatch_workflow_notices_total",
    "Tasks and decisions sent to departments on risk.workflow.",
    ["kind"],
)

# Issue 17 item 2: read from the serving view (one verdict per alert, idempotent), so
# every worker reports the same city-wide numbers; take max() across workers.
alert_verdicts = Gauge(
    "creditwatch_alert_verdicts",
    "Alerts judged in cases, by rule, alert kind and verdict (risk_confirmed, "
    "false_positive, not_actionable).",
    ["rule", "kind", "verdict"],
)
rule_precision = Gauge(
    "creditwatch_rule_precision",
    "Confirmed / (confirmed + false positive) of a rule's judged alerts, by rule and kind.",
    ["rule", "kind"],
)
cases_open = Gauge(
    "creditwatch_cases_open",
    "Open cases, and of them those past their SLA (overdue).",
    ["state"],
)


@cache
def per_topic(topic: str) -> tuple[Counter, Histogram]:
    """An input topic's consumed counter and event-lag histogram (``labels()`` costs per call)."""
    return events_consumed.labels(topic), event_lag.labels(topic)
