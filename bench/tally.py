"""The soak's arithmetic, apart from any I/O so that it can be tested alone: how each answer is
classified, per-minute percentiles, growth over the last minutes, and reading VmRSS and gauges
out of the texts that /proc and /metrics serve."""

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

OK = "ok"
T = TypeVar("T")


def classify(status: int, body: bytes) -> tuple[str, dict[str, Any] | None]:
    """(outcome, data) of one GraphQL answer over HTTP. The outcome is "ok", "graphql:CODE[,CODE]"
    (an answer with errors, whatever its status: RATE_LIMITED comes as a 429 with its code), or
    "http:STATUS" (no GraphQL errors to read, or no data with a 200)."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get("errors"):
        codes = sorted({str((error.get("extensions") or {}).get("code", "NO_CODE")) for error in payload["errors"]})
        return "graphql:" + ",".join(codes), None
    if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return f"http:{status}", None
    return OK, payload["data"]


def minute_count(seconds: float) -> int:
    """Minutes a run of `seconds` spans, the last one possibly partial."""
    return max(1, math.ceil(seconds / 60 - 1e-9))


def minute_index(at: float, minutes: int) -> int:
    """The minute (from 0) of a time in seconds since the start, within the run's minutes."""
    return min(max(int(at // 60), 0), minutes - 1)


def by_minute(points: Iterable[tuple[float, T]], minutes: int) -> list[list[T]]:
    """Values grouped by the minute of their time (seconds since the start); later ones go to the last minute."""
    groups: list[list[T]] = [[] for _ in range(minutes)]
    for at, value in points:
        groups[minute_index(at, minutes)].append(value)
    return groups


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50 and p99 (None without values)."""
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None}
    array = np.asarray(values, dtype=float)
    return {"count": len(values), "p50_ms": float(np.percentile(array, 50)), "p99_ms": float(np.percentile(array, 99))}


def last_by_minute(samples: Iterable[tuple[float, float | None]], minutes: int) -> list[float | None]:
    """The last value sampled within each minute (None when none was): where a gauge stood as the minute ended."""
    last: list[float | None] = [None] * minutes
    for at, value in sorted(samples, key=lambda sample: sample[0]):
        if value is not None:
            last[minute_index(at, minutes)] = value
    return last


def growth(per_minute: Sequence[float | None], span: int = 5) -> dict[str, Any] | None:
    """Growth from minute len-span to the last minute (minute 5 to 10 in a 10-minute run; from the first
    in a shorter one), in percent of the earlier value. None when either end has no value."""
    if len(per_minute) < 2:
        return None
    first = max(len(per_minute) - 1 - span, 0)
    before, after = per_minute[first], per_minute[-1]
    if before is None or after is None or before <= 0:
        return None
    return {"from_minute": first + 1, "to_minute": len(per_minute), "percent": (after - before) / before * 100}


def vm_rss_bytes(status: str) -> int:
    """VmRSS out of /proc/PID/status (which gives it in kB)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            number, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmRSS unit: {line!r}")
            return int(number) * 1024
    raise ValueError("no VmRSS line (a kernel thread, or a process that exited)")


def cpu_seconds(stat: str, ticks_per_second: int) -> float:
    """User plus system CPU time out of /proc/PID/stat (fields 14 and 15, in clock ticks). The
    command name, field 2, is in parentheses and may hold spaces: fields are counted after it."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def machine_cpu_seconds(stat: str, ticks_per_second: int) -> float:
    """CPU time all cores spent busy since boot, out of /proc/stat's first line (all but idle and iowait)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in stat.split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / ticks_per_second


def busy_by_minute(samples: Sequence[tuple[float, float | None]], minutes: int) -> list[float | None]:
    """Share of one core a process used in each minute, from (time, CPU seconds so far) samples:
    from the last sample of the minute before (the first sample, for the first minute) to the last
    sample of this one."""
    known = sorted((at, cpu) for at, cpu in samples if cpu is not None)
    ends: list[tuple[float, float] | None] = [None] * minutes
    for at, cpu in known:
        ends[minute_index(at, minutes)] = (at, cpu)
    shares: list[float | None] = []
    previous = known[0] if known else None
    for end in ends:
        if end is None or previous is None or end[0] <= previous[0]:
            shares.append(None)
        else:
            shares.append((end[1] - previous[1]) / (end[0] - previous[0]))
        previous = end or previous
    return shares


def gauges(exposition: str, names: Iterable[str]) -> dict[str, float | None]:
    """Each named gauge's value in Prometheus text, the largest of its samples (the multiprocess
    collector may give one per process), or None when it is absent."""
    wanted = set(names)
    found: dict[str, float | None] = dict.fromkeys(wanted)
    for family in text_string_to_metric_families(exposition):
        if family.name in wanted and family.samples:
            found[family.name] = max(sample.value for sample in family.samples)
    return found
