"""The open-loop latency figures' plumbing (bench/load.py): what vegeta is asked to send, and how its
results become p50, p99 and errors."""

import base64
import json

import pytest

from bench.load import vegeta_latency, vegeta_targets


def result(seq: int, latency_ms: float, code: int = 200, body: object = None, error: str = "") -> dict[str, object]:
    """One line of `vegeta encode --to json`."""
    answer = json.dumps({"data": {}} if body is None else body).encode()
    body_base64 = base64.b64encode(answer).decode()
    return {"seq": seq, "code": code, "latency": int(latency_ms * 1e6), "error": error, "body": body_base64}


def test_targets_cycle_through_tokens_and_bodies_by_request() -> None:
    lines = vegeta_targets("http://api", ["t0", "t1"], [{"query": "a"}, {"query": "b"}, {"query": "c"}], 4).splitlines()
    targets = [json.loads(line) for line in lines]
    assert [target["header"]["Authorization"] for target in targets] == [
        ["Bearer t0"],
        ["Bearer t1"],
        ["Bearer t0"],
        ["Bearer t1"],
    ]
    assert [json.loads(base64.b64decode(target["body"])) for target in targets] == [
        {"query": "a"},
        {"query": "b"},
        {"query": "c"},
        {"query": "a"},
    ]
    assert {target["url"] for target in targets} == {"http://api/graphql"}


def test_warm_up_requests_are_not_counted() -> None:
    results = [result(0, 500.0), result(1, 400.0)] + [result(seq, 2.0) for seq in range(2, 12)]
    latency = vegeta_latency(results, rate=50, warmup=2)
    assert (latency.sent, latency.errors) == (10, 0)
    assert latency.p50_ms == pytest.approx(2.0)
    assert latency.p99_ms == pytest.approx(2.0)


def test_a_transport_error_a_bad_status_and_a_graphql_error_are_each_an_error_timed_as_taken() -> None:
    results = [
        result(0, 1.0),
        {**result(1, 30_000.0, code=0, error="timeout"), "body": ""},  # as vegeta gives it: no answer
        result(2, 1.0, code=500, body={"detail": "oops"}),
        result(3, 1.0, body={"errors": [{"message": "no"}]}),
    ]
    latency = vegeta_latency(results, rate=10, warmup=0)
    assert (latency.sent, latency.errors) == (4, 3)
    assert latency.p99_ms > 29_000, "the timed-out request counts as long as it took"
