"""What the soak saw, summed up per minute: the JSON report, its table on stdout, and its picture
(latency and memory over time, which people would rather look at than read)."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.tally import OK, busy_by_minute, by_minute, growth, last_by_minute, minute_count, percentiles

MB = 1024 * 1024
GROWTH_TARGET_PERCENT = 5.0
KINDS = ("read", "post", "like", "follow")


PROCESSES = ("api", "worker")


@dataclass
class Sample:
    at: float  # seconds since the load started
    rss: dict[str, int | None]  # bytes, by process (PROCESSES)
    cpu: dict[str, float | None]  # CPU seconds used so far, by process, and "machine": busy seconds per core
    metrics: dict[str, float | None]  # the gauges of /metrics, None when absent


@dataclass
class Record:
    """Everything the run saw, in seconds since the load started."""

    requests: list[tuple[float, str, float, str]] = field(default_factory=list)  # (at, kind, latency ms, outcome)
    posts: dict[int, tuple[float, int]] = field(default_factory=dict)  # tweet -> (createTweet returned, author)
    arrivals: dict[tuple[int, int], float] = field(default_factory=dict)  # (subscriber, tweet) -> arrived
    # (at, ms) from each request's scheduled time to its sending: this process falling behind
    # (starved of CPU on a busy machine), not the server, if it grows.
    lateness: list[tuple[float, float]] = field(default_factory=list)
    arrival_times: list[float] = field(default_factory=list)  # every arrival, the soak's posts or not
    subscription_events: Counter[str] = field(default_factory=Counter)  # endings and errors, by kind
    samples: list[Sample] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)  # reset when the load starts
    driver_cpu_seconds: float = 0.0  # this process's CPU time during the load

    def now(self) -> float:
        return time.perf_counter() - self.start


def build_report(record: Record, audience: dict[int, list[int]], settings: dict[str, Any]) -> dict[str, Any]:
    """settings: what the run was asked (minutes, rate, mix...), copied into the report as they are."""
    minutes = minute_count(settings["minutes"] * 60)
    per_minute = [{"minute": minute + 1} for minute in range(minutes)]
    for part in (
        request_minutes(record, minutes),
        memory_minutes(record, minutes),
        gauge_minutes(record, minutes),
        delivery_minutes(record, audience, minutes),
    ):
        for row, values in zip(per_minute, part, strict=True):
            row.update(values)
    outcomes = Counter(outcome for _, _, _, outcome in record.requests)
    errors = sum(count for outcome, count in outcomes.items() if outcome != OK)
    delivered = deliveries(record, audience)
    rss_growth = {name: growth([row[f"{name}_rss_mb"] for row in per_minute]) for name in PROCESSES}
    return {
        **settings,
        "requests": len(record.requests),
        "errors": errors,
        "outcomes": dict(outcomes),
        "latency_ms": {
            "all": percentiles([ms for _, _, ms, _ in record.requests]),
            **{kind: percentiles([ms for _, k, ms, _ in record.requests if k == kind]) for kind in KINDS},
        },
        "driver_cpu_seconds": record.driver_cpu_seconds,
        "subscription_deliveries": delivered,
        "subscription_events": dict(record.subscription_events),
        "rss_growth_last_5_minutes": rss_growth,
        "verdict": {
            "zero_errors": errors == 0 and not record.subscription_events,
            "every_delivery_seen": delivered["seen"] == delivered["due"],
            # None: not measured (a run of one minute, or no samples).
            "rss_growth_under_5_percent": None
            if None in rss_growth.values()
            else all(g is not None and g["percent"] < GROWTH_TARGET_PERCENT for g in rss_growth.values()),
        },
        "per_minute": per_minute,
        "samples": [
            {"at": s.at, **{f"{name}_rss_mb": mb(s.rss[name]) for name in PROCESSES}, **s.metrics}
            for s in record.samples
        ],
    }


def mb(value: float | None) -> float | None:
    return None if value is None else value / MB


def request_minutes(record: Record, minutes: int) -> list[dict[str, Any]]:
    """Counts, outcomes and latency percentiles of the requests scheduled in each minute, overall and per kind."""
    outcomes = by_minute(((at, outcome) for at, _, _, outcome in record.requests), minutes)
    overall = by_minute(((at, ms) for at, _, ms, _ in record.requests), minutes)
    kinds = {kind: by_minute(((at, ms) for at, k, ms, _ in record.requests if k == kind), minutes) for kind in KINDS}
    lateness = by_minute(record.lateness, minutes)
    return [
        {
            "requests": len(outcomes[minute]),
            "errors": sum(outcome != OK for outcome in outcomes[minute]),
            "outcomes": dict(Counter(outcomes[minute])),
            "latency_ms": {"all": percentiles(overall[minute])}
            | {kind: percentiles(values[minute]) for kind, values in kinds.items()},
            "driver_late_ms": percentiles(lateness[minute]),
        }
        for minute in range(minutes)
    ]


def memory_minutes(record: Record, minutes: int) -> list[dict[str, Any]]:
    """Resident memory of the API and the worker as each minute ended (MB), the share of a core each
    used in the minute, and the share of the whole machine's cores busy (everything on it)."""
    columns = {}
    for name in PROCESSES:
        columns[f"{name}_rss_mb"] = last_by_minute([(s.at, mb(s.rss[name])) for s in record.samples], minutes)
        columns[f"{name}_cpu"] = busy_by_minute([(s.at, s.cpu[name]) for s in record.samples], minutes)
    columns["machine_cpu"] = busy_by_minute([(s.at, s.cpu.get("machine")) for s in record.samples], minutes)
    return [{column: values[minute] for column, values in columns.items()} for minute in range(minutes)]


