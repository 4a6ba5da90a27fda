"""Process-wide Prometheus metrics of the work a process does.

The web app's own registry (deliveries, queue depth) lives with the app in
``app/web/server.py``; these are the counters every part of a process adds to, the worker
side included. ``/metrics`` of the web process serves both; a ``faultline worker`` in
scale-out mode serves its own. Labels are bounded: endpoints are route templates, never
raw paths, and repositories appear only where an operator asked for per-repository counts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter(
    "faultline_runs",
    "Analysis runs finished, by conclusion (success, failure, neutral, cancelled, superseded, error)",
    ["conclusion"],
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "faultline_run_duration_seconds",
    "Wall time of one analysis run, from taking the lease to the completed check run",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
GITHUB_CALLS = Counter(
    "faultline_github_calls",
    "GitHub API calls made, by endpoint (method and route template) and HTTP status",
    ["endpoint", "status"],
    registry=REGISTRY,
)
RATE_LIMIT_REMAINING = Gauge(
    "faultline_github_rate_limit_remaining",
    "Requests left in GitHub's current rate-limit window, per installation and resource",
    ["installation", "resource"],
    registry=REGISTRY,
)
REDELIVERIES = Counter(
    "faultline_redeliveries_requested",
    "Failed webhook deliveries GitHub was asked to redeliver, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_ACK_SECONDS = Histogram(
    "faultline_webhook_ack_seconds",
    "Time the receiver took to answer a delivery (GitHub gives it 10 seconds), every answer included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
