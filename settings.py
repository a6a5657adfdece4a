"""Chirp's configuration: every setting comes from an environment variable, read here only."""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
BUDGET = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*")


@dataclass(frozen=True)
class Budget:
    """A rate limit: `limit` units per `period` seconds; written "300/3h" (s, m, h or d) in the environment."""

    limit: int
    period: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}s"


def parse_budget(value: object) -> object:
    if not isinstance(value, str):
        return value
    found = BUDGET.fullmatch(value)
    if found is None:
        raise ValueError(f"a budget is written like 300/3h or 5/30m, not {value!r}")
    count, period = int(found[1]), int(found[2] or 1) * PERIOD_UNITS[found[3]]
    if count < 1 or period < 1:
        raise ValueError(f"a budget needs a positive count and period, not {value!r}")
    return Budget(count, period)


def split_commas(value: object) -> object:
    return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value


BudgetSetting = Annotated[Budget, NoDecode, BeforeValidator(parse_budget)]
ListSetting = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_commas)]


class Settings(BaseSettings):
    """Defaults match scripts/env.sh, so a developer machine needs no configuration."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # "development" accepts the development secrets below; the README's two commands set it. Anything
    # else (a plain `uvicorn app:app`, a container) is production, which refuses to start with them.
    chirp_env: Literal["production", "development"] = "production"

    neo4j_host: str = "127.0.0.1"
    neo4j_port: int = 7687
    # neo4j:// asks the server for its routing table (any Neo4j, a cluster too); bolt:// talks to the
    # one server at this address, as a proxy in front of it needs.
    neo4j_scheme: Literal["neo4j", "bolt"] = "neo4j"
    neo4j_user: str = "neo4j"
    neo4j_password: str = "chirp-dev-password"
    # Transactions one process runs in Neo4j at once; the rest wait for a connection. More than the
    # server's cores only spin: 90 concurrent tweets on 2 cores spent seconds retrying the unique
    # index checks of their creates while the one that held the page waited for a core.
    neo4j_max_connections: int = Field(default=16, ge=1, le=1000)

    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_password: str = ""
    redis_db: int = 0

    minio_host: str = "127.0.0.1"
    minio_port: int = 9000
    minio_root_user: str = "chirp"
    minio_root_password: str = "chirp-dev-secret"
    minio_secure: bool = False
    media_bucket: str = "chirp-media"
    # Media URLs are cdn_base_url + the object's key. The default is the local caching edge
    # (nginx in front of MinIO, scripts/services/nginx.sh), which serves the bucket by its path.
    cdn_base_url: str = "http://127.0.0.1:8080/chirp-media/"
    # Limits on what uploadMedia accepts (bytes, and pixels for images).
    max_image_bytes: int = 5 * 1024 * 1024
    max_gif_bytes: int = 15 * 1024 * 1024
    max_video_bytes: int = 512 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    thumbnail_size: int = 480
    # How long a presigned upload URL stays valid, and how long an upload never completed stays.
    presigned_upload_seconds: int = 900
    incoming_expiry_days: int = 1

    # Signs the bearer tokens: at least 32 bytes of your own in production (this value is refused there).
    jwt_secret: str = "chirp-dev-jwt-secret-change-me-0123456789"
    jwt_ttl_seconds: int = 7 * 24 * 3600
    # How long a user's token revocations stay cached in Redis (Neo4j holds them for good).
    auth_cache_seconds: int = 300
    # argon2id cost (the library's defaults): about 0.2 s of one core per sign-up or log-in here.
    password_time_cost: int = 3
    password_memory_kib: int = 65_536
    # This process's Snowflake worker id (0..1023); distinct processes need distinct ids.
    # By default it comes from the process id.
    worker_id: int | None = None
    max_page_size: int = 100

    # Home timelines (feeds/). Authors with at least celebrity_threshold followers are pulled at
    # read time instead of pushed; a cached timeline keeps timeline_cap entries and expires after
    # timeline_idle_days without a read (its owner then counts as inactive and gets no pushes).
    redis_prefix: str = "chirp:"
    # "hybrid" (the cached timelines) or "pull" (reads from Neo4j only, no Redis cache on the way:
    # the engine before the hybrid one, and the baseline the benchmark compares it with).
    timeline_engine: Literal["hybrid", "pull"] = "hybrid"
    celebrity_threshold: int = 10_000
    timeline_cap: int = 800
    timeline_idle_days: int = 30
    # How long a fan-out event may stay unacknowledged before another worker claims it.
    fanout_claim_idle_ms: int = 30_000
    fanout_batch_size: int = 1000
    record_cache_ttl_seconds: int = 3600
    # What each viewer liked and retweeted among tweets of the last viewer_acts_days, cached for
    # viewer_acts_ttl_seconds; older tweets' flags are asked of Neo4j.
    viewer_acts_days: int = 7
    viewer_acts_ttl_seconds: int = 86_400

    # Who-to-follow (resolvers/suggestions.py): how many of the viewer's follows (the most interacted
    # with, then the newest) are expanded into friends of friends, whatever the viewer follows.
    suggestions_expand_follows: int = Field(default=100, ge=1, le=1000)

    # Trends (feeds/trends.py): with trends on, the worker counts hashtag uses and ranks the tags
    # every trends_rank_every_seconds (at most 30, as the contract promises); a tag trends with at
    # least trends_min_accounts distinct accounts in the window (Mastodon's threshold is 5).
    trends: bool = True
    trends_rank_every_seconds: float = Field(default=15.0, gt=0, le=30)
    trends_min_accounts: int = Field(default=5, ge=2)

    # Live updates (subscriptions): how many updates may wait for one subscriber before the
    # subscription is ended as fallen behind (feeds/live.py).
    live_queue_size: int = 256

    # Tests only: an API process kills itself (SIGKILL) right after a write commits, before it relays
    # the write's outbox entry: the crash the outbox is there for. Refused in production.
    test_kill_after_commit: bool = False

    # How long a request waits on Neo4j, Redis or MinIO before it answers SERVICE_UNAVAILABLE, and
    # /readyz before it calls a service down.
    service_timeout_seconds: float = 2.0
    # /metrics wants "Authorization: Bearer <metrics_token>"; without one it is served in development
    # only (and answers 404 in production).
    metrics_token: str = ""
    # GraphiQL at /graphql in a browser, and schema introspection: on for data explorers.
    graphiql: bool = True
    introspection: bool = True
    # Origins whose pages may call the API (CORS); "*" is any. Tokens travel in a header, never in a
    # cookie, so a page on another origin cannot act as a user who did not hand it their token.
    cors_origins: ListSetting = ("*",)
    # Addresses or networks (CIDR) of the proxies in front of the app: the client's IP is the last
    # X-Forwarded-For hop that none of them added. Without any, the socket's peer is the client.
    trusted_proxies: ListSetting = ()

    # Limits on one request, checked before any resolver runs (schema/limits.py). A request body over
    # max_body_bytes is refused (413) before it is read whole; query texts over max_query_length are
    # not parsed. Cost: each object 1, each connection's edges multiplied by its `first`.
    query_limits: bool = True
    max_body_bytes: int = 1_000_000
    max_query_length: int = 20_000
    max_query_tokens: int = 5_000
    max_query_depth: int = 20
    max_query_aliases: int = 30
    max_root_fields: int = 10
    max_query_fields: int = 500
    max_repeated_fields: int = 10
    max_query_cost: int = 10_000
    max_variable_values: int = 1_000

    # Rate limits, in Redis (feeds/budgets.py). Requests spend points (max(1, cost / 100), as GitHub
    # counts them) from the viewer's budget, or the client IP's when anonymous; actions spend their own.
    rate_limits: bool = True
    budget_viewer: BudgetSetting = Budget(1500, 300)
    budget_anonymous: BudgetSetting = Budget(300, 300)
    budget_tweets: BudgetSetting = Budget(300, 3 * 3600)
    budget_follows: BudgetSetting = Budget(400, 86_400)
    budget_likes: BudgetSetting = Budget(1000, 86_400)
    budget_uploads: BudgetSetting = Budget(30, 1800)
    budget_upload_tickets: BudgetSetting = Budget(30, 1800)
    budget_sign_ups: BudgetSetting = Budget(5, 1800)
    budget_failed_logins: BudgetSetting = Budget(10, 900)  # per handle and client IP
    budget_failed_logins_ip: BudgetSetting = Budget(25, 300)  # per client IP, whatever the handle
    max_open_upload_tickets: int = 5

    # Persisted queries: automatic (APQ) ones are kept in Redis, at most this many, each at most this
    # long. With a trusted-documents manifest (Apollo's or Relay's JSON), only its documents run.
    persisted_queries_max: int = 5_000
    persisted_query_max_length: int = 20_000
    trusted_documents: Path | None = None

    # GraphiQL's scripts and styles, served at /graphiql-assets; scripts/graphiql.sh fetches them into
    # the per-user cache (CHIRP_CACHE, as in scripts/env.sh).
    graphiql_assets_dir: Path = Field(default_factory=lambda: chirp_cache() / "graphiql-3.8.3")

    @property
    def neo4j_uri(self) -> str:
        return f"{self.neo4j_scheme}://{self.neo4j_host}:{self.neo4j_port}"

    @property
    def minio_endpoint(self) -> str:
        return f"{self.minio_host}:{self.minio_port}"

    @property
    def media_bucket_url(self) -> str:
        """The media bucket on MinIO's S3 API, where presigned upload forms are posted."""
        return f"{'https' if self.minio_secure else 'http'}://{self.minio_endpoint}/{self.media_bucket}"


def chirp_cache() -> Path:
    """CHIRP_CACHE, with scripts/env.sh's default: the per-user folder of downloads and builds."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get("CHIRP_CACHE") or Path(cache_home) / "chirp")
