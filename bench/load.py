"""Load on the HTTP API: maximum throughput (wrk, closed loop) and latency at a fixed rate (open loop).

The open-loop driver sends on a fixed schedule whatever the answers do, and measures each
latency from the request's scheduled time, so a slow server cannot hide its queueing.
"""

import asyncio
import hashlib
import json
import re
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
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


async def latency_at(
    base_url: str,
    tokens: list[str],
    rate: float,
    seconds: float,
    warmup_seconds: float = 3.0,
    bodies: Sequence[Mapping[str, Any]] = ({"query": QUERY},),
    before: Callable[[int], Awaitable[None]] | None = None,
) -> Latency:
    """p50 and p99 at a fixed arrival rate (open loop), request i by tokens[i % n] with bodies[i % m]
    (the home timeline page by default). The first warmup_seconds of requests, while the client
    opens its connections, are sent at the same rate but not counted. `before(i)`, when given, runs
    first (say, to drop a cache) and is timed with the request."""
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
            if before is not None:
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
            latencies.append(time.perf_counter() - scheduled)

        await asyncio.gather(*(one(index) for index in range(warmup + count)))
    values = np.array(latencies) * 1000
    return Latency(rate, count, errors, float(np.percentile(values, 50)), float(np.percentile(values, 99)))
