"""The Starlette app: lifespan (clients up, migrations, shutdown), routes and the GraphQL endpoint."""

import asyncio
import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

import feeds.client
import graph.driver
import graphiql
import media.client
from errors import ServiceUnavailable, Unauthenticated
from feeds.keys import Keys
from feeds.live import Relay
from graph.migrations import apply_migrations
from graph.snowflake import SnowflakeGenerator
from resolvers.auth import Passwords
from resolvers.clients import Clients
from resolvers.context import Context
from schema import schema
from settings import Settings

logger = logging.getLogger("chirp")


class ChirpGraphQL(GraphQL[Context, None]):
    """Builds each request's context from the process-wide clients and the caller's credentials."""

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        clients: Clients = request.app.state.clients
        return Context(clients=clients, authorization=request.headers.get("authorization"))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry's GraphiQL page, but loading its files from this app (graphiql.py), not unpkg.com."""
        clients: Clients = request.app.state.clients
        return graphiql.page(clients.settings.graphiql_assets_dir)

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """A WebSocket authenticates with its connection_init payload; a bad token is refused
        there, before any subscription starts: graphql-transport-ws closes with 4403, the legacy
        graphql-ws answers connection_error (UNAUTHENTICATED) and closes."""
        try:
            context.optional_viewer()
        except Unauthenticated as error:
            # The legacy graphql-ws protocol sends this payload in its connection_error message.
            refusal: dict[str, object] = {"message": str(error), "extensions": {"code": error.code}}
            raise ConnectionRejectionError(refusal) from error
        return UnsetType()  # acknowledged without a payload

    def encode_json(self, data: object) -> str:
        """orjson: a 20-tweet page serializes several times faster than with the json module.
        (A str, not bytes: WebSocket messages must go out as text frames.)"""
        return orjson.dumps(data).decode()


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
    timeout = clients.settings.readiness_timeout_seconds
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
    graphql = ChirpGraphQL(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount("/metrics", make_asgi_app(metrics_registry())),
        Mount(graphiql.MOUNT, StaticFiles(directory=settings.graphiql_assets_dir, check_dir=False)),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


app = create_app()