def gauge_minutes(record: Record, minutes: int) -> list[dict[str, Any]]:
    """The stream backlog (where it stood as the minute ended, and its largest sample), the outbox's
    gauges (None where the app has none) and the relayed subscriptions."""

    def last(name: str) -> list[float | None]:
        return last_by_minute(((s.at, s.metrics.get(name)) for s in record.samples), minutes)

    backlog_samples = by_minute(
        ((s.at, value) for s in record.samples if (value := s.metrics.get("chirp_fanout_backlog_events")) is not None),
        minutes,
    )
    columns = {
        "backlog": last("chirp_fanout_backlog_events"),
        "backlog_max": [max(values) if values else None for values in backlog_samples],
        "outbox_entries": last("chirp_outbox_entries"),
        "outbox_oldest_seconds": last("chirp_outbox_oldest_seconds"),
        "live_listeners": last("chirp_live_listeners"),
    }
    return [{name: values[minute] for name, values in columns.items()} for minute in range(minutes)]


def delivery_minutes(record: Record, audience: dict[int, list[int]], minutes: int) -> list[dict[str, Any]]:
    """Per minute of posting: deliveries due to the subscribers, those seen, and the delay from
    createTweet returning to arrival; and every message that arrived in the minute."""
    due = by_minute(((returned, 1.0) for returned, author in record.posts.values() for _ in audience[author]), minutes)
    delays = by_minute(delays_of(record, audience), minutes)
    arrived = by_minute(((at, 1.0) for at in record.arrival_times), minutes)
    return [
        {
            "deliveries_due": len(due[minute]),
            "deliveries_seen": len(delays[minute]),
            "delivery_ms": percentiles(delays[minute]),
            "arrivals": len(arrived[minute]),
        }
        for minute in range(minutes)
    ]


def delays_of(record: Record, audience: dict[int, list[int]]) -> list[tuple[float, float]]:
    """(createTweet returned, delay in ms) of each due delivery that arrived; one that arrived
    before the answer reached the client counts as at once."""
    return [
        (returned, max(0.0, record.arrivals[(subscriber, tweet)] - returned) * 1000)
        for tweet, (returned, author) in record.posts.items()
        for subscriber in audience[author]
        if (subscriber, tweet) in record.arrivals
    ]


def deliveries(record: Record, audience: dict[int, list[int]]) -> dict[str, Any]:
    due = sum(len(audience[author]) for _, author in record.posts.values())
    delays = [delay for _, delay in delays_of(record, audience)]
    return {"due": due, "seen": len(delays), "arrivals": len(record.arrival_times), **percentiles(delays)}


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def percent(share: float | None) -> float | None:
    return None if share is None else share * 100


def p99(kind: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: fmt(row["latency_ms"][kind]["p99_ms"], 1)


# The table's columns: (header, cell of a per-minute row). late99: how late this process sent its
# requests (p99, ms); more than a few ms means the driver, not the server, fell behind.
COLUMNS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("min", lambda row: str(row["minute"])),
    ("req", lambda row: str(row["requests"])),
    ("err", lambda row: str(row["errors"])),
    ("p50", lambda row: fmt(row["latency_ms"]["all"]["p50_ms"], 1)),
    ("p99", p99("all")),
    *((f"{kind}99", p99(kind)) for kind in KINDS),
    ("apiMB", lambda row: fmt(row["api_rss_mb"], 1)),
    ("wrkMB", lambda row: fmt(row["worker_rss_mb"], 1)),
    ("apiCPU%", lambda row: fmt(percent(row["api_cpu"]))),
    ("wrkCPU%", lambda row: fmt(percent(row["worker_cpu"]))),
    ("machine%", lambda row: fmt(percent(row["machine_cpu"]))),
    ("backlog", lambda row: fmt(row["backlog"])),
    ("blogmax", lambda row: fmt(row["backlog_max"])),
    ("outbox", lambda row: fmt(row["outbox_entries"])),
    ("subs", lambda row: fmt(row["live_listeners"])),
    ("seen/due", lambda row: f"{row['deliveries_seen']}/{row['deliveries_due']}"),
    ("late99", lambda row: fmt(row["driver_late_ms"]["p99_ms"], 1)),
]


