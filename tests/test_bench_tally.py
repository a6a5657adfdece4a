"""The soak's arithmetic (bench/tally.py): no service needed."""

import json

import pytest

from bench.tally import (
    busy_by_minute,
    by_minute,
    classify,
    cpu_seconds,
    gauges,
    growth,
    last_by_minute,
    machine_cpu_seconds,
    minute_count,
    percentiles,
    vm_rss_bytes,
)


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_classify_success_returns_the_data() -> None:
    assert classify(200, body({"data": {"viewer": None}})) == ("ok", {"viewer": None})


def test_classify_names_graphql_errors_by_code_whatever_the_status() -> None:
    limited = {"errors": [{"message": "slow down", "extensions": {"code": "RATE_LIMITED", "retryAfter": 3}}]}
    assert classify(429, body(limited)) == ("graphql:RATE_LIMITED", None)
    two = {"data": None, "errors": [{"extensions": {"code": "NOT_FOUND"}}, {"extensions": {"code": "FORBIDDEN"}}]}
    assert classify(200, body(two)) == ("graphql:FORBIDDEN,NOT_FOUND", None)
    assert classify(200, body({"errors": [{"message": "no code"}]})) == ("graphql:NO_CODE", None)


def test_classify_without_graphql_errors_falls_back_to_the_status() -> None:
    assert classify(502, b"<html>bad gateway</html>") == ("http:502", None)
    assert classify(200, b"not json") == ("http:200", None)
    assert classify(200, body({"data": None})) == ("http:200", None)


def test_minute_count_rounds_partial_minutes_up() -> None:
    assert [minute_count(s) for s in (1, 60, 61, 600, 630)] == [1, 1, 2, 10, 11]


def test_by_minute_groups_by_time_and_clamps_to_the_run() -> None:
    points = [(0.0, "a"), (59.9, "b"), (60.0, "c"), (125.0, "d"), (-1.0, "early")]
    assert by_minute(points, 2) == [["a", "b", "early"], ["c", "d"]]


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    result = percentiles(values)
    assert result["count"] == 100
    assert result["p50_ms"] == pytest.approx(50.5)
    assert result["p99_ms"] == pytest.approx(99.01)
    assert percentiles([]) == {"count": 0, "p50_ms": None, "p99_ms": None}


def test_last_by_minute_keeps_where_each_minute_ended() -> None:
    samples = [(65.0, 3.0), (5.0, 1.0), (55.0, 2.0), (118.0, None), (200.0, 9.0)]
    assert last_by_minute(samples, 4) == [2.0, 3.0, None, 9.0]


def test_growth_compares_the_last_minute_with_five_minutes_before() -> None:
    ten = [100.0, 101.0, 102.0, 103.0, 200.0, 201.0, 202.0, 203.0, 204.0, 210.0]
    assert growth(ten) == {"from_minute": 5, "to_minute": 10, "percent": pytest.approx(5.0)}
    assert growth([100.0, 90.0]) == {"from_minute": 1, "to_minute": 2, "percent": pytest.approx(-10.0)}
    assert growth([100.0]) is None
    assert growth([None, 100.0]) is None


def test_vm_rss_bytes() -> None:
    status = "Name:\tpython\nVmPeak:\t  900 kB\nVmRSS:\t  123456 kB\nThreads:\t4\n"
    assert vm_rss_bytes(status) == 123456 * 1024
    with pytest.raises(ValueError, match="VmRSS"):
        vm_rss_bytes("Name:\tkthreadd\n")


def test_cpu_seconds_counts_fields_after_the_command_name() -> None:
    # The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
    stat = "4242 (python (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0 999 1000 2000"
    assert cpu_seconds(stat, 100) == pytest.approx(3.0)


def test_machine_cpu_seconds_counts_all_but_idle_and_iowait() -> None:
    stat = "cpu  100 20 30 5000 400 6 7 8 0 0\ncpu0 50 10 15 2500 200 3 3 4 0 0\nintr 12345\n"
    assert machine_cpu_seconds(stat, 100) == pytest.approx((100 + 20 + 30 + 6 + 7 + 8) / 100)


def test_busy_by_minute_is_cpu_time_over_wall_time_between_minute_ends() -> None:
    samples: list[tuple[float, float | None]] = [(0, 10), (30, 20), (58, 24), (90, None), (119, 54.5), (130, 60)]
    # Minute 1: 14 s of CPU in 58 s; minute 2 (past the run's end clamped into it): 36 s in 72 s.
    assert busy_by_minute(samples, 2) == [pytest.approx(14 / 58), pytest.approx(36 / 72)]
    assert busy_by_minute([(0, 1.0), (150, 2.0)], 3) == [None, None, pytest.approx(1 / 150)]
    assert busy_by_minute([], 2) == [None, None]


def test_gauges_reads_present_ones_and_none_for_absent() -> None:
    exposition = (
        "# HELP chirp_fanout_backlog_events Fan-out events appended but not yet acknowledged.\n"
        "# TYPE chirp_fanout_backlog_events gauge\n"
        "chirp_fanout_backlog_events 7.0\n"
        "# HELP chirp_outbox_entries Outbox records not yet handled.\n"
        "# TYPE chirp_outbox_entries gauge\n"
        'chirp_outbox_entries{pid="1"} 2.0\n'
        'chirp_outbox_entries{pid="2"} 5.0\n'
    )
    names = ["chirp_fanout_backlog_events", "chirp_outbox_entries", "chirp_outbox_oldest_seconds"]
    assert gauges(exposition, names) == dict(zip(names, [7.0, 5.0, None], strict=True))
