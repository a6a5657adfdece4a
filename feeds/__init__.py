"""Everything Redis: timelines, the fan-out stream, caches, counters and pub/sub."""