def print_table(report: dict[str, Any]) -> None:
    """One row a minute, then the totals and the verdicts."""
    print(" ".join(f"{name:>9}" for name, _ in COLUMNS))
    for row in report["per_minute"]:
        print(" ".join(f"{cell(row):>9}" for _, cell in COLUMNS))
    overall = report["latency_ms"]["all"]
    print(
        f"\n{report['requests']} requests in {report['minutes']} min at {report['rate']}/s: "
        f"{report['errors']} errors {report['outcomes']}; p50 {fmt(overall['p50_ms'], 1)} ms, "
        f"p99 {fmt(overall['p99_ms'], 1)} ms"
    )
    delivered = report["subscription_deliveries"]
    print(
        f"subscriptions: {delivered['seen']}/{delivered['due']} due deliveries seen, p99 "
        f"{fmt(delivered['p99_ms'])} ms; endings and errors: {report['subscription_events'] or 'none'}"
    )
    for name, grown in report["rss_growth_last_5_minutes"].items():
        if grown is None:
            print(f"{name} RSS growth: not measured (too short a run or no samples)")
        else:
            print(
                f"{name} RSS growth, minute {grown['from_minute']} to {grown['to_minute']}: "
                f"{grown['percent']:+.2f}% (target < {GROWTH_TARGET_PERCENT:.0f}%)"
            )
    print("verdict:", report["verdict"])


def draw(report: dict[str, Any], path: Path) -> None:
    """Latency per minute (log scale), memory per sample, backlog and outbox per sample."""
    figure = Figure(figsize=(11, 10), layout="constrained")
    latency_axes, memory_axes, queue_axes = figure.subplots(3, 1, sharex=True)
    draw_latency(latency_axes, report["per_minute"])
    samples = report["samples"]
    times = [sample["at"] / 60 for sample in samples]
    for name in PROCESSES:
        memory_axes.plot(times, nan_for_none([s[f"{name}_rss_mb"] for s in samples]), label=f"{name} RSS")
    memory_axes.set_ylim(bottom=0)  # from zero: a slope on a cut axis looks like a leak
    memory_axes.set_ylabel("resident memory (MB)")
    memory_axes.legend(loc="lower right")
    for name, label in (("chirp_fanout_backlog_events", "stream backlog"), ("chirp_outbox_entries", "outbox entries")):
        values = [s.get(name) for s in samples]
        absent = all(value is None for value in values)
        queue_axes.plot(times, nan_for_none(values), label=label + (" (the app has no such gauge)" if absent else ""))
    queue_axes.set_ylim(bottom=0)
    queue_axes.set_ylabel("events")
    queue_axes.set_xlabel("minutes since the load started")
    queue_axes.legend()
    figure.suptitle(title(report))
    figure.savefig(path, dpi=100)


def draw_latency(axes: Axes, rows: list[dict[str, Any]]) -> None:
    """Overall p50 and p99 per minute, and each kind's p99, at the middle of their minute."""
    centers = [row["minute"] - 0.5 for row in rows]
    lines = [("all", "p50_ms", "-", 1.0), ("all", "p99_ms", "-", 2.0), *((kind, "p99_ms", ":", 1.5) for kind in KINDS)]
    for kind, quantile, style, width in lines:
        values = [row["latency_ms"][kind][quantile] for row in rows]
        axes.plot(centers, nan_for_none(values), style, marker="o", linewidth=width, label=f"{kind} {quantile[:3]}")
    axes.set_yscale("log")
    axes.set_ylabel("latency per minute (ms)")
    axes.legend(ncols=3, fontsize="small")


def title(report: dict[str, Any]) -> str:
    grown = report["rss_growth_last_5_minutes"]
    spans = {(g["from_minute"], g["to_minute"]) for g in grown.values() if g}
    if spans:
        (first, last), *_ = spans
        growth_text = f"RSS growth, minute {first} to {last}: " + ", ".join(
            f"{name} {fmt(g['percent'], 2) if g else '-'}%" for name, g in grown.items()
        )
    else:
        growth_text = "RSS growth: not measured (a run of one minute)"
    return (
        f"Soak {report['started']}: {report['minutes']} min at {report['rate']} req/s, "
        f"{report['subscriptions']} subscriptions; {report['errors']} errors\n{growth_text}"
    )


def nan_for_none(values: list[Any]) -> list[float]:
    """matplotlib leaves a gap at NaN."""
    return [float("nan") if value is None else float(value) for value in values]
