"""Load on the HTTP API: maximum throughput (wrk, closed loop) and latency at a fixed rate (open loop).

An open-loop driver sends on a fixed schedule whatever the answers do, so a slow server cannot
hide its queueing. Latency at a rate is vegeta's (Go, installed by scripts/bench.sh), which sends
each request on time: a Python client on the same two cores adds its own cost and timer lateness
(on `{ __typename }` at 50/s, httpx measured p50 4.4-4.8 / p99 6.9-7.1 ms where vegeta measured
2.1-2.5 / 2.9-3.4 ms). Only a measurement that runs a step before each request (latency_with_step_at)
still drives httpx, and so reads a little high.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

QUERY = """query { homeTimeline(first: 20) { edges { cursor node {
  id text createdAt likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted
  author { id handle displayName }
  retweetOf { id text author { handle } }
} } pageInfo { hasNextPage endCursor } } }"""

# The page requested by its persisted query's hash (APQ), as a GET an HTTP cache could keep.
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(QUERY.encode()).hexdigest()}}
PERSISTED_PATH = "/graphql?" + urllib.parse.urlencode({"extensions": json.dumps(PERSISTED)})

WRK_SCRIPT = """
local tokens = {%s}
local method, path, body = %s, %s, %s
local counter = 0
request = function()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  return wrk.format(method, path, headers, body)
end
"""


async def register_persisted(base_url: str, token: str) -> None:
    """Sends the query once with its hash, as an APQ client does after PERSISTED_QUERY_NOT_FOUND."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": QUERY, "extensions": PERSISTED},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert "errors" not in response.json(), response.text


@dataclass(frozen=True)
class Latency:
    rate: float
    sent: int
    errors: int
    p50_ms: float
    p99_ms: float


def max_throughput(
    base_url: str, tokens: list[str], seconds: float, connections: int = 16, *, persisted: bool = False
) -> float:
    """Requests per second that wrk sustains, closed loop, cycling through the viewers' tokens: the
    query's text by POST, or (persisted) its hash alone by GET, once registered (register_persisted)."""
    request = ("GET", PERSISTED_PATH, None) if persisted else ("POST", "/graphql", json.dumps({"query": QUERY}))
    quoted = ["nil" if part is None else json.dumps(part) for part in request]
    script = WRK_SCRIPT % (", ".join(json.dumps(token) for token in tokens), *quoted)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "-s", file.name, base_url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(file.name).unlink()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} failed responses:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


async def service_seconds(
    base_url: str,
    tokens: list[str],
    bodies: Sequence[Mapping[str, Any]],
    before: Callable[[int], Awaitable[None]] | None = None,
    requests: int = 30,
) -> float:
    """The median time of one request at a time (closed loop, after as many uncounted ones), cycling
    through tokens and bodies as latency_at does, `before(i)` included. With `requests` at least the
    number of tokens, every viewer has been served once before any is timed."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for index in range(2 * requests):
            started = time.perf_counter()
            if before is not None:
                await before(index)
            headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
            await client.post("/graphql", json=bodies[index % len(bodies)], headers=headers)
            if index >= requests:
                times.append(time.perf_counter() - started)
    return float(np.median(times))


def latency_of(rate: float, latencies_ms: Sequence[float], errors: int) -> Latency:
    """The figures of one run at a rate: how many were counted, how many failed, p50 and p99."""
    values = np.array(latencies_ms)
    return Latency(rate, len(values), errors, float(np.percentile(values, 50)), float(np.percentile(values, 99)))


VEGETA = os.environ.get("VEGETA", "vegeta")


def vegeta_targets(base_url: str, tokens: Sequence[str], bodies: Sequence[Mapping[str, Any]], count: int) -> str:
    """vegeta's JSON targets, one a line, request i by tokens[i % n] with bodies[i % m]."""
    return "".join(
        json.dumps(
            {
                "method": "POST",
                "url": f"{base_url}/graphql",
                "header": {
                    "Content-Type": ["application/json"],
                    "Authorization": [f"Bearer {tokens[index % len(tokens)]}"],
                },
                "body": base64.b64encode(json.dumps(bodies[index % len(bodies)]).encode()).decode(),
            }
        )
        + "\n"
        for index in range(count)
    )


def vegeta_latency(results: Iterable[Mapping[str, Any]], rate: float, warmup: int) -> Latency:
    """p50 and p99 of vegeta's results (`vegeta encode --to json`, one dict each), past the first
    `warmup` sent. A failure is a transport error, a status other than 200, or a GraphQL error in
    the answer; it is timed as long as it took."""
    latencies: list[float] = []
    errors = 0
    for result in results:
        if result["seq"] < warmup:
            continue
        answered = not result["error"] and result["code"] == 200
        errors += not answered or "errors" in json.loads(base64.b64decode(result["body"]))
        latencies.append(result["latency"] / 1e6)
    return latency_of(rate, latencies, errors)


async def latency_at(
    base_url: str,
    tokens: list[str],
    rate: float,
    seconds: float,
    warmup_seconds: float = 3.0,
    bodies: Sequence[Mapping[str, Any]] = ({"query": QUERY},),
) -> Latency:
    """p50 and p99 at a fixed arrival rate (open loop, vegeta), request i by tokens[i % n] with
    bodies[i % m] (the home timeline page by default). The first warmup_seconds of requests, while
    the client opens its connections, are sent at the same rate but not counted."""
    warmup = int(rate * warmup_seconds)
    targets = vegeta_targets(base_url, tokens, bodies, warmup + int(rate * seconds))
    attack = await asyncio.create_subprocess_exec(
        VEGETA,
        "attack",
        "-format=json",
        f"-rate={round(rate * 1000)}/1000s",  # its frequency is a whole number
        f"-duration={warmup_seconds + seconds:.3f}s",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    results, _ = await attack.communicate(targets.encode())
    encode = await asyncio.create_subprocess_exec(
        VEGETA, "encode", "--to", "json", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await encode.communicate(results)
    if attack.returncode or encode.returncode:
        raise RuntimeError(f"vegeta failed (attack {attack.returncode}, encode {encode.returncode})")
    return vegeta_latency(map(json.loads, output.splitlines()), rate, warmup)


async def latency_with_step_at(
    base_url: str,
    tokens: list[str],
    rate: float,
    seconds: float,
    bodies: Sequence[Mapping[str, Any]],
    before: Callable[[int], Awaitable[None]],
    warmup_seconds: float = 3.0,
) -> Latency:
    """latency_at's measure with `before(i)` run first (say, to drop a cache) and timed with the
    request, from its scheduled time: driven by httpx, which vegeta cannot run a step for."""
    latencies: list[float] = []
    errors = 0
    warmup = int(rate * warmup_seconds)
    count = int(rate * seconds)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        start = time.perf_counter()

        async def one(index: int) -> None:
            nonlocal errors
            scheduled = start + index / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            await before(index)
            headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
            try:
                response = await client.post("/graphql", json=bodies[index % len(bodies)], headers=headers)
                failed = response.status_code != 200 or "errors" in response.json()
            except httpx.TransportError:  # a server far behind times out: an error, timed as long as it took
                failed = True
            if index < warmup:
                return
            errors += failed
            latencies.append((time.perf_counter() - scheduled) * 1000)

        await asyncio.gather(*(one(index) for index in range(warmup + count)))
    return latency_of(rate, latencies, errors)
