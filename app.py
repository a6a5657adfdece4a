"""The Starlette app: lifespan (clients up, migrations, shutdown), routes and the GraphQL endpoint."""

import asyncio
import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

import feeds.client
import graph.driver
import graphiql
import media.client
from deployment import refuse_insecure
from errors import ServiceUnavailable
from feeds.keys import Keys
from feeds.live import Relay
from graph.migrations import apply_migrations
from graph.snowflake import SnowflakeGenerator
from media.ingest import largest_limit
from resolvers.auth import Passwords
from resolvers.clients import Clients
from schema import schema
from schema.persisted import load_manifest
from settings import Settings
from web.guards import BodyLimit, MetricsGuard
from web.view import ChirpGraphQL

logger = logging.getLogger("chirp")


async def open_clients(settings: Settings) -> Clients:
    """Opens the three clients, migrates Neo4j and makes sure the media bucket is set up."""
    clients = Clients(
        settings=settings,
        neo4j=graph.driver.open_driver(settings),
        redis=feeds.client.open_redis(settings),
        minio=media.client.open_minio(settings),
        ids=SnowflakeGenerator(settings.worker_id if settings.worker_id is not None else os.getpid() % 1024),
        passwords=Passwords(settings.password_time_cost, settings.password_memory_kib),
        keys=Keys(settings.redis_prefix),
        relay=Relay(feeds.client.open_redis(settings), settings.live_queue_size),
        trusted_documents=None if settings.trusted_documents is None else load_manifest(settings.trusted_documents),
    )
    await apply_migrations(clients.neo4j)
    try:
        await media.client.ensure_bucket(clients.minio, settings.media_bucket, settings.incoming_expiry_days)
    except ServiceUnavailable:
        # Everything but uploads works without MinIO; scripts/services.sh sets the bucket up too.
        logger.warning("MinIO does not answer: uploads fail until it does", exc_info=True)
    return clients


async def close_clients(clients: Clients) -> None:
    await clients.relay.close()
    await clients.relay.redis.aclose()
    await clients.neo4j.close()
    await clients.redis.aclose()


def readiness_checks(clients: Clients) -> dict[str, Callable[[], Awaitable[None]]]:
    return {
        "neo4j": lambda: graph.driver.ping(clients.neo4j),
        "redis": lambda: feeds.client.ping(clients.redis),
        "minio": lambda: media.client.ping(clients.minio, clients.settings.media_bucket),
    }


async def is_up(name: str, probe: Awaitable[None]) -> bool:
    """One service's readiness; the reason it is down goes to the log, never to the caller."""
    try:
        await probe
    except Exception:
        logger.warning("readiness: %s is down", name, exc_info=True)
        return False
    return True


async def healthz(request: Request) -> PlainTextResponse:
    """The process lives; says nothing about the services behind it."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    """200 when Neo4j, Redis and MinIO all answer, else 503 naming those that do not."""
    clients: Clients = request.app.state.clients
    checks = readiness_checks(clients)
    timeout = clients.settings.service_timeout_seconds
    results = await asyncio.gather(*(is_up(name, asyncio.wait_for(probe(), timeout)) for name, probe in checks.items()))
    status = {name: "up" if up else "down" for name, up in zip(checks, results, strict=True)}
    down = [name for name, state in status.items() if state == "down"]
    body = {"status": "unavailable" if down else "ready", "services": status, "down": down}
    return JSONResponse(body, status_code=503 if down else 200)


def metrics_registry() -> CollectorRegistry:
    """This process's metrics, or, with PROMETHEUS_MULTIPROC_DIR set, those of every Chirp process."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    refuse_insecure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        clients = await open_clients(settings)
        await clients.relay.start(clients.keys.live_process(uuid.uuid4().hex))
        app.state.clients = clients
        # Everything loaded so far lives as long as the process: kept out of the collector's
        # full scans, which otherwise stall requests (a p99 cost) as the heap grows.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await close_clients(clients)

    # Multipart requests carry uploadMedia's files. They need no CSRF guard here: the API authenticates
    # by bearer token, never by cookie, so a cross-site form cannot act as anyone.
    graphql = ChirpGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=True,
        allowed_origins=settings.cors_origins,
    )
    metrics = MetricsGuard(
        make_asgi_app(metrics_registry()), settings.metrics_token, settings.chirp_env == "development"
    )
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount("/metrics", metrics),
        Mount(graphiql.MOUNT, StaticFiles(directory=settings.graphiql_assets_dir, check_dir=False)),
    ]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["RateLimit", "RateLimit-Policy", "Retry-After"],
            max_age=600,
        ),
        Middleware(
            BodyLimit,
            max_bytes=settings.max_body_bytes,
            max_multipart_bytes=largest_limit(settings) + settings.max_body_bytes,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


app = create_app()
