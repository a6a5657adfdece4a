"""The soak's report (bench/soak_report.py) from a made-up record: no service needed."""

from pathlib import Path
from typing import Any

import pytest

from bench.soak_report import MB, Record, Sample, build_report, draw, print_table

BACKLOG = "chirp_fanout_backlog_events"
OUTBOX = "chirp_outbox_entries"


def made_up_record() -> Record:
    """Two minutes: minute 1 all fine, minute 2 with a rate-limited like and a lost delivery."""
    record = Record()
    record.requests = [
        (1.0, "read", 10.0, "ok"),
        (2.0, "post", 30.0, "ok"),
        (61.0, "read", 20.0, "ok"),
        (62.0, "like", 5.0, "graphql:RATE_LIMITED"),
        (63.0, "post", 40.0, "ok"),
    ]
    record.lateness = [(at, 1.0) for at, *_ in record.requests]
    record.posts = {100: (2.1, 7), 200: (63.1, 7)}  # tweet -> (returned, author)
    record.arrivals = {(1, 100): 2.3, (2, 100): 2.0}  # subscriber 2 got tweet 100 before the answer came
    record.arrival_times = [2.0, 2.3, 70.0]  # the last: a tweet not of the soak's making
    # (at, API MB, worker MB, API CPU seconds, worker CPU seconds, backlog)
    samples = [
        (0, 100, 50, 10, 1, 0),
        (55, 110, 50, 37.5, 2.1, 4),
        (65, 120, 51, 42.5, 2.2, 9),
        (119, 121, 51, 69.5, 3, 1),
    ]
    record.samples = [
        Sample(
            at,
            {"api": a * MB, "worker": w * MB},
            {"api": ac, "worker": wc, "machine": 0.9 * at},  # the machine 90% busy throughout
            {BACKLOG: b, OUTBOX: None},
        )
        for at, a, w, ac, wc, b in samples
    ]
    return record


def report() -> dict[str, Any]:
    asked = {"minutes": 2, "rate": 1, "mix": {}, "subscriptions": 2, "started": "then"}
    return build_report(made_up_record(), {7: [1, 2]}, asked)


def test_per_minute_counts_latency_memory_and_gauges() -> None:
    first, second = report()["per_minute"]
    assert (first["requests"], first["errors"], second["requests"], second["errors"]) == (2, 0, 3, 1)
    assert second["outcomes"] == {"ok": 2, "graphql:RATE_LIMITED": 1}
    assert second["latency_ms"]["post"] == {"count": 1, "p50_ms": 40.0, "p99_ms": 40.0}
    assert second["latency_ms"]["follow"]["count"] == 0
    assert (first["api_rss_mb"], second["api_rss_mb"], second["worker_rss_mb"]) == (110, 121, 51)
    assert (first["api_cpu"], second["api_cpu"]) == (pytest.approx(0.5), pytest.approx(0.5))  # 27.5 s in 55, 32 in 64
    assert (first["worker_cpu"], second["worker_cpu"]) == (pytest.approx(1.1 / 55), pytest.approx(0.9 / 64))
    assert (first["machine_cpu"], second["machine_cpu"]) == (pytest.approx(0.9), pytest.approx(0.9))
    assert (first["backlog"], second["backlog"], second["backlog_max"]) == (4.0, 1.0, 9.0)
    assert second["outbox_entries"] is None  # the app has no such gauge yet: reported as absent
    assert (first["deliveries_due"], first["deliveries_seen"], second["deliveries_due"]) == (2, 2, 2)
    assert second["deliveries_seen"] == 0
    assert (first["arrivals"], second["arrivals"]) == (2, 1)


def test_totals_deliveries_growth_and_verdict() -> None:
    whole = report()
    assert (whole["requests"], whole["errors"]) == (5, 1)
    delivered = whole["subscription_deliveries"]
    assert {key: delivered[key] for key in ("due", "seen", "arrivals")} == {"due": 4, "seen": 2, "arrivals": 3}
    assert delivered["p50_ms"] == pytest.approx(100.0)  # (0 + 200 ms) / 2: an early arrival counts as 0
    growth = whole["rss_growth_last_5_minutes"]
    assert growth["api"]["percent"] == pytest.approx(10.0)
    assert growth["worker"]["percent"] == pytest.approx(2.0)
    assert whole["verdict"] == {
        "zero_errors": False,
        "every_delivery_seen": False,
        "rss_growth_under_5_percent": False,
    }


def test_table_and_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = report()
    print_table(whole)
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["min", "req", "err"]
    assert table[2].split()[:3] == ["2", "3", "1"]
    draw(whole, tmp_path / "soak.png")
    assert (tmp_path / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_growth_of_a_one_minute_run_is_not_measured_rather_than_failed() -> None:
    asked = {"minutes": 1, "rate": 1, "mix": {}, "subscriptions": 2, "started": "then"}
    whole = build_report(made_up_record(), {7: [1, 2]}, asked)
    assert whole["rss_growth_last_5_minutes"] == {"api": None, "worker": None}
    assert whole["verdict"]["rss_growth_under_5_percent"] is None
