"""Prometheus metrics of the app and the fan-out worker.

With PROMETHEUS_MULTIPROC_DIR set (scripts/run.sh sets it), every process writes its samples
there and /metrics on any app process reports them all, the worker's included.
"""

from prometheus_client import Counter, Gauge, Histogram

FANOUT_LAG = Histogram(
    "chirp_fanout_lag_seconds",
    "From an event's commit to the end of its fan-out.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STREAM_BACKLOG = Gauge(
    "chirp_fanout_backlog_events",
    "Fan-out events appended but not yet acknowledged, as last seen by a worker.",
    multiprocess_mode="max",
)
OUTBOX_ENTRIES = Gauge(
    "chirp_outbox_entries",
    "Outbox entries whose work is not done yet (not relayed, or relayed but not handled), as last seen by a worker.",
    multiprocess_mode="max",
)
OUTBOX_OLDEST = Gauge(
    "chirp_outbox_oldest_seconds",
    "Age of the oldest outbox entry whose work is not done yet, as last seen by a worker.",
    multiprocess_mode="max",
)
REDIS_UNSAFE = Gauge(
    "chirp_redis_persistence_unsafe",
    "1 when Redis is configured so that a restart or eviction could lose fan-out events (see the worker's log).",
    multiprocess_mode="max",
)
DELIVERIES = Counter("chirp_fanout_deliveries", "Entries written into cached home timelines.")
TIMELINE_READS = Counter(
    "chirp_timeline_reads", "Home timeline reads, by how the cached timeline was found.", ["cache"]
)
CELEBRITY_MERGES = Counter("chirp_celebrity_merges", "Celebrity tweet lists merged into home timeline reads.")
LIVE_LISTENERS = Gauge(
    "chirp_live_listeners", "Live subscriptions this process relays pub/sub messages to.", multiprocess_mode="livesum"
)
LIVE_DROPPED = Counter(
    "chirp_live_dropped", "Live subscriptions ended because they fell a whole queue behind (or lost Redis)."
)
